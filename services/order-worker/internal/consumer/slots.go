package consumer

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// slots bounds how many orders are in flight; the bound can change while
// running (hot-reloaded concurrency).
type slots struct {
	mu    sync.Mutex
	cond  *sync.Cond
	limit int
	used  int
}

func newSlots(n int) *slots {
	s := &slots{limit: n}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// acquire waits for a free slot; false when ctx ended first.
func (s *slots) acquire(ctx context.Context) bool { return s.acquireBatch(ctx, 1, 1) == 1 }

// acquireBatch waits until at least want slots are free (or none is in
// use), then takes up to upTo of those free; 0 when ctx ended first.
func (s *slots) acquireBatch(ctx context.Context, want, upTo int) int {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.limit-s.used < min(want, s.limit) || s.limit-s.used < 1 {
		if ctx.Err() != nil {
			return 0
		}
		s.cond.Wait()
	}
	if ctx.Err() != nil {
		return 0
	}
	n := min(upTo, s.limit-s.used)
	s.used += n
	return n
}

// releaseN gives back n slots taken and not used.
func (s *slots) releaseN(n int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	s.used -= n
	s.cond.Broadcast()
	s.mu.Unlock()
}

func (s *slots) release() {
	s.mu.Lock()
	s.used--
	s.cond.Broadcast()
	s.mu.Unlock()
}

// size is the current bound.
func (s *slots) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limit
}

func (s *slots) resize(n int) {
	s.mu.Lock()
	s.limit = n
	s.cond.Broadcast()
	s.mu.Unlock()
}

// jitter spreads retries of many workers: a random duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}
