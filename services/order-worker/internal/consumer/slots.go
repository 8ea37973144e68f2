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
func (s *slots) acquire(ctx context.Context) bool {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.used >= s.limit {
		if ctx.Err() != nil {
			return false
		}
		s.cond.Wait()
	}
	if ctx.Err() != nil {
		return false
	}
	s.used++
	return true
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
