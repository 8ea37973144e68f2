package auth

import (
	"context"
	"fmt"
)

// EndSessions implements Store.EndSessions.
func (s PGStore) EndSessions(ctx context.Context, id int64, disable bool) (User, error) {
	tx, err := s.DB.Begin(ctx)
	if err != nil {
		return User{}, fmt.Errorf("begin ending the sessions of user %d: %w", id, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	u, err := scanUser(tx.QueryRow(ctx, `UPDATE users SET session_version = session_version + 1,
			disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) ELSE disabled_at END
		WHERE id = $1 AND deleted_at IS NULL RETURNING `+userColumns, id, disable))
	if err != nil {
		return User{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, id); err != nil {
		return User{}, fmt.Errorf("revoke the refresh tokens of user %d: %w", id, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return User{}, fmt.Errorf("commit ending the sessions of user %d: %w", id, err)
	}
	return u, nil
}

// Enable implements Store.Enable.
func (s PGStore) Enable(ctx context.Context, id int64) (User, error) {
	return scanUser(s.DB.QueryRow(ctx, `UPDATE users SET disabled_at = NULL
		WHERE id = $1 AND deleted_at IS NULL RETURNING `+userColumns, id))
}

// Users implements Store.Users.
func (s PGStore) Users(ctx context.Context, q string, limit, offset int) ([]User, int, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+userColumns+`, count(*) OVER () FROM users
		WHERE deleted_at IS NULL AND strpos(lower(email), lower($1)) > 0
		ORDER BY id DESC LIMIT $2 OFFSET $3`, q, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	users, total := []User{}, 0
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.ID, &u.Email, &u.Role, &u.PasswordHash, &u.CreatedAt, &u.DisabledAt, &u.SessionVersion, &total); err != nil {
			return nil, 0, fmt.Errorf("list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	if len(users) > 0 || offset == 0 {
		return users, total, nil
	}
	_, total, err = s.Users(ctx, q, 1, 0) // past the end: the count comes with the rows
	return users, total, err
}
