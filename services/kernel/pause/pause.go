// Package pause holds the operator's pause switches shared by api and
// order-worker: "intake" (api answers new orders with 503 + Retry-After)
// and "consumption" (order-worker stops reading new_orders, finishing what
// it holds). A switch is one Redis key, written by the admin operations
// API and watched by every replica, so a pause reaches all of them within
// one refresh interval without a restart or a database read per request.
package pause

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// The switches.
const (
	Intake      = "intake"
	Consumption = "consumption"
)

// Key is the Redis key of a switch.
func Key(name string) string { return "shop:control:" + name }

// State is a switch's value; the zero State is "running".
type State struct {
	Paused bool      `json:"paused"`
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	// RetryAfterSeconds is what a paused intake tells clients.
	RetryAfterSeconds int `json:"retry_after_seconds,omitempty"`
}

// Read returns a switch's state (running when the key is absent).
func Read(ctx context.Context, rdb redis.UniversalClient, name string) (State, error) {
	var s State
	raw, err := rdb.Get(ctx, Key(name)).Bytes()
	if errors.Is(err, redis.Nil) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read pause switch %s: %w", name, err)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("pause switch %s holds %q: %w", Key(name), raw, err)
	}
	return s, nil
}

// Write sets a switch: a pause is stored, a resume deletes the key.
func Write(ctx context.Context, rdb redis.UniversalClient, name string, s State) error {
	var err error
	if s.Paused {
		raw, _ := json.Marshal(s) // plain fields cannot fail
		err = rdb.Set(ctx, Key(name), raw, 0).Err()
	} else {
		err = rdb.Del(ctx, Key(name)).Err()
	}
	if err != nil {
		return fmt.Errorf("write pause switch %s: %w", name, err)
	}
	return nil
}

// Watcher follows one switch by reading it every Refresh. While Redis
// cannot be read it keeps the last state it saw.
type Watcher struct {
	RDB     redis.UniversalClient
	Name    string
	Refresh time.Duration
	Log     *slog.Logger
	// OnChange, when set, is called with every new state (metrics).
	OnChange func(State)

	mu    sync.Mutex
	state atomic.Pointer[State] // read on every request: no lock
	open  chan struct{}         // closed while running
}

// NewWatcher builds a watcher that starts as "running".
func NewWatcher(rdb redis.UniversalClient, name string, refresh time.Duration, log *slog.Logger) *Watcher {
	open := make(chan struct{})
	close(open)
	w := &Watcher{RDB: rdb, Name: name, Refresh: refresh, Log: log, open: open}
	w.state.Store(&State{})
	return w
}

// Run reads the switch at once and then every Refresh until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(w.Refresh)
	defer t.Stop()
	for {
		s, err := Read(ctx, w.RDB, w.Name)
		if err == nil {
			w.set(s)
		} else if ctx.Err() == nil {
			w.Log.Warn("cannot read pause switch; keeping the last state", "switch", w.Name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Load reads the switch once (at start, before serving).
func (w *Watcher) Load(ctx context.Context) error {
	s, err := Read(ctx, w.RDB, w.Name)
	if err == nil {
		w.set(s)
	}
	return err
}

func (w *Watcher) set(s State) {
	w.mu.Lock()
	defer w.mu.Unlock()
	was := w.state.Load().Paused
	switch {
	case s.Paused && !was:
		w.open = make(chan struct{})
		w.Log.Warn("paused by an operator", "switch", w.Name, "reason", s.Reason, "by", s.By)
	case !s.Paused && was:
		close(w.open)
		w.Log.Info("resumed by an operator", "switch", w.Name)
	}
	w.state.Store(&s)
	if w.OnChange != nil && s.Paused != was {
		w.OnChange(s)
	}
}

// State is the switch as last read.
func (w *Watcher) State() State { return *w.state.Load() }

// Open returns a channel that is closed while the switch is not paused:
// a reader waits on it before taking more work.
func (w *Watcher) Open() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.open
}
