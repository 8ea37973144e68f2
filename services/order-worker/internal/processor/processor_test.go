package processor_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/kernel/catalogevent"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/order-worker/internal/processor"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	t    *testing.T
	db   *pgxpool.Pool
	p    *processor.Processor
	user int64
}

func setup(t *testing.T) *fixture {
	t.Helper()
	db, err := pgxpool.New(context.Background(), schematest.MigratedDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	f := &fixture{t: t, db: db, p: &processor.Processor{DB: db}}
	if err := db.QueryRow(context.Background(), `INSERT INTO users (email, password_hash, role) VALUES ('c@x.io', 'x', 'customer') RETURNING id`).Scan(&f.user); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) product(sku string, price int64, currency string, stock int, active bool) int64 {
	f.t.Helper()
	var id int64
	if err := f.db.QueryRow(context.Background(), `INSERT INTO products (sku, name, price_minor, currency, stock, active)
		VALUES ($1, $1, $2, $3, $4, $5) RETURNING id`, sku, price, currency, stock, active).Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) stock(id int64) (stock int, version int64) {
	f.t.Helper()
	if err := f.db.QueryRow(context.Background(), "SELECT stock, version FROM products WHERE id = $1", id).Scan(&stock, &version); err != nil {
		f.t.Fatal(err)
	}
	return stock, version
}

// eventsMatchRows: each product's newest catalogue event carries the
// product exactly as the order transaction left the row (the decision
// computes the snapshot from the locked row instead of reading it back).
func (f *fixture) eventsMatchRows(ids ...int64) {
	f.t.Helper()
	ctx := context.Background()
	for _, id := range ids {
		var payload []byte
		if err := f.db.QueryRow(ctx, `SELECT payload FROM catalog_outbox WHERE product_id = $1 ORDER BY id DESC LIMIT 1`, id).Scan(&payload); err != nil {
			f.t.Fatal(err)
		}
		ev, err := catalogevent.Decode(payload)
		if err != nil {
			f.t.Fatal(err)
		}
		row, err := catalogevent.Scan(f.db.QueryRow(ctx, `SELECT `+catalogevent.Columns+` FROM products WHERE id = $1`, id))
		if err != nil {
			f.t.Fatal(err)
		}
		got, want := ev.Product, row
		if !got.UpdatedAt.Equal(want.UpdatedAt) {
			f.t.Errorf("product %d: event updated_at %v, row %v", id, got.UpdatedAt, want.UpdatedAt)
		}
		got.UpdatedAt, want.UpdatedAt = time.Time{}, time.Time{}
		if got != want {
			f.t.Errorf("product %d: event snapshot %+v, row %+v", id, got, want)
		}
	}
}

func (f *fixture) msg(lines ...orderstream.Item) orderstream.Message {
	return orderstream.Message{OrderID: uuid.New(), UserID: f.user, Items: lines, AcceptedAt: time.Now().UTC()}
}

func TestConfirmCapturesPricesAndTakesStock(t *testing.T) {
	f := setup(t)
	a, b := f.product("A", 1250, "EUR", 10, true), f.product("B", 399, "EUR", 3, true)
	m := f.msg(orderstream.Item{ProductID: b, Quantity: 3}, orderstream.Item{ProductID: a, Quantity: 2})
	out, err := f.p.Process(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != "confirmed" || out.TotalMinor != 2*1250+3*399 || out.Currency != "EUR" || out.Duplicate {
		t.Fatalf("outcome %+v", out)
	}
	if s, v := f.stock(a); s != 8 || v != 2 {
		t.Fatalf("A stock %d version %d, want 8 and 2", s, v)
	}
	if s, _ := f.stock(b); s != 0 {
		t.Fatalf("B stock %d, want 0", s)
	}
	var lines, priced, events int
	ctx := context.Background()
	_ = f.db.QueryRow(ctx, "SELECT count(*), count(unit_price_minor) FROM order_items WHERE order_id = $1", m.OrderID).Scan(&lines, &priced)
	_ = f.db.QueryRow(ctx, "SELECT count(*) FROM catalog_outbox").Scan(&events)
	if lines != 2 || priced != 2 || events != 2 {
		t.Fatalf("lines %d priced %d outbox events %d, want 2 2 2", lines, priced, events)
	}
	f.eventsMatchRows(a, b)
	// Later price changes do not touch the captured price.
	if _, err := f.db.Exec(ctx, "UPDATE products SET price_minor = 1 WHERE id = $1", a); err != nil {
		t.Fatal(err)
	}
	var captured int64
	_ = f.db.QueryRow(ctx, "SELECT unit_price_minor FROM order_items WHERE order_id = $1 AND product_id = $2", m.OrderID, a).Scan(&captured)
	if captured != 1250 {
		t.Fatalf("captured price %d", captured)
	}
}

func TestFailuresChangeNoStock(t *testing.T) {
	f := setup(t)
	ok := f.product("OK", 100, "EUR", 5, true)
	low := f.product("LOW", 100, "EUR", 1, true)
	off := f.product("OFF", 100, "EUR", 5, false)
	usd := f.product("USD", 100, "USD", 5, true)
	cases := []struct {
		name, reason, detail string
		lines                []orderstream.Item
	}{
		{"insufficient", "insufficient_stock", "2 requested, 1 in stock", []orderstream.Item{{ProductID: ok, Quantity: 1}, {ProductID: low, Quantity: 2}}},
		{"unknown", "unknown_product", "product 999999 does not exist", []orderstream.Item{{ProductID: ok, Quantity: 1}, {ProductID: 999999, Quantity: 1}}},
		{"inactive", "inactive_product", "is not for sale", []orderstream.Item{{ProductID: off, Quantity: 1}}},
		{"mixed currency", "mixed_currency", "priced in USD", []orderstream.Item{{ProductID: ok, Quantity: 1}, {ProductID: usd, Quantity: 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := f.msg(c.lines...)
			out, err := f.p.Process(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			if out.Status != "failed" || out.Reason != c.reason || !strings.Contains(out.ReasonDetail, c.detail) {
				t.Fatalf("outcome %+v, want %s with %q", out, c.reason, c.detail)
			}
			var status, reason string
			if err := f.db.QueryRow(context.Background(), "SELECT status, failure_reason FROM orders WHERE id = $1", m.OrderID).Scan(&status, &reason); err != nil || status != "failed" || reason != c.reason {
				t.Fatalf("stored %s %s %v", status, reason, err)
			}
		})
	}
	for id, want := range map[int64]int{ok: 5, low: 1, off: 5, usd: 5} {
		if s, v := f.stock(id); s != want || v != 1 {
			t.Fatalf("product %d stock %d version %d after failed orders, want %d and 1", id, s, v, want)
		}
	}
}

func TestRedeliveryHasNoSecondEffect(t *testing.T) {
	f := setup(t)
	a := f.product("A", 100, "EUR", 10, true)
	m := f.msg(orderstream.Item{ProductID: a, Quantity: 4})
	// The same message processed concurrently (a claim racing the original)
	// and again later: one decision, one stock effect.
	var wg sync.WaitGroup
	outs := make([]processor.Outcome, 8)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if outs[i], err = f.p.Process(context.Background(), m); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	again, err := f.p.Process(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	firsts := 0
	for _, o := range append(outs, again) {
		if o.Status != "confirmed" {
			t.Fatalf("outcome %+v", o)
		}
		if !o.Duplicate {
			firsts++
		}
	}
	if firsts != 1 {
		t.Fatalf("%d deliveries decided the order, want exactly 1", firsts)
	}
	if s, _ := f.stock(a); s != 6 {
		t.Fatalf("stock %d, want 6 (one decrement of 4)", s)
	}
}

func TestNoOversellUnderConcurrency(t *testing.T) {
	f := setup(t)
	hot := f.product("HOT", 100, "EUR", 37, true)
	var wg sync.WaitGroup
	var mu sync.Mutex
	confirmed := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				out, err := f.p.Process(context.Background(), f.msg(orderstream.Item{ProductID: hot, Quantity: 2}))
				if err != nil {
					t.Error(err)
					return
				}
				if out.Status == "confirmed" {
					mu.Lock()
					confirmed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if s, _ := f.stock(hot); s != 1 || confirmed != 18 {
		t.Fatalf("stock %d with %d confirmed orders of 2; want 1 left and 18 confirmed", s, confirmed)
	}
}

func TestRecordFailedKeepsAnEarlierDecision(t *testing.T) {
	f := setup(t)
	a := f.product("A", 100, "EUR", 10, true)
	m := f.msg(orderstream.Item{ProductID: a, Quantity: 1})
	if _, err := f.p.Process(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	stored, err := f.p.RecordFailed(context.Background(), m, "poison_message", "x")
	if err != nil || stored {
		t.Fatalf("RecordFailed over a confirmed order: stored=%v err=%v", stored, err)
	}
	ghost := m
	ghost.OrderID, ghost.UserID = uuid.New(), 987654
	if _, err := f.p.RecordFailed(context.Background(), ghost, "poison_message", "x"); !errors.Is(err, processor.ErrRejected) {
		t.Fatalf("unknown user: err %v, want ErrRejected", err)
	}
}
