package notify_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/kernel/lifecycle"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/order-worker/internal/notify"
	"github.com/goshop-platform/shop/services/order-worker/internal/processor"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// told are the event types a customer hears about, written out here so
// that a change to notify.Told has to change this test too.
var told = []string{"confirmed", "failed", "paid", "shipped", "cancelled", "expired", "refunded"}

type timeline struct {
	t       *testing.T
	dbURL   string
	db      *pgxpool.Pool
	user    int64
	product int64 // plenty in stock
	soldOut int64 // none in stock: its orders fail
	p       *processor.Processor
}

func newTimeline(t *testing.T) *timeline {
	t.Helper()
	ctx := context.Background()
	tl := &timeline{t: t, dbURL: schematest.MigratedDatabase(t)}
	var err error
	if tl.db, err = pgxpool.New(ctx, tl.dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tl.db.Close)
	if err := tl.db.QueryRow(ctx, `INSERT INTO users (email, password_hash, role) VALUES ('rl@x.io', 'x', 'customer') RETURNING id`).Scan(&tl.user); err != nil {
		t.Fatal(err)
	}
	if err := tl.db.QueryRow(ctx, `INSERT INTO products (sku, name, price_minor, currency, stock) VALUES ('R', 'R', 100, 'EUR', 100000) RETURNING id`).Scan(&tl.product); err != nil {
		t.Fatal(err)
	}
	if err := tl.db.QueryRow(ctx, `INSERT INTO products (sku, name, price_minor, currency, stock) VALUES ('S', 'S', 100, 'EUR', 0) RETURNING id`).Scan(&tl.soldOut); err != nil {
		t.Fatal(err)
	}
	tl.p = &processor.Processor{DB: tl.db, PaymentWindow: time.Hour}
	return tl
}

// decide has the real processor decide an order that is to end confirmed
// or (sold out) failed; the decision appends its event.
func (tl *timeline) decide(want string) (uuid.UUID, error) {
	product := tl.product
	if want == "failed" {
		product = tl.soldOut
	}
	m := orderstream.Message{OrderID: uuid.New(), UserID: tl.user, Items: []orderstream.Item{{ProductID: product, Quantity: 1}},
		AcceptedAt: time.Now().UTC(), Traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	out, err := tl.p.Process(context.Background(), m)
	if err == nil && out.Status != want {
		err = fmt.Errorf("order decided %+v, want %s", out, want)
	}
	return m.OrderID, err
}

func (tl *timeline) order(want string) uuid.UUID {
	tl.t.Helper()
	id, err := tl.decide(want)
	if err != nil {
		tl.t.Fatal(err)
	}
	return id
}

// change moves order id to status to, or notes an event of type to when
// note is set, through the lifecycle rule as api does.
func (tl *timeline) change(id uuid.UUID, to string, note bool, c lifecycle.Cause) error {
	ctx := context.Background()
	return pgx.BeginFunc(ctx, tl.db, func(tx pgx.Tx) error {
		o, err := lifecycle.Lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if note {
			_, err = lifecycle.Note(ctx, tx, o, to, c)
		} else {
			_, err = lifecycle.Move(ctx, tx, o, to, c)
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", to, id, err)
		}
		return nil
	})
}

func (tl *timeline) move(id uuid.UUID, to string, c lifecycle.Cause) {
	tl.t.Helper()
	if err := tl.change(id, to, false, c); err != nil {
		tl.t.Fatal(err)
	}
}

func (tl *timeline) note(id uuid.UUID, typ string, c lifecycle.Cause) {
	tl.t.Helper()
	if err := tl.change(id, typ, true, c); err != nil {
		tl.t.Fatal(err)
	}
}

type key struct {
	order uuid.UUID
	typ   string
}

func (k key) String() string { return k.typ + " of " + k.order.String() }

type storedEvent struct {
	id       int64
	reason   string
	at       time.Time
	notified bool
}

// events reads the whole timeline, keyed by order and type (the tests
// append at most one event of a type per order).
func (tl *timeline) events() map[key]storedEvent {
	tl.t.Helper()
	rows, _ := tl.db.Query(context.Background(), `SELECT id, order_id, type, coalesce(reason, ''), created_at, notified_at IS NOT NULL FROM order_events`)
	out := map[key]storedEvent{}
	var k key
	var e storedEvent
	if _, err := pgx.ForEachRow(rows, []any{&e.id, &k.order, &k.typ, &e.reason, &e.at, &e.notified}, func() error {
		if _, dup := out[k]; dup {
			return fmt.Errorf("two %s events of order %s", k.typ, k.order)
		}
		out[k] = e
		return nil
	}); err != nil {
		tl.t.Fatal(err)
	}
	return out
}

// recorder is a Notifier that remembers what it was told and refuses
// every event of one order.
type recorder struct {
	mu   sync.Mutex
	told []orderstream.StatusEvent
	fail uuid.UUID
}

func (r *recorder) Notify(_ context.Context, ev orderstream.StatusEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.told = append(r.told, ev)
	if ev.OrderID == r.fail {
		return errors.New("mail relay refused the message")
	}
	return nil
}

func (r *recorder) counts() map[key]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[key]int{}
	for _, ev := range r.told {
		out[key{ev.OrderID, ev.Status}]++
	}
	return out
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.told)
}

func relay(db *pgxpool.Pool, n notify.Notifier, batch int, log *testenv.LogBuffer) *notify.Relay {
	return &notify.Relay{DB: db, Notifier: n, Log: slog.New(slog.NewJSONHandler(log, nil)), Every: time.Hour, Batch: batch}
}

// drain runs r.Once until a round settles nothing and returns how many events it settled.
func drain(t *testing.T, r *notify.Relay) int {
	t.Helper()
	total := 0
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		n, err := r.Once(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n > r.Batch {
			t.Fatalf("one round settled %d events, batch is %d", n, r.Batch)
		}
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("the relay was still settling events at the deadline")
	return 0
}

// checkTold asserts that every event of a told type was told exactly once
// (with its order's customer, reason and time) and every other event never,
// and that every event is marked notified.
func checkTold(t *testing.T, tl *timeline, r *recorder) {
	t.Helper()
	evs := tl.events()
	counts := r.counts()
	want := 0
	for k, e := range evs {
		if !e.notified {
			t.Errorf("%s event of order %s is not marked notified", k.typ, k.order)
		}
		n := 0
		if slices.Contains(told, k.typ) {
			n = 1
		}
		want += n
		if counts[k] != n {
			t.Errorf("%s event of order %s told %d times, want %d", k.typ, k.order, counts[k], n)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.told) != want {
		t.Errorf("the notifier was told %d times, want %d", len(r.told), want)
	}
	for _, ev := range r.told {
		e, ok := evs[key{ev.OrderID, ev.Status}]
		if !ok || ev.UserID != tl.user || ev.Reason != e.reason || !ev.DecidedAt.Equal(e.at) {
			t.Errorf("told %+v; stored event %+v (user %d)", ev, e, tl.user)
		}
	}
}

func TestRelayTellsEachToldEventOnceAndMarksAll(t *testing.T) {
	tl := newTimeline(t)
	o1 := tl.order("confirmed")
	tl.move(o1, lifecycle.Paid, lifecycle.Cause{Actor: lifecycle.ActorPayments, PaymentID: new(uuid.New())})
	tl.move(o1, lifecycle.Shipped, lifecycle.Cause{Actor: lifecycle.Admin(1)})
	tl.move(o1, lifecycle.Delivered, lifecycle.Cause{Actor: lifecycle.Admin(1)})
	o2 := tl.order("confirmed")
	tl.move(o2, lifecycle.Cancelled, lifecycle.Cause{Actor: lifecycle.Customer(tl.user), Reason: "changed_mind"})
	tl.note(o2, lifecycle.Refunded, lifecycle.Cause{Actor: lifecycle.ActorStripe, RefundID: "re_1"})
	tl.note(o2, lifecycle.RefundFailed, lifecycle.Cause{Actor: lifecycle.ActorStripe, Reason: "provider_error"})
	o3 := tl.order("confirmed")
	tl.note(o3, lifecycle.PaymentFailed, lifecycle.Cause{Actor: lifecycle.ActorStripe, Reason: "card_declined"})
	tl.move(o3, lifecycle.Expired, lifecycle.Cause{Actor: lifecycle.ActorWorker, Reason: "payment_window_elapsed"})
	o4 := tl.order("failed")
	o5 := tl.order("confirmed")

	rec := &recorder{}
	var logs testenv.LogBuffer
	r := relay(tl.db, rec, 4, &logs)
	if n := drain(t, r); n != 13 {
		t.Fatalf("the relay settled %d events, want 13", n)
	}
	checkTold(t, tl, rec)
	wantTold := map[key]int{{o1, "confirmed"}: 1, {o1, "paid"}: 1, {o1, "shipped"}: 1, {o2, "confirmed"}: 1, {o2, "cancelled"}: 1,
		{o2, "refunded"}: 1, {o3, "confirmed"}: 1, {o3, "expired"}: 1, {o4, "failed"}: 1, {o5, "confirmed"}: 1}
	if got := rec.counts(); !maps.Equal(got, wantTold) {
		t.Fatalf("told %v\nwant %v", got, wantTold)
	}
	reasons := map[key]string{}
	for _, ev := range rec.told {
		reasons[key{ev.OrderID, ev.Status}] = ev.Reason
	}
	if reasons[key{o4, "failed"}] != "insufficient_stock" || reasons[key{o3, "expired"}] != "payment_window_elapsed" || reasons[key{o2, "cancelled"}] != "changed_mind" {
		t.Errorf("reasons told %v", reasons)
	}

	// Nothing is told twice; a new event is told alone.
	if n := drain(t, r); n != 0 || rec.len() != 10 {
		t.Fatalf("a second pass settled %d and the notifier has %d, want 0 and 10", n, rec.len())
	}
	tl.move(o5, lifecycle.Paid, lifecycle.Cause{Actor: lifecycle.ActorPayments})
	if n := drain(t, r); n != 1 {
		t.Fatalf("settled %d after one new event", n)
	}
	checkTold(t, tl, rec)
	if strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Errorf("warnings logged:\n%s", logs.String())
	}
}

func TestConcurrentRelaysNeverTellAnEventTwice(t *testing.T) {
	const orders, relays, batch = 150, 2, 5
	ctx := context.Background()
	tl := newTimeline(t)
	rec := &recorder{}
	var logs testenv.LogBuffer
	var appending atomic.Bool
	appending.Store(true)
	start := make(chan struct{})
	var wg sync.WaitGroup
	settled := make([]int, relays)
	// Two replicas, each with its own pool, relay while the timeline grows.
	for g := range relays {
		db, err := pgxpool.New(ctx, tl.dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		r := relay(db, rec, batch, &logs)
		wg.Go(func() {
			<-start
			deadline := time.Now().Add(60 * time.Second)
			for time.Now().Before(deadline) {
				done := !appending.Load() // read before the round: events appended later are seen by a later round
				n, err := r.Once(ctx)
				if err != nil {
					t.Errorf("relay %d: %v", g, err)
					return
				}
				settled[g] += n
				if n > 0 || !done {
					continue
				}
				var left int
				if err := db.QueryRow(ctx, `SELECT count(*) FROM order_events WHERE notified_at IS NULL`).Scan(&left); err != nil {
					t.Errorf("relay %d: %v", g, err)
					return
				}
				if left == 0 {
					return
				}
			}
			t.Errorf("relay %d: unnotified events left at the deadline", g)
		})
	}
	close(start)
	// Decisions and moves append to the timeline from several goroutines.
	var appenders sync.WaitGroup
	for a := range 4 {
		appenders.Go(func() {
			for i := a; i < orders; i += 4 {
				id, err := tl.decide("confirmed")
				if err == nil && i%10 == 0 {
					_, err = tl.decide("failed")
				}
				switch {
				case err != nil:
				case i%3 == 0:
					err = tl.change(id, lifecycle.Paid, false, lifecycle.Cause{Actor: lifecycle.ActorPayments})
				case i%3 == 1:
					err = tl.change(id, lifecycle.Cancelled, false, lifecycle.Cause{Actor: lifecycle.Customer(tl.user)})
				default:
					for _, to := range []string{lifecycle.Paid, lifecycle.Shipped, lifecycle.Delivered} {
						if err == nil {
							err = tl.change(id, to, false, lifecycle.Cause{Actor: lifecycle.Admin(1)})
						}
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	appenders.Wait()
	appending.Store(false)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	events := tl.events()
	t.Logf("%d events, settled per relay %v", len(events), settled)
	if settled[0]+settled[1] != len(events) {
		t.Errorf("the relays settled %d events, the timeline holds %d", settled[0]+settled[1], len(events))
	}
	// 150 confirmed, 15 failed, 50 paid, 50 cancelled, 50 paid+shipped+delivered.
	if len(events) != 150+15+50+50+150 {
		t.Errorf("%d events, want %d", len(events), 150+15+50+50+150)
	}
	checkTold(t, tl, rec)
}

func TestRelayLogsANotifierErrorAndStillMarks(t *testing.T) {
	tl := newTimeline(t)
	ok := tl.order("confirmed")
	refused := tl.order("confirmed")
	tl.move(refused, lifecycle.Cancelled, lifecycle.Cause{Actor: lifecycle.Customer(tl.user)})
	rec := &recorder{fail: refused}
	var logs testenv.LogBuffer
	r := relay(tl.db, rec, 10, &logs)
	if n := drain(t, r); n != 3 {
		t.Fatalf("settled %d events, want 3", n)
	}
	checkTold(t, tl, rec) // the refused events were tried once and are marked
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	var failures []string
	for _, l := range lines {
		if strings.Contains(l, "customer notification failed") {
			failures = append(failures, l)
		}
	}
	if len(failures) != 2 {
		t.Fatalf("%d failure lines, want 2 (confirmed and cancelled of %s):\n%s", len(failures), refused, logs.String())
	}
	for i, typ := range []string{"confirmed", "cancelled"} {
		for _, want := range []string{`"level":"WARN"`, `"order_id":"` + refused.String() + `"`, `"event":"` + typ + `"`, "mail relay refused the message"} {
			if !strings.Contains(failures[i], want) {
				t.Errorf("failure line %s lacks %s", failures[i], want)
			}
		}
	}
	if strings.Contains(logs.String(), ok.String()) {
		t.Errorf("the order that was told is logged as failed:\n%s", logs.String())
	}
	if n := drain(t, r); n != 0 || rec.len() != 3 {
		t.Fatalf("refused events came back: settled %d, told %d", n, rec.len())
	}
}

func TestRelayWithoutNotifierOnlyMarks(t *testing.T) {
	tl := newTimeline(t)
	id := tl.order("confirmed")
	tl.move(id, lifecycle.Paid, lifecycle.Cause{Actor: lifecycle.ActorPayments})
	var logs testenv.LogBuffer
	if n := drain(t, relay(tl.db, nil, 10, &logs)); n != 2 {
		t.Fatalf("settled %d events, want 2", n)
	}
	for k, e := range tl.events() {
		if !e.notified {
			t.Errorf("%s event of %s not marked", k.typ, k.order)
		}
	}
}

func TestOrderEventsAreAppendOnly(t *testing.T) {
	ctx := context.Background()
	tl := newTimeline(t)
	id := tl.order("confirmed")
	other := tl.order("confirmed")
	var ev int64
	if err := tl.db.QueryRow(ctx, `SELECT id FROM order_events WHERE order_id = $1`, id).Scan(&ev); err != nil {
		t.Fatal(err)
	}
	row := func() string {
		t.Helper()
		var s string
		if err := tl.db.QueryRow(ctx, `SELECT row(e.*)::text FROM order_events e WHERE id = $1`, ev).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := row()
	refused := func(set string, args ...any) {
		t.Helper()
		args = append([]any{ev}, args...)
		tag, err := tl.db.Exec(ctx, `UPDATE order_events SET `+set+` WHERE id = $1`, args...)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("SET %s: %v (%d rows), want the append-only error", set, err, tag.RowsAffected())
		}
	}
	refused("order_id = $2", other)
	refused("type = 'paid'")
	refused("status = 'paid'")
	refused("actor = 'admin:1'")
	refused("reason = 'x'")
	refused("payment_id = $2", uuid.New())
	refused("refund_id = 're_1'")
	refused(`detail = '{"a": 1}'`)
	refused("traceparent = 'tp'")
	refused("created_at = created_at - interval '1 second'")
	refused("notified_at = now(), actor = 'admin:1'")
	if _, err := tl.db.Exec(ctx, `UPDATE order_events SET id = id + 1000 WHERE id = $1`, ev); err == nil {
		t.Error("the id of an event changed")
	}
	if got := row(); got != before {
		t.Fatalf("refused updates changed the event:\n%s\n%s", before, got)
	}

	// notified_at may be set once.
	tag, err := tl.db.Exec(ctx, `UPDATE order_events SET notified_at = now() WHERE id = $1`, ev)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("setting notified_at: %v (%d rows)", err, tag.RowsAffected())
	}
	marked := row()
	refused("notified_at = notified_at + interval '1 second'")
	refused("notified_at = NULL")
	if got := row(); got != marked || got == before {
		t.Fatalf("event after the second mark %s, want %s", got, marked)
	}
}
