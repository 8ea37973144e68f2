package processor_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/order-worker/internal/processor"
)

// submit sends msgs through a batcher from one goroutine each, all at once,
// and returns the outcomes, errors and the largest batch seen.
func submit(t *testing.T, f *fixture, transactions int, msgs []orderstream.Message) ([]processor.Outcome, []error, int) {
	t.Helper()
	var largest atomic.Int64
	b := processor.NewBatcher(f.p, 32, transactions, func(n int) {
		for cur := largest.Load(); int64(n) > cur && !largest.CompareAndSwap(cur, int64(n)); cur = largest.Load() {
		}
	})
	defer b.Close()
	outs, errs := make([]processor.Outcome, len(msgs)), make([]error, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Add(1)
		go func() { defer wg.Done(); outs[i], errs[i] = b.Process(context.Background(), m) }()
	}
	wg.Wait()
	return outs, errs, int(largest.Load())
}

// TestBatchDecidesLikeOneAfterAnother: 60 orders of 1 on a product with 25
// in stock, decided in shared transactions, confirm exactly 25; each order
// sees the stock the orders before it in its batch left.
func TestBatchDecidesLikeOneAfterAnother(t *testing.T) {
	f := setup(t)
	hot := f.product("HOT", 500, "EUR", 25, true)
	msgs := make([]orderstream.Message, 60)
	for i := range msgs {
		msgs[i] = f.msg(orderstream.Item{ProductID: hot, Quantity: 1})
	}
	outs, errs, largest := submit(t, f, 2, msgs)
	confirmed := 0
	for i, o := range outs {
		if errs[i] != nil {
			t.Fatalf("order %d: %v", i, errs[i])
		}
		switch {
		case o.Status == "confirmed" && o.TotalMinor == 500:
			confirmed++
		case o.Status == "failed" && o.Reason == orderstream.ReasonInsufficientStock:
		default:
			t.Fatalf("order %d: outcome %+v", i, o)
		}
	}
	if s, _ := f.stock(hot); confirmed != 25 || s != 0 {
		t.Fatalf("%d confirmed, stock %d; want 25 and 0", confirmed, s)
	}
	if largest < 2 {
		t.Fatalf("largest transaction decided %d order(s): 60 waiting orders were never batched", largest)
	}
	var events, orders int
	_ = f.db.QueryRow(context.Background(), "SELECT count(*) FROM catalog_outbox WHERE product_id = $1", hot).Scan(&events)
	_ = f.db.QueryRow(context.Background(), "SELECT count(*) FROM orders").Scan(&orders)
	if orders != 60 || events < 1 || events >= 25 {
		t.Fatalf("%d orders stored (want 60), %d catalogue events (want at least one, and fewer than the 25 confirmed orders: one per product per transaction)", orders, events)
	}
}

// TestBatchIsolatesAnOrderTheDatabaseRefuses: an order whose user does not
// exist violates a foreign key; the orders sharing its transaction are
// still decided, and only it gets ErrRejected.
func TestBatchIsolatesAnOrderTheDatabaseRefuses(t *testing.T) {
	f := setup(t)
	a := f.product("A", 100, "EUR", 1000, true)
	msgs := make([]orderstream.Message, 40)
	for i := range msgs {
		msgs[i] = f.msg(orderstream.Item{ProductID: a, Quantity: 1})
	}
	msgs[17].UserID = 987654
	outs, errs, _ := submit(t, f, 1, msgs)
	for i := range msgs {
		switch {
		case i == 17 && !errors.Is(errs[i], processor.ErrRejected):
			t.Fatalf("the ghost user's order: %+v %v, want ErrRejected", outs[i], errs[i])
		case i != 17 && (errs[i] != nil || outs[i].Status != "confirmed"):
			t.Fatalf("order %d: %+v %v", i, outs[i], errs[i])
		}
	}
	if s, _ := f.stock(a); s != 1000-39 {
		t.Fatalf("stock %d, want %d", s, 1000-39)
	}
}

// TestBatchWithTheSameOrderTwice: a redelivered entry arriving while the
// first delivery waits decides the order once.
func TestBatchWithTheSameOrderTwice(t *testing.T) {
	f := setup(t)
	a := f.product("A", 100, "EUR", 10, true)
	m := f.msg(orderstream.Item{ProductID: a, Quantity: 3})
	msgs := []orderstream.Message{m, f.msg(orderstream.Item{ProductID: a, Quantity: 1}), m, m}
	outs, errs, _ := submit(t, f, 1, msgs)
	firsts := 0
	for i, o := range outs {
		if errs[i] != nil || o.Status != "confirmed" {
			t.Fatalf("order %d: %+v %v", i, o, errs[i])
		}
		if !o.Duplicate && i != 1 {
			firsts++
		}
	}
	if s, _ := f.stock(a); firsts != 1 || s != 6 {
		t.Fatalf("%d first decisions of the repeated order, stock %d; want 1 and 6", firsts, s)
	}
}
