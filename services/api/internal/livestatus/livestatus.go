// Package livestatus tells an api process's live order-status streams when
// an order's status may have changed. One Hub per process holds the single
// Redis subscription to the channel order-worker publishes decisions on
// (orderstream.StatusChannel) and wakes the listeners registered for the
// order an event names. Pub/sub delivers at most once and only while
// subscribed, so after every (re)subscription the hub wakes all listeners:
// an event is only a hint, and a woken listener re-reads the order from
// where it is stored, which is also why a slow listener can never hold up
// the others (wake-ups coalesce instead of queueing).
package livestatus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

// ErrUnavailable means the hub is not subscribed (Redis is unreachable), so
// a stream could not be told about changes.
var ErrUnavailable = errors.New("live order status unavailable: not subscribed to Redis")

type state int

const (
	starting state = iota // Run has not subscribed yet
	up                    // subscribed: events are delivered
	down                  // the subscription failed; resubscribing
	stopped               // Run has returned
)

// Hub fans order status events out to listeners by order id.
type Hub struct {
	rdb redis.UniversalClient
	log *slog.Logger

	// PingEvery is how long the subscription may stay silent before the hub
	// pings Redis; a ping unanswered for as long again means the
	// connection is dead and the hub resubscribes.
	PingEvery time.Duration
	// MaxBackoff caps the wait between resubscription attempts.
	MaxBackoff time.Duration
	// StartWait bounds how long Listen waits for the first subscription
	// after start before reporting ErrUnavailable.
	StartWait time.Duration

	mu        sync.Mutex
	state     state
	changed   chan struct{} // closed and replaced on every state change
	listeners map[uuid.UUID]map[*Listener]struct{}
	ps        *redis.PubSub // the current subscription; Run's stop closes it
}

// New returns a hub over rdb; Run makes it subscribe.
func New(rdb redis.UniversalClient, log *slog.Logger) *Hub {
	return &Hub{
		rdb: rdb, log: log,
		PingEvery: 15 * time.Second, MaxBackoff: 2 * time.Second, StartWait: 3 * time.Second,
		changed:   make(chan struct{}),
		listeners: map[uuid.UUID]map[*Listener]struct{}{},
	}
}

// Run keeps the subscription until ctx ends, resubscribing whenever it
// breaks. When it returns every listener is done and later ones are born
// done.
func (h *Hub) Run(ctx context.Context) {
	// A blocked Receive does not watch ctx; closing the subscription does
	// unblock it.
	stopWatch := context.AfterFunc(ctx, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.ps != nil {
			_ = h.ps.Close()
		}
	})
	defer stopWatch()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		wasUp, err := h.session(ctx)
		if ctx.Err() != nil {
			break
		}
		if wasUp {
			backoff = 100 * time.Millisecond
		}
		level := slog.LevelDebug // still down: said so already
		if h.setState(down) != down {
			level = slog.LevelWarn
		}
		h.log.Log(ctx, level, "order status subscription down; resubscribing",
			"err", err, "channel", orderstream.StatusChannel, "retry_in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, h.MaxBackoff)
	}
	h.stop()
}

// session subscribes and dispatches until the subscription fails. wasUp
// reports whether Redis confirmed the subscription at all.
func (h *Hub) session(ctx context.Context) (wasUp bool, err error) {
	ps := h.rdb.Subscribe(ctx, orderstream.StatusChannel) // errors surface in Receive
	h.mu.Lock()
	if ctx.Err() != nil {
		h.mu.Unlock()
		_ = ps.Close()
		return false, ctx.Err()
	}
	h.ps = ps
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.ps = nil
		h.mu.Unlock()
		_ = ps.Close()
	}()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, h.PingEvery)
		if err != nil {
			var ne net.Error
			if ctx.Err() == nil && !pinged && errors.As(err, &ne) && ne.Timeout() {
				if err := ps.Ping(ctx); err != nil {
					return wasUp, fmt.Errorf("ping: %w", err)
				}
				pinged = true
				continue
			}
			return wasUp, err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			// Also seen when go-redis reconnected by itself: events may
			// have been missed either way.
			if m.Kind == "subscribe" {
				wasUp = true
				if h.setState(up) != up {
					h.log.InfoContext(ctx, "order status subscription up", "channel", orderstream.StatusChannel)
				}
				h.wakeAll()
			}
		case *redis.Message:
			h.dispatch(ctx, m.Payload)
		}
	}
}

// dispatch wakes the listeners of the order an event names. An event this
// build cannot fully decode still wakes them when its order id is readable:
// they re-read the order anyway.
func (h *Hub) dispatch(ctx context.Context, payload string) {
	e, err := orderstream.DecodeStatus(payload)
	id := e.OrderID
	if err != nil {
		var probe struct {
			OrderID uuid.UUID `json:"order_id"`
		}
		_ = json.Unmarshal([]byte(payload), &probe)
		id = probe.OrderID
		h.log.WarnContext(ctx, "undecodable order status event", "err", err, "order_id", id.String())
	}
	if id == uuid.Nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for l := range h.listeners[id] {
		l.notify()
	}
}

func (h *Hub) wakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ls := range h.listeners {
		for l := range ls {
			l.notify()
		}
	}
}

// setState records s and returns the state before.
func (h *Hub) setState(s state) state {
	h.mu.Lock()
	defer h.mu.Unlock()
	prev := h.state
	if prev != s {
		h.state = s
		close(h.changed)
		h.changed = make(chan struct{})
	}
	return prev
}

func (h *Hub) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ls := range h.listeners {
		for l := range ls {
			close(l.done)
		}
	}
	h.listeners = map[uuid.UUID]map[*Listener]struct{}{}
	h.state = stopped
	close(h.changed)
	h.changed = make(chan struct{})
}

// Listen registers interest in order id. Register before reading the
// order, so that no change after the read goes unnoticed. While Redis is
// unreachable it returns ErrUnavailable at once (during the first
// subscription after start it waits up to StartWait). After the hub
// stopped the listener is done from the start.
func (h *Hub) Listen(ctx context.Context, id uuid.UUID) (*Listener, error) {
	wait := time.NewTimer(h.StartWait)
	defer wait.Stop()
	for {
		h.mu.Lock()
		switch h.state {
		case up:
			l := newListener(h, id)
			if h.listeners[id] == nil {
				h.listeners[id] = map[*Listener]struct{}{}
			}
			h.listeners[id][l] = struct{}{}
			h.mu.Unlock()
			return l, nil
		case stopped:
			h.mu.Unlock()
			l := newListener(h, id)
			close(l.done)
			return l, nil
		case down:
			h.mu.Unlock()
			return nil, ErrUnavailable
		}
		changed := h.changed
		h.mu.Unlock()
		select {
		case <-changed:
		case <-wait.C:
			return nil, ErrUnavailable
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
	}
}

// Listener is one stream's interest in one order.
type Listener struct {
	hub  *Hub
	id   uuid.UUID
	wake chan struct{}
	done chan struct{}
}

func newListener(h *Hub, id uuid.UUID) *Listener {
	return &Listener{hub: h, id: id, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// notify coalesces: one pending wake-up is as good as many. Callers hold
// the hub's lock.
func (l *Listener) notify() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Wake receives when the order's status may have changed: re-read it.
func (l *Listener) Wake() <-chan struct{} { return l.wake }

// Done is closed when the hub stops (the process is shutting down).
func (l *Listener) Done() <-chan struct{} { return l.done }

// Close unregisters the listener.
func (l *Listener) Close() {
	h := l.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if ls := h.listeners[l.id]; ls != nil {
		delete(ls, l)
		if len(ls) == 0 {
			delete(h.listeners, l.id)
		}
	}
}
