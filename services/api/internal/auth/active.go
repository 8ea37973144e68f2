package auth

import (
	"context"
	"errors"
	"sync"
	"time"
)

// activeCache remembers, for a short time, that an account still exists, is
// not disabled, and which session version it has, so that a deleted or
// disabled account's access tokens, and those of ended sessions, stop
// working within the cache TTL even when the Redis broadcast of a cut-off
// was missed, without a database query on every request.
type activeCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[int64]alive // user id -> when it was last seen alive, and its session version
}

type alive struct {
	at      time.Time
	version int64
}

// SetActiveCheckTTL enables the account check with the given cache
// lifetime (0 disables it).
func (s *Service) SetActiveCheckTTL(ttl time.Duration) {
	s.active = &activeCache{ttl: ttl, m: map[int64]alive{}}
}

// Active reports whether the account behind a verified token still exists,
// is not disabled, and has not ended the token's session. When the
// database cannot answer, the token is trusted (it is validly signed and
// short-lived) rather than failing every request; the error is returned
// for logging.
func (s *Service) Active(ctx context.Context, p Principal) (bool, error) {
	c := s.active
	if c == nil || c.ttl <= 0 {
		return true, nil
	}
	c.mu.Lock()
	seen, ok := c.m[p.UserID]
	c.mu.Unlock()
	if ok && time.Since(seen.at) < c.ttl && p.SessionVersion <= seen.version {
		return p.SessionVersion == seen.version, nil
	}
	u, err := s.store.UserByID(ctx, p.UserID)
	switch {
	case errors.Is(err, ErrUserNotFound):
		c.forget(p.UserID)
		return false, nil
	case err != nil:
		return true, err
	case u.DisabledAt != nil:
		c.forget(p.UserID)
		return false, nil
	}
	c.mu.Lock()
	if len(c.m) > 100_000 { // bound memory: start over rather than track LRU order
		c.m = map[int64]alive{}
	}
	c.m[p.UserID] = alive{at: time.Now(), version: u.SessionVersion}
	c.mu.Unlock()
	return p.SessionVersion >= u.SessionVersion, nil
}

func (c *activeCache) forget(id int64) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}
