package processor_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/order-worker/internal/processor"
)

// With a Waker the order transaction sends no NOTIFY of its own (so it
// does not take PostgreSQL's commit-order lock for notifications): the
// wake-up comes from the Waker after the commit, and only then. Without
// one, the outbox trigger notifies as for every other writer.
func TestCatalogWakeUpAfterCommit(t *testing.T) {
	f := setup(t)
	a := f.product("A", 100, "EUR", 10, true)
	listen := f.listener()

	f.p.Waker = processor.NewWaker(f.db, slog.Default())
	if out, err := f.p.Process(context.Background(), f.msg(orderstream.Item{ProductID: a, Quantity: 1})); err != nil || out.Status != "confirmed" {
		t.Fatalf("%+v %v", out, err)
	}
	if n := listen(300 * time.Millisecond); n != 0 {
		t.Fatalf("%d notification(s) before the Waker ran: the transaction still notifies itself", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.p.Waker.Run(ctx)
	if n := listen(5 * time.Second); n != 1 {
		t.Fatalf("%d notification(s) from the Waker, want 1", n)
	}

	f.p.Waker = nil
	if _, err := f.p.Process(context.Background(), f.msg(orderstream.Item{ProductID: a, Quantity: 1})); err != nil {
		t.Fatal(err)
	}
	if n := listen(5 * time.Second); n != 1 {
		t.Fatalf("%d notification(s) from the outbox trigger, want 1", n)
	}
}

// listener LISTENs on catalog_outbox and returns a function that counts
// the notifications arriving within a wait (returning at the first one
// after a quiet 100 ms once any arrived).
func (f *fixture) listener() func(time.Duration) int {
	f.t.Helper()
	ctx := context.Background()
	conn, err := f.db.Acquire(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { conn.Hijack().Close(ctx) })
	if _, err := conn.Exec(ctx, "LISTEN catalog_outbox"); err != nil {
		f.t.Fatal(err)
	}
	return func(wait time.Duration) int {
		n := 0
		deadline := time.Now().Add(wait)
		for time.Now().Before(deadline) {
			window := time.Until(deadline)
			if n > 0 {
				window = 100 * time.Millisecond
			}
			wctx, cancel := context.WithTimeout(ctx, window)
			_, err := conn.Conn().WaitForNotification(wctx)
			cancel()
			if err != nil {
				if n > 0 {
					return n
				}
				continue
			}
			n++
		}
		return n
	}
}
