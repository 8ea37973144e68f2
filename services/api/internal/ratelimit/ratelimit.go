// Package ratelimit counts attempts per key in fixed windows kept in Redis,
// so a limit holds across every api replica. A window's counter is created
// with its expiry atomically (one Lua script), so a crash can never leave a
// counter that never expires.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

var hit = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`)

// Limiter allows Limit hits per Window for each key.
type Limiter struct {
	rdb    redis.Scripter
	prefix string
	Limit  int
	Window time.Duration
}

// New makes a limiter whose keys are namespaced by name ("login:ip").
func New(rdb redis.Scripter, name string, limit int, window time.Duration) *Limiter {
	return &Limiter{rdb: rdb, prefix: "ratelimit:" + name + ":", Limit: limit, Window: window}
}

// Decision is the outcome of one hit.
type Decision struct {
	Allowed    bool
	Count      int
	RetryAfter time.Duration // until the window resets, when refused
}

// Hit counts one attempt for key.
func (l *Limiter) Hit(ctx context.Context, key string) (Decision, error) {
	res, err := hit.Run(ctx, l.rdb, []string{l.prefix + key}, l.Window.Milliseconds()).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("rate limiter %s: %w", l.prefix, err)
	}
	d := Decision{Count: int(res[0]), Allowed: int(res[0]) <= l.Limit}
	if !d.Allowed {
		d.RetryAfter = time.Duration(res[1]) * time.Millisecond
	}
	return d, nil
}
