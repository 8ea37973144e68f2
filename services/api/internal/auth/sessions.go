package auth

import (
	"context"
	"fmt"
)

// NotBroadcastError: the sessions ended in the database but the other api
// replicas could not be told through Redis; they notice within the account
// check's TTL instead. Retrying the action broadcasts again.
type NotBroadcastError struct{ Err error }

func (e *NotBroadcastError) Error() string {
	return fmt.Sprintf("sessions ended, but the api replicas were not told (%v): "+
		"their tokens stop working within the account check interval; retry to tell them at once", e.Err)
}

func (e *NotBroadcastError) Unwrap() error { return e.Err }

// SetCutOffs enables the session cut-off broadcast between replicas.
func (s *Service) SetCutOffs(c *CutOffs) { s.cutoffs = c }

// CutOff reports whether p's session was ended (logged out everywhere or
// its account disabled) after its token was issued.
func (s *Service) CutOff(p Principal) bool { return s.cutoffs != nil && s.cutoffs.Refused(p) }

// EndSessions logs the user out everywhere: every refresh token is revoked
// and every access token issued so far stops working on every replica.
func (s *Service) EndSessions(ctx context.Context, id int64) (User, error) {
	return s.endSessions(ctx, id, false)
}

// Disable disables the account: logins and refreshes are refused and its
// sessions end as with EndSessions.
func (s *Service) Disable(ctx context.Context, id int64) (User, error) {
	return s.endSessions(ctx, id, true)
}

func (s *Service) endSessions(ctx context.Context, id int64, disable bool) (User, error) {
	u, err := s.store.EndSessions(ctx, id, disable)
	if err != nil || s.cutoffs == nil {
		return u, err
	}
	if err := s.cutoffs.Publish(ctx, id, u.SessionVersion); err != nil {
		return u, &NotBroadcastError{Err: err}
	}
	return u, nil
}

// Enable lets a disabled account log in again.
func (s *Service) Enable(ctx context.Context, id int64) (User, error) { return s.store.Enable(ctx, id) }

// Users lists accounts whose email contains q.
func (s *Service) Users(ctx context.Context, q string, limit, offset int) ([]User, int, error) {
	return s.store.Users(ctx, q, limit, offset)
}
