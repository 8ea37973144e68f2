package auth

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// CutOffsKey is the Redis sorted set through which api replicas tell each
// other that a user's sessions ended: members are "<user id>:<session
// version>", scored by when (unix ms), so that entries older than an access
// token's lifetime, which no live token can be older than, are pruned.
const CutOffsKey = "shop:auth:cutoffs"

// CutOffs is this replica's copy of the recent session cut-offs: the
// newest session version of every user whose sessions ended within an
// access token's lifetime. It is read from Redis every Refresh, so a cut-off
// made on any replica applies on all of them within about a second, and
// checking a token costs one atomic load and a map lookup (none while
// nobody's sessions were ended recently), never a database read.
type CutOffs struct {
	RDB     redis.UniversalClient
	Refresh time.Duration
	// Keep is how long a cut-off matters: the access token lifetime plus
	// the clock leeway.
	Keep time.Duration
	Log  *slog.Logger

	versions atomic.Pointer[map[int64]int64]
	failing  atomic.Bool
}

// NewCutOffs builds the watcher; Run keeps it current.
func NewCutOffs(rdb redis.UniversalClient, refresh, accessTTL time.Duration, log *slog.Logger) *CutOffs {
	return &CutOffs{RDB: rdb, Refresh: refresh, Keep: accessTTL + leeway, Log: log}
}

// Refused reports whether p's token was issued before its user's sessions
// were last ended.
func (c *CutOffs) Refused(p Principal) bool {
	m := c.versions.Load()
	if m == nil {
		return false
	}
	v, ok := (*m)[p.UserID]
	return ok && p.SessionVersion < v
}

// Publish tells every replica (this one at once) that the user's tokens
// older than version are no longer valid.
func (c *CutOffs) Publish(ctx context.Context, userID, version int64) error {
	member := strconv.FormatInt(userID, 10) + ":" + strconv.FormatInt(version, 10)
	if err := c.RDB.ZAdd(ctx, CutOffsKey, redis.Z{Score: float64(time.Now().UnixMilli()), Member: member}).Err(); err != nil {
		return fmt.Errorf("publish the session cut-off of user %d: %w", userID, err)
	}
	c.apply(map[int64]int64{userID: version})
	return nil
}

// apply adds cut-offs to the current copy (copy on write: readers never lock).
func (c *CutOffs) apply(add map[int64]int64) {
	for {
		old := c.versions.Load()
		next := make(map[int64]int64, len(add))
		if old != nil {
			for k, v := range *old {
				next[k] = v
			}
		}
		for k, v := range add {
			next[k] = max(next[k], v)
		}
		if c.versions.CompareAndSwap(old, &next) {
			return
		}
	}
}

// Run loads the cut-offs at once and then every Refresh until ctx ends.
// While Redis cannot be read the last copy stays in force.
func (c *CutOffs) Run(ctx context.Context) {
	t := time.NewTicker(c.Refresh)
	defer t.Stop()
	for {
		err := c.Load(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !c.failing.Swap(true):
			c.Log.Warn("cannot read the session cut-offs; keeping the last ones read", "err", err)
		case err == nil && c.failing.Swap(false):
			c.Log.Info("reading the session cut-offs again")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Load prunes cut-offs older than Keep and replaces the copy with the rest.
func (c *CutOffs) Load(ctx context.Context) error {
	oldest := time.Now().Add(-c.Keep).UnixMilli()
	pipe := c.RDB.TxPipeline()
	pipe.ZRemRangeByScore(ctx, CutOffsKey, "-inf", "("+strconv.FormatInt(oldest, 10))
	members := pipe.ZRange(ctx, CutOffsKey, 0, -1)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("read %s: %w", CutOffsKey, err)
	}
	next := make(map[int64]int64, len(members.Val()))
	for _, m := range members.Val() {
		id, v, ok := strings.Cut(m, ":")
		user, err1 := strconv.ParseInt(id, 10, 64)
		version, err2 := strconv.ParseInt(v, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			continue // not ours: ignore rather than refuse everyone
		}
		next[user] = max(next[user], version)
	}
	c.versions.Store(&next)
	return nil
}
