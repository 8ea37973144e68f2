package livestatus_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/api/internal/livestatus"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func client(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opts.DialTimeout, opts.ReadTimeout = 300*time.Millisecond, 500*time.Millisecond
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// start runs a hub until the test ends and returns it with a stop function.
func start(t *testing.T, rdb *redis.Client, change func(*livestatus.Hub)) (*livestatus.Hub, func()) {
	t.Helper()
	h := livestatus.New(rdb, slog.New(slog.DiscardHandler))
	h.PingEvery = 200 * time.Millisecond
	if change != nil {
		change(h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return h, stop
}

func listen(t *testing.T, h *livestatus.Hub, id uuid.UUID) *livestatus.Listener {
	t.Helper()
	l, err := h.Listen(context.Background(), id)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(l.Close)
	return l
}

func publish(t *testing.T, rdb *redis.Client, payload string) {
	t.Helper()
	if err := rdb.Publish(context.Background(), orderstream.StatusChannel, payload).Err(); err != nil {
		t.Fatal(err)
	}
}

func event(id uuid.UUID) string {
	return orderstream.EncodeStatus(orderstream.StatusEvent{OrderID: id, UserID: 1, Status: orderstream.StatusConfirmed, DecidedAt: time.Now()})
}

// pending takes a wake-up if one is waiting.
func pending(l *livestatus.Listener) bool {
	select {
	case <-l.Wake():
		return true
	default:
		return false
	}
}

func woken(l *livestatus.Listener, within time.Duration) bool {
	select {
	case <-l.Wake():
		return true
	case <-time.After(within):
		return false
	}
}

// Events wake the listeners of their order only, also after the hub has
// pinged an idle connection a few times; wake-ups coalesce.
func TestEventsWakeListenersOfTheirOrder(t *testing.T) {
	rdb := client(t, testenv.Redis(t))
	h, _ := start(t, rdb, nil)
	a, b := uuid.New(), uuid.New()
	la1, la2, lb := listen(t, h, a), listen(t, h, a), listen(t, h, b)

	time.Sleep(3 * h.PingEvery) // idle long enough for pings: the subscription must stay healthy
	publish(t, rdb, event(a))
	if !woken(la1, 5*time.Second) || !woken(la2, 5*time.Second) {
		t.Fatal("listeners of the order were not woken")
	}
	// Three events, one pending wake-up; the other order's listener
	// hears nothing (checked after b's own event arrived, so in order).
	for range 3 {
		publish(t, rdb, event(a))
	}
	publish(t, rdb, event(b))
	if !woken(lb, 5*time.Second) {
		t.Fatal("listener of b not woken by b's event")
	}
	if !woken(la1, time.Second) || pending(la1) {
		t.Fatal("three events must leave exactly one pending wake-up")
	}
	pending(la2)
	// Garbage is dropped; a newer schema with a readable order id still wakes.
	publish(t, rdb, "not json")
	publish(t, rdb, `{"schema_version":99,"order_id":"`+b.String()+`"}`)
	if !woken(lb, 5*time.Second) {
		t.Fatal("an event of an unknown schema version with a readable order id did not wake")
	}
	// A closed listener is forgotten. (Drain what reached it before Close:
	// under load the hub may resubscribe and wake every listener, by design.)
	la2.Close()
	pending(la2)
	publish(t, rdb, event(a))
	if !woken(la1, 5*time.Second) || pending(la2) {
		t.Fatal("closed listener still woken, or open one not")
	}
}

// When the subscription connection is killed the hub resubscribes and
// wakes every listener, since events may have been lost meanwhile.
func TestResubscribeWakesEveryListener(t *testing.T) {
	rdb := client(t, testenv.Redis(t))
	h, _ := start(t, rdb, nil)
	l := listen(t, h, uuid.New())
	if err := rdb.Do(context.Background(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	if !woken(l, 10*time.Second) {
		t.Fatal("listener not woken after the subscription was re-established")
	}
}

// Redis unreachable: Listen answers ErrUnavailable within StartWait, never
// hangs. Stopping ends every listener, and later ones are born done.
func TestUnavailableAndStop(t *testing.T) {
	srv := testenv.NewRedisServer(t)
	rdb := client(t, srv.URL())
	srv.Stop(t)
	h, stop := start(t, rdb, func(h *livestatus.Hub) { h.StartWait = 2 * time.Second })
	begin := time.Now()
	if _, err := h.Listen(context.Background(), uuid.New()); !errors.Is(err, livestatus.ErrUnavailable) {
		t.Fatalf("Listen with Redis down: %v, want ErrUnavailable", err)
	}
	if took := time.Since(begin); took > 3*time.Second {
		t.Fatalf("Listen took %s with Redis down", took)
	}

	srv.Start(t)
	var l *livestatus.Listener
	deadline := time.Now().Add(10 * time.Second)
	for l == nil {
		var err error
		if l, err = h.Listen(context.Background(), uuid.New()); err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("hub did not recover after Redis came back: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	defer l.Close()

	stop()
	select {
	case <-l.Done():
	default:
		t.Fatal("listener not done after the hub stopped")
	}
	late, err := h.Listen(context.Background(), uuid.New())
	if err != nil {
		t.Fatalf("Listen after stop: %v, want a done listener", err)
	}
	select {
	case <-late.Done():
	default:
		t.Fatal("listener made after the hub stopped is not done")
	}
}
