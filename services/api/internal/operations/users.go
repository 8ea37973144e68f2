package operations

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/goshop-platform/shop/services/api/internal/auth"
)

// Accounts is what the console does to user accounts (auth.Service).
type Accounts interface {
	Users(ctx context.Context, q string, limit, offset int) ([]auth.User, int, error)
	EndSessions(ctx context.Context, id int64) (auth.User, error)
	Disable(ctx context.Context, id int64) (auth.User, error)
	Enable(ctx context.Context, id int64) (auth.User, error)
}

// ErrSelf: an admin cannot disable their own account or end their own
// sessions from the console (they would lock themselves out mid-incident).
var ErrSelf = errors.New("an admin cannot do this to their own account")

// User is an account as the console shows it.
type User struct {
	ID             int64      `json:"id"`
	Email          string     `json:"email"`
	Role           string     `json:"role"`
	CreatedAt      time.Time  `json:"created_at"`
	DisabledAt     *time.Time `json:"disabled_at"`
	SessionVersion int64      `json:"session_version"`
}

func userOf(u auth.User) User {
	return User{ID: u.ID, Email: u.Email, Role: u.Role, CreatedAt: u.CreatedAt, DisabledAt: u.DisabledAt, SessionVersion: u.SessionVersion}
}

// Users lists accounts whose email contains q, newest first.
func (s *Service) Users(ctx context.Context, q string, limit, offset int) ([]User, int, error) {
	users, total, err := s.Accounts.Users(ctx, q, limit, offset)
	out := make([]User, 0, len(users))
	for _, u := range users {
		out = append(out, userOf(u))
	}
	return out, total, err
}

// UserAction is one of the console's actions on an account.
type UserAction string

// The actions on an account.
const (
	EndSessions UserAction = "end_sessions"
	DisableUser UserAction = "disable_user"
	EnableUser  UserAction = "enable_user"
)

// ActOnUser ends the user's sessions, disables or enables the account,
// audited. An unknown (or deleted) account is ErrNotFound.
func (s *Service) ActOnUser(ctx context.Context, who Actor, action UserAction, id int64, reason string) (User, error) {
	if id == who.UserID && action != EnableUser {
		return User{}, ErrSelf
	}
	var u auth.User
	_, err := s.audited(ctx, who, string(action), "user:"+strconv.FormatInt(id, 10), reason, nil, func() (map[string]any, error) {
		var err error
		switch action {
		case EndSessions:
			u, err = s.Accounts.EndSessions(ctx, id)
		case DisableUser:
			u, err = s.Accounts.Disable(ctx, id)
		default:
			u, err = s.Accounts.Enable(ctx, id)
		}
		if errors.Is(err, auth.ErrUserNotFound) {
			err = ErrNotFound
		}
		return map[string]any{"email": u.Email, "session_version": u.SessionVersion}, err
	})
	return userOf(u), err
}
