package auth

import (
	"context"
	"errors"
	"sync"
	"time"
)

// activeCache remembers, for a short time, that an account still exists, so
// that a deleted account's access tokens stop working within the cache TTL
// without a database query on every request.
type activeCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[int64]time.Time // user id -> when it was last seen alive
}

// SetActiveCheckTTL enables the deleted-account check with the given cache
// lifetime (0 disables it).
func (s *Service) SetActiveCheckTTL(ttl time.Duration) {
	s.active = &activeCache{ttl: ttl, m: map[int64]time.Time{}}
}

// Active reports whether the account behind a verified token still exists.
// When the database cannot answer, the token is trusted (it is validly
// signed and short-lived) rather than failing every request; the error is
// returned for logging.
func (s *Service) Active(ctx context.Context, userID int64) (bool, error) {
	c := s.active
	if c == nil || c.ttl <= 0 {
		return true, nil
	}
	c.mu.Lock()
	seen, ok := c.m[userID]
	c.mu.Unlock()
	if ok && time.Since(seen) < c.ttl {
		return true, nil
	}
	_, err := s.store.UserByID(ctx, userID)
	switch {
	case errors.Is(err, ErrUserNotFound):
		c.mu.Lock()
		delete(c.m, userID)
		c.mu.Unlock()
		return false, nil
	case err != nil:
		return true, err
	}
	c.mu.Lock()
	if len(c.m) > 100_000 { // bound memory: start over rather than track LRU order
		c.m = map[int64]time.Time{}
	}
	c.m[userID] = time.Now()
	c.mu.Unlock()
	return true, nil
}
