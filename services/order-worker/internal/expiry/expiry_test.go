package expiry_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/lifecycle"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/order-worker/internal/expiry"
	"github.com/goshop-platform/shop/services/order-worker/internal/processor"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// shop is one test's database, Redis, customer and catalogue.
type shop struct {
	t       *testing.T
	dbURL   string
	db      *pgxpool.Pool
	rdb     *redis.Client
	user    int64
	initial map[int64]int
	// due confirms orders that are due at once, later orders that are due in an hour.
	due, later *processor.Processor
}

func newShop(t *testing.T, stocks ...int) *shop {
	t.Helper()
	ctx := context.Background()
	s := &shop{t: t, dbURL: schematest.MigratedDatabase(t), initial: map[int64]int{}}
	var err error
	if s.db, err = pgxpool.New(ctx, s.dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.db.Close)
	opts, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	s.rdb = redis.NewClient(opts)
	t.Cleanup(func() { s.rdb.Close() })
	if err := s.db.QueryRow(ctx, `INSERT INTO users (email, password_hash, role) VALUES ('ex@x.io', 'x', 'customer') RETURNING id`).Scan(&s.user); err != nil {
		t.Fatal(err)
	}
	for i, st := range stocks {
		var id int64
		if err := s.db.QueryRow(ctx, `INSERT INTO products (sku, name, price_minor, currency, stock) VALUES ($1, $1, 100, 'EUR', $2) RETURNING id`,
			fmt.Sprintf("P-%d", i), st).Scan(&id); err != nil {
			t.Fatal(err)
		}
		s.initial[id] = st
	}
	s.due = &processor.Processor{DB: s.db, PaymentWindow: time.Millisecond}
	s.later = &processor.Processor{DB: s.db, PaymentWindow: time.Hour}
	return s
}

// decide decides a new order through the real processor (safe from any goroutine).
func (s *shop) decide(p *processor.Processor, want string, lines ...orderstream.Item) (uuid.UUID, error) {
	m := orderstream.Message{OrderID: uuid.New(), UserID: s.user, Items: lines, AcceptedAt: time.Now().UTC()}
	out, err := p.Process(context.Background(), m)
	if err == nil && out.Status != want {
		err = fmt.Errorf("order %v decided %+v, want %s", lines, out, want)
	}
	return m.OrderID, err
}

// order decides a new order and returns its id.
func (s *shop) order(p *processor.Processor, want string, lines ...orderstream.Item) uuid.UUID {
	s.t.Helper()
	id, err := s.decide(p, want, lines...)
	if err != nil {
		s.t.Fatal(err)
	}
	return id
}

// move changes a stored order's status through the lifecycle rule, as api does.
func (s *shop) move(id uuid.UUID, to string, c lifecycle.Cause) {
	s.t.Helper()
	ctx := context.Background()
	if err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		o, err := lifecycle.Lock(ctx, tx, id)
		if err != nil {
			return err
		}
		_, err = lifecycle.Move(ctx, tx, o, to, c)
		return err
	}); err != nil {
		s.t.Fatalf("move %s to %s: %v", id, to, err)
	}
}

// payment records a payment attempt of order id in status, last touched age ago.
func (s *shop) payment(id uuid.UUID, status string, age time.Duration) {
	s.t.Helper()
	if _, err := s.db.Exec(context.Background(), `INSERT INTO payments (id, order_id, provider, idempotency_key, status, amount_minor, currency, created_at, updated_at)
		VALUES ($1, $2, 'mock', $3, $4, 100, 'EUR', now() - $5::interval, now() - $5::interval)`,
		uuid.New(), id, uuid.NewString(), status, age); err != nil {
		s.t.Fatal(err)
	}
}

// waitDue polls until exactly n confirmed orders have passed their payment deadline.
func (s *shop) waitDue(n int) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var due int
		if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM orders WHERE status = 'confirmed' AND payment_due_at <= now()`).Scan(&due); err != nil {
			s.t.Fatal(err)
		}
		if due == n {
			return
		}
		if due > n || time.Now().After(deadline) {
			s.t.Fatalf("%d confirmed orders are due, want %d", due, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type product struct {
	stock   int
	version int64
}

func (s *shop) products() map[int64]product {
	s.t.Helper()
	rows, _ := s.db.Query(context.Background(), `SELECT id, stock, version FROM products`)
	out := map[int64]product{}
	var id int64
	var p product
	if _, err := pgx.ForEachRow(rows, []any{&id, &p.stock, &p.version}, func() error { out[id] = p; return nil }); err != nil {
		s.t.Fatal(err)
	}
	return out
}

// checkStockIdentity asserts that every product's initial stock equals its
// stock now plus what the orders holding stock took of it.
func (s *shop) checkStockIdentity() {
	s.t.Helper()
	rows, _ := s.db.Query(context.Background(), `SELECT p.id, p.stock, coalesce((SELECT sum(i.quantity) FROM order_items i JOIN orders o ON o.id = i.order_id
			WHERE i.product_id = p.id AND o.status IN ('confirmed', 'paid', 'shipped', 'delivered')), 0)::int FROM products p`)
	var id int64
	var stock, held int
	n := 0
	if _, err := pgx.ForEachRow(rows, []any{&id, &stock, &held}, func() error {
		n++
		if s.initial[id] != stock+held {
			s.t.Errorf("product %d: initial %d != stock %d + held %d", id, s.initial[id], stock, held)
		}
		return nil
	}); err != nil {
		s.t.Fatal(err)
	}
	if n != len(s.initial) {
		s.t.Fatalf("%d products, want %d", n, len(s.initial))
	}
}

func (s *shop) statuses() map[uuid.UUID]string {
	s.t.Helper()
	rows, _ := s.db.Query(context.Background(), `SELECT id, status FROM orders`)
	out := map[uuid.UUID]string{}
	var id uuid.UUID
	var st string
	if _, err := pgx.ForEachRow(rows, []any{&id, &st}, func() error { out[id] = st; return nil }); err != nil {
		s.t.Fatal(err)
	}
	return out
}

func (s *shop) sweeper(db *pgxpool.Pool, batch int, log *testenv.LogBuffer) *expiry.Sweeper {
	return &expiry.Sweeper{DB: db, Redis: s.rdb, Log: slog.New(slog.NewJSONHandler(log, nil)), Every: time.Hour, Batch: batch,
		PaymentGrace: time.Minute, Expired: prometheus.NewCounter(prometheus.CounterOpts{Name: "expired_total", Help: "test"})}
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// hints listens on the status channel from before the sweep.
type hints struct {
	t   *testing.T
	rdb *redis.Client
	sub *redis.PubSub
	ch  <-chan *redis.Message
}

func listen(t *testing.T, rdb *redis.Client) *hints {
	t.Helper()
	sub := rdb.Subscribe(context.Background(), orderstream.StatusChannel)
	t.Cleanup(func() { sub.Close() })
	if _, err := sub.Receive(context.Background()); err != nil { // the subscription is confirmed
		t.Fatal(err)
	}
	return &hints{t: t, rdb: rdb, sub: sub, ch: sub.Channel(redis.WithChannelSize(1000))}
}

// drain publishes a marker and returns every hint received before it:
// Redis delivers one connection's messages in order, so nothing published
// before the marker can still be on its way.
func (h *hints) drain() []orderstream.StatusEvent {
	h.t.Helper()
	marker := "marker-" + uuid.NewString()
	if err := h.rdb.Publish(context.Background(), orderstream.StatusChannel, marker).Err(); err != nil {
		h.t.Fatal(err)
	}
	var out []orderstream.StatusEvent
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m := <-h.ch:
			if m.Payload == marker {
				return out
			}
			e, err := orderstream.DecodeStatus(m.Payload)
			if err != nil {
				h.t.Fatalf("hint %q: %v", m.Payload, err)
			}
			out = append(out, e)
		case <-timeout:
			h.t.Fatalf("the marker hint did not arrive; %d hints before it", len(out))
		}
	}
}

// reason is the timeline reason of an expiry that customers and api read.
const reason = "payment_window_elapsed"

func TestSweepExpiresExactlyTheDueOrders(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, 50, 50, 20, 7)
	var a, b, c, d int64 // only expired orders take from d
	for id := range s.initial {
		switch {
		case s.initial[id] == 20:
			c = id
		case s.initial[id] == 7:
			d = id
		case a == 0:
			a = id
		default:
			b = id
		}
	}
	due1 := s.order(s.due, "confirmed", orderstream.Item{ProductID: a, Quantity: 2}, orderstream.Item{ProductID: b, Quantity: 1})
	due2 := s.order(s.due, "confirmed", orderstream.Item{ProductID: a, Quantity: 3}, orderstream.Item{ProductID: d, Quantity: 5})
	due3 := s.order(s.due, "confirmed", orderstream.Item{ProductID: c, Quantity: 4}, orderstream.Item{ProductID: a, Quantity: 1},
		orderstream.Item{ProductID: d, Quantity: 2})
	s.payment(due3, "processing", 2*time.Hour) // in flight long past the grace: the provider never answered
	s.payment(due3, "failed", 0)               // declined: no payment in flight
	notDue := s.order(s.later, "confirmed", orderstream.Item{ProductID: b, Quantity: 2})
	paid := s.order(s.due, "confirmed", orderstream.Item{ProductID: a, Quantity: 1}, orderstream.Item{ProductID: b, Quantity: 1})
	s.move(paid, lifecycle.Paid, lifecycle.Cause{Actor: lifecycle.ActorPayments})
	inFlight := s.order(s.due, "confirmed", orderstream.Item{ProductID: c, Quantity: 2})
	s.payment(inFlight, "processing", 0)
	pending := s.order(s.due, "confirmed", orderstream.Item{ProductID: b, Quantity: 1})
	s.payment(pending, "pending", 0)
	failed := s.order(s.due, "failed", orderstream.Item{ProductID: c, Quantity: 1000})
	expired := map[uuid.UUID]bool{due1: true, due2: true, due3: true}
	s.waitDue(5) // due1-3 and the two with a payment in flight

	before := s.products()
	h := listen(t, s.rdb)
	var logs testenv.LogBuffer
	sw := s.sweeper(s.db, 100, &logs)
	n, err := sw.Once(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Once = %d, %v; want 3 expired\n%s", n, err, logs.String())
	}

	wantStatus := map[uuid.UUID]string{due1: "expired", due2: "expired", due3: "expired", notDue: "confirmed",
		paid: "paid", inFlight: "confirmed", pending: "confirmed", failed: "failed"}
	got := s.statuses()
	for id, want := range wantStatus {
		if got[id] != want {
			t.Errorf("order %s is %s, want %s", id, got[id], want)
		}
	}
	// Stock came back once: only the orders still holding stock hold it.
	after := s.products()
	wantStock := map[int64]int{a: 50 - 1, b: 50 - 2 - 1 - 1, c: 20 - 2, d: 7}
	for id, want := range wantStock {
		if after[id].stock != want || after[id].version != before[id].version+1 {
			t.Errorf("product %d: stock %d version %d, want %d and %d (one stock change for the batch)",
				id, after[id].stock, after[id].version, want, before[id].version+1)
		}
	}
	s.checkStockIdentity()

	ids := make([]uuid.UUID, 0, len(wantStatus))
	for id := range wantStatus {
		ids = append(ids, id)
	}
	timelines, err := lifecycle.Timeline(ctx, s.db, ids)
	if err != nil {
		t.Fatal(err)
	}
	expiredAt := map[uuid.UUID]time.Time{}
	for id := range wantStatus {
		var types []string
		for _, e := range timelines[id] {
			types = append(types, e.Type)
			if e.Type != lifecycle.Expired {
				continue
			}
			if e.Status != lifecycle.Expired || e.Actor != lifecycle.ActorWorker || e.Reason == nil || *e.Reason != reason {
				t.Errorf("order %s expired event: status %s actor %s reason %v; want expired, order-worker, %s", id, e.Status, e.Actor, deref(e.Reason), reason)
			}
			expiredAt[id] = e.At
		}
		want := []string{wantStatus[id]}
		switch {
		case expired[id]:
			want = []string{"confirmed", "expired"}
		case id == paid:
			want = []string{"confirmed", "paid"}
		}
		if strings.Join(types, ",") != strings.Join(want, ",") {
			t.Errorf("order %s timeline %v, want %v", id, types, want)
		}
	}
	if v := counterValue(t, sw.Expired); v != 3 {
		t.Errorf("expired counter %v, want 3", v)
	}
	hs := h.drain()
	if len(hs) != 3 {
		t.Fatalf("%d status hints, want 3: %+v", len(hs), hs)
	}
	for _, e := range hs {
		if !expired[e.OrderID] || e.Status != "expired" || e.Reason != reason || e.UserID != s.user || !e.DecidedAt.Equal(expiredAt[e.OrderID]) {
			t.Errorf("hint %+v; want an expired order of user %d, reason %s, decided at %v", e, s.user, reason, expiredAt[e.OrderID])
		}
		delete(expired, e.OrderID)
	}
	if len(expired) != 0 {
		t.Errorf("no hint for %v", expired)
	}

	// A second sweep finds nothing: no stock, event, counter or hint changes.
	var events int
	_ = s.db.QueryRow(ctx, `SELECT count(*) FROM order_events`).Scan(&events)
	if n, err := sw.Once(ctx); n != 0 || err != nil {
		t.Fatalf("second Once = %d, %v; want 0", n, err)
	}
	var eventsAgain int
	_ = s.db.QueryRow(ctx, `SELECT count(*) FROM order_events`).Scan(&eventsAgain)
	again := s.products()
	for id := range after {
		if again[id] != after[id] {
			t.Errorf("product %d changed by the second sweep: %+v -> %+v", id, after[id], again[id])
		}
	}
	if eventsAgain != events || counterValue(t, sw.Expired) != 3 {
		t.Errorf("second sweep: events %d -> %d, counter %v; want unchanged", events, eventsAgain, counterValue(t, sw.Expired))
	}
	if hs := h.drain(); len(hs) != 0 {
		t.Errorf("second sweep published %+v", hs)
	}
	if again := s.statuses(); !maps.Equal(again, got) {
		t.Errorf("statuses after the second sweep %v, want %v", again, got)
	}
}

func TestConcurrentSweepersExpireEachOrderOnce(t *testing.T) {
	const dueOrders, sweepers, batch = 300, 4, 7
	ctx := context.Background()
	s := newShop(t, 2000, 2000, 2000, 2000)
	ids := make([]int64, 0, len(s.initial))
	for id := range s.initial {
		ids = append(ids, id)
	}
	r := rand.New(rand.NewPCG(1, 2))
	lines := func() []orderstream.Item {
		r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		items := make([]orderstream.Item, 1+r.IntN(3))
		for i := range items {
			items[i] = orderstream.Item{ProductID: ids[i], Quantity: 1 + r.IntN(3)}
		}
		return items
	}
	type job struct {
		p     *processor.Processor
		items []orderstream.Item
		paid  bool
	}
	var jobs []job
	for range dueOrders {
		jobs = append(jobs, job{p: s.due, items: lines()})
	}
	for range 20 {
		jobs = append(jobs, job{p: s.later, items: lines()})
		jobs = append(jobs, job{p: s.due, items: lines(), paid: true})
	}
	// Decide the orders concurrently, as the worker's consumers would.
	var mu sync.Mutex
	due, kept := map[uuid.UUID]bool{}, map[uuid.UUID]string{}
	var wg sync.WaitGroup
	work := make(chan job)
	for range 8 {
		wg.Go(func() {
			for j := range work {
				id, err := s.decide(j.p, "confirmed", j.items...)
				if err != nil {
					t.Error(err)
					continue
				}
				mu.Lock()
				switch {
				case j.paid:
					kept[id] = "paid"
				case j.p == s.later:
					kept[id] = "confirmed"
				default:
					due[id] = true
				}
				mu.Unlock()
			}
		})
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for id, st := range kept {
		if st == "paid" {
			s.move(id, lifecycle.Paid, lifecycle.Cause{Actor: lifecycle.ActorPayments})
		}
	}
	s.waitDue(dueOrders)
	h := listen(t, s.rdb)

	// Four replicas, each with its own pool, sweep in small batches at once.
	var logs testenv.LogBuffer
	expired := make([]int, sweepers)
	sws := make([]*expiry.Sweeper, sweepers)
	start := make(chan struct{})
	deadline := time.Now().Add(60 * time.Second)
	for g := range sweepers {
		db, err := pgxpool.New(ctx, s.dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		sws[g] = s.sweeper(db, batch, &logs)
		wg.Go(func() {
			<-start
			for time.Now().Before(deadline) {
				n, err := sws[g].Once(ctx)
				if err != nil {
					t.Errorf("sweeper %d: %v", g, err)
					return
				}
				expired[g] += n
				if n > 0 {
					continue
				}
				// Nothing this round: done once no due order is left (others may hold the rest).
				var left int
				if err := db.QueryRow(ctx, `SELECT count(*) FROM orders WHERE status = 'confirmed' AND payment_due_at <= now()`).Scan(&left); err != nil {
					t.Errorf("sweeper %d: %v", g, err)
					return
				}
				if left == 0 {
					return
				}
			}
			t.Errorf("sweeper %d: due orders left at the deadline", g)
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.Fatalf("logs:\n%s", logs.String())
	}

	total, counted := 0, 0.0
	for g := range sweepers {
		total += expired[g]
		counted += counterValue(t, sws[g].Expired)
	}
	t.Logf("expired per sweeper: %v", expired)
	if total != dueOrders || counted != dueOrders {
		t.Fatalf("sweepers reported %d expiries and counted %v, want %d", total, counted, dueOrders)
	}
	got := s.statuses()
	for id := range due {
		if got[id] != "expired" {
			t.Errorf("due order %s is %s", id, got[id])
		}
	}
	for id, want := range kept {
		if got[id] != want {
			t.Errorf("order %s is %s, want %s", id, got[id], want)
		}
	}
	rows, _ := s.db.Query(ctx, `SELECT order_id, count(*)::int, bool_and(status = 'expired' AND actor = 'order-worker' AND reason = $1)
		FROM order_events WHERE type = 'expired' GROUP BY order_id`, reason)
	var id uuid.UUID
	var n int
	var ok bool
	events := 0
	if _, err := pgx.ForEachRow(rows, []any{&id, &n, &ok}, func() error {
		events++
		if !due[id] || n != 1 || !ok {
			t.Errorf("order %s (due %v) has %d expired events (actor and reason right: %v), want 1 for each due order", id, due[id], n, ok)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if events != dueOrders {
		t.Errorf("%d orders have an expired event, want %d", events, dueOrders)
	}
	s.checkStockIdentity()
	hinted := map[uuid.UUID]int{}
	for _, e := range h.drain() {
		hinted[e.OrderID]++
		if !due[e.OrderID] || e.Status != "expired" {
			t.Errorf("hint %+v is not of a due order", e)
		}
	}
	for id := range due {
		if hinted[id] != 1 {
			t.Errorf("order %s hinted %d times, want 1", id, hinted[id])
		}
	}
	if strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Errorf("warnings logged:\n%s", logs.String())
	}
}
