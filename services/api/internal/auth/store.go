package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/platform/postgres"
)

// PGStore is the PostgreSQL Store.
type PGStore struct{ DB *pgxpool.Pool }

const userColumns = "id, email, role, password_hash, created_at, disabled_at, session_version"

func scanUser(row pgx.Row) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Email, &u.Role, &u.PasswordHash, &u.CreatedAt, &u.DisabledAt, &u.SessionVersion)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, ErrUserNotFound
	}
	return u, err
}

// CreateUser inserts an account; a taken email (case-insensitive) is ErrEmailTaken.
func (s PGStore) CreateUser(ctx context.Context, email, hash, role string) (User, error) {
	u, err := scanUser(s.DB.QueryRow(ctx, `INSERT INTO users (email, password_hash, role) VALUES ($1, $2, $3)
		RETURNING `+userColumns, email, hash, role))
	if postgres.IsUniqueViolation(err, "users_email_key") {
		return User{}, ErrEmailTaken
	}
	if err != nil {
		return User{}, fmt.Errorf("insert user: %w", err)
	}
	return u, nil
}

// UserByEmail finds a live account by email, case-insensitively.
func (s PGStore) UserByEmail(ctx context.Context, email string) (User, error) {
	return scanUser(s.DB.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE lower(email) = lower($1) AND deleted_at IS NULL`, email))
}

// UserByID finds a live account.
func (s PGStore) UserByID(ctx context.Context, id int64) (User, error) {
	return scanUser(s.DB.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 AND deleted_at IS NULL`, id))
}

// InsertRefresh stores a new refresh token hash.
func (s PGStore) InsertRefresh(ctx context.Context, hash []byte, family uuid.UUID, userID int64, expires time.Time) error {
	_, err := s.DB.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at) VALUES ($1, $2, $3, $4)`,
		hash, family, userID, expires)
	if err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return nil
}

// RotateRefresh implements Store.RotateRefresh. A refused rotation of a
// used or revoked token revokes the family in the same transaction.
func (s PGStore) RotateRefresh(ctx context.Context, hash []byte, decide func(RefreshRecord) ([]byte, error), expires time.Time) (RefreshRecord, error) {
	var rec RefreshRecord
	tx, err := s.DB.Begin(ctx)
	if err != nil {
		return rec, fmt.Errorf("begin refresh rotation: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	err = func() error {
		var usedAt *time.Time
		err := tx.QueryRow(ctx, `SELECT t.family_id, t.user_id, u.role, t.expires_at, t.used_at, t.revoked_at IS NOT NULL, u.session_version
			FROM refresh_tokens t JOIN users u ON u.id = t.user_id AND u.deleted_at IS NULL AND u.disabled_at IS NULL
			WHERE t.token_hash = $1 FOR UPDATE OF t`, hash).
			Scan(&rec.FamilyID, &rec.UserID, &rec.Role, &rec.ExpiresAt, &usedAt, &rec.Revoked, &rec.SessionVersion)
		if usedAt != nil {
			rec.Used, rec.UsedAt = true, *usedAt
		}
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrBadRefreshToken
		}
		if err != nil {
			return err
		}
		newHash, derr := decide(rec)
		if derr != nil {
			if rec.Used || rec.Revoked {
				if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`, rec.FamilyID); err != nil {
					return err
				}
				return errCommitThen{derr}
			}
			return derr
		}
		// The first rotation's time stays: the reuse grace does not slide.
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = coalesce(used_at, now()) WHERE token_hash = $1`, hash); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at) VALUES ($1, $2, $3, $4)`,
			newHash, rec.FamilyID, rec.UserID, expires)
		return err
	}()
	var ct errCommitThen
	switch {
	case errors.As(err, &ct):
		if cerr := tx.Commit(ctx); cerr != nil {
			return rec, fmt.Errorf("commit refresh family revocation: %w", cerr)
		}
		return rec, ct.err
	case err != nil:
		return rec, err
	}
	return rec, tx.Commit(ctx)
}

// errCommitThen is returned from inside the transaction function when the
// family revocation must be committed but the caller still gets an error.
type errCommitThen struct{ err error }

func (e errCommitThen) Error() string { return e.err.Error() }

// RevokeFamilyOf revokes every token of the family of hash.
func (s PGStore) RevokeFamilyOf(ctx context.Context, hash []byte) error {
	_, err := s.DB.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now()
		WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1) AND revoked_at IS NULL`, hash)
	if err != nil {
		return fmt.Errorf("revoke refresh tokens: %w", err)
	}
	return nil
}
