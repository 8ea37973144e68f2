package app_test

import (
	"bufio"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// TestPostgresFailover: orders flow from several goroutines while two
// worker processes, configured with the pair's multi-host URL
// (target_session_attrs=read-write), decide them; mid-run the primary goes
// away and the standby is promoted. Two ways to go away:
//   - crash: immediate shutdown of the primary (its processes end at once;
//     what it had written to its sockets still arrives);
//   - partition: the standby is cut off from the primary's WAL for 300 ms
//     while orders flow, then every primary process is SIGKILLed (a lost
//     machine: what the standby had not received is gone).
//
// With synchronous replication every accepted order ends decided exactly
// once and the stock identity holds. With asynchronous replication (the
// PostgreSQL default) a commit the primary acknowledged but the standby
// never received is gone after the promotion, and the worker had acked that
// stream entry after the commit, so the order is lost: the test reports how
// many were (t.Log, not an assertion: the number depends on the timing) and
// asserts everything else over what survived. In every case both workers
// decide orders on the new primary without a restart, and the stream's
// pending list drains.
func TestPostgresFailover(t *testing.T) {
	crash := func(t *testing.T, pair *testenv.PostgresPair) { pair.StopPrimary(t) }
	hang := func(t *testing.T, pair *testenv.PostgresPair) { pair.FreezePrimary(t) }
	partition := func(t *testing.T, pair *testenv.PostgresPair) {
		pair.PartitionPrimary(t)
		time.Sleep(300 * time.Millisecond) // the length of the partition, during which orders keep being decided (or wait)
		pair.KillPrimary(t)
	}
	for _, tc := range []struct {
		name        string
		synchronous bool
		lose        func(*testing.T, *testenv.PostgresPair)
		// promoteAfter is the failover manager's reaction time (detection,
		// fencing): the workers meanwhile back off up to their maximum.
		promoteAfter time.Duration
	}{
		{"synchronous/crash", true, crash, 0},
		{"synchronous/partition", true, partition, 0},
		{"synchronous/crash/promoted-after-6s", true, crash, 6 * time.Second},
		// Transactions in flight wait for consumer.transactionTimeout (10 s).
		{"synchronous/hung", true, hang, 0},
		{"asynchronous/crash", false, crash, 0},
		{"asynchronous/partition", false, partition, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := runFailover(t, tc.synchronous, tc.lose, tc.promoteAfter)
			ctx := context.Background()
			dead, err := f.s.rdb.XLen(ctx, orderstream.DeadLetters).Result()
			if err != nil {
				t.Fatal(err)
			}
			if tc.synchronous {
				f.s.waitDecided(f.sent, time.Minute)
				confirmed, failed := f.s.checkInvariants(f.sent)
				f.decidedOnce()
				if dead != 0 {
					t.Fatalf("%d dead letters, want none: a failover must look like an outage, not a bad order", dead)
				}
				t.Logf("%d orders: %d confirmed, %d failed, none lost", len(f.sent), confirmed, failed)
			} else {
				rows, err := f.s.db.Query(ctx, "SELECT id FROM orders WHERE id = ANY($1)", f.sent)
				if err != nil {
					t.Fatal(err)
				}
				decided, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
				if err != nil {
					t.Fatal(err)
				}
				confirmed, failed := f.s.checkInvariants(decided)
				f.decidedOnce()
				t.Logf("%d orders: %d confirmed, %d failed, %d LOST (answered 202, acked after a commit the promoted standby never received); %d dead letters",
					len(f.sent), confirmed, failed, len(f.sent)-len(decided), dead)
			}
			f.logGap()
		})
	}
}

// failover is one run: the shop on a primary/standby pair and what the run
// measured.
type failover struct {
	t          *testing.T
	s          *shop
	sent       []uuid.UUID
	stopAt     time.Time // the primary was gone
	promotedIn time.Duration
	// firstDecision is the processed_at (the worker's clock, inside the
	// transaction) of the first order decided on the new primary.
	firstDecision time.Time
}

func runFailover(t *testing.T, synchronous bool, lose func(*testing.T, *testenv.PostgresPair), promoteAfter time.Duration) *failover {
	pair := testenv.NewPostgresPair(t, schematest.Migrate, synchronous)
	s := newShop(t, pair.URL(), testenv.Redis(t), 1500, 1500, 1500, 1500, 1500)
	pair.WaitReplayed(t) // the catalogue is on both before orders flow
	// The shipped retry backoff and claim idle time (the harness shortens
	// them), so that the gap measured is the one an operator gets; no worker
	// dies here, so nothing needs claiming.
	shipped := []string{"WORKER_RETRY_INITIAL=100ms", "WORKER_RETRY_MAX=5s", "WORKER_CONSUMER_CLAIM_IDLE=30s"}
	workers := []*proc{s.startWorker(shipped...), s.startWorker(shipped...)}
	f := &failover{t: t, s: s}

	done := make(chan []uuid.UUID, 1)
	go func() { done <- s.enqueue(3000, 4, 2*time.Millisecond) }()
	eventually(t, 30*time.Second, "orders decided on the first primary", func() bool { return s.decided() >= 600 })
	lose(t, pair)
	f.stopAt = time.Now()
	before := make([]float64, len(workers))
	for i, w := range workers {
		before[i] = processedTotal(t, w)
	}
	time.Sleep(promoteAfter) // the outage before a failover manager acts
	pair.Promote(t)
	f.promotedIn = time.Since(f.stopAt)
	// The test's own reads go to the new primary from here: its pool may
	// hold a session to a frozen primary that would never answer (the
	// workers, on the multi-host URL, must find their own way).
	promoted, err := pgxpool.New(context.Background(), pair.StandbyURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(promoted.Close)
	s.db = promoted
	f.firstDecision = firstDecisionSince(t, pair.StandbyURL(), f.stopAt)
	f.sent = <-done
	if len(f.sent) != 3000 {
		t.Fatalf("only %d of 3000 orders enqueued", len(f.sent))
	}

	eventually(t, time.Minute, "every stream entry delivered and acknowledged", func() bool {
		ctx := context.Background()
		p, err := s.rdb.XPending(ctx, orderstream.Stream, orderstream.Group).Result()
		if err != nil || p.Count != 0 {
			return false
		}
		groups, err := s.rdb.XInfoGroups(ctx, orderstream.Stream).Result()
		return err == nil && len(groups) == 1 && groups[0].Lag == 0
	})
	for i, w := range workers {
		if w.cmd.ProcessState != nil {
			t.Fatalf("worker %d exited during the failover", i)
		}
		if code, _ := w.get("/readyz"); code != 200 {
			t.Fatalf("worker %d readyz %d after the failover", i, code)
		}
		if after := processedTotal(t, w); after <= before[i] {
			t.Fatalf("worker %d decided no order after the promotion (%v before, %v after)", i, before[i], after)
		}
	}
	return f
}

// decidedOnce: every order has exactly one decision in its timeline (the
// primary key already allows one row per order; this also catches a
// decision applied a second time in another form).
func (f *failover) decidedOnce() {
	f.t.Helper()
	var orders, wrong int
	if err := f.s.db.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE n <> 1) FROM (SELECT o.id,
		(SELECT count(*) FROM order_events e WHERE e.order_id = o.id AND e.type IN ('confirmed', 'failed')) AS n FROM orders o) d`).Scan(&orders, &wrong); err != nil {
		f.t.Fatal(err)
	}
	if wrong != 0 {
		f.t.Fatalf("%d of %d orders do not have exactly one decision event", wrong, orders)
	}
}

func (f *failover) logGap() {
	f.t.Helper()
	gap := f.firstDecision.Sub(f.stopAt)
	f.t.Logf("failover gap: primary gone → standby promoted (pg_ctl promote -w returned) %s; → first order decided on the new primary %s (%s after the promotion returned)",
		f.promotedIn.Round(time.Millisecond), gap.Round(time.Millisecond), (gap - f.promotedIn).Round(time.Millisecond))
}

// firstDecisionSince polls the new primary until an order decided after
// since is there, and returns its processed_at.
func firstDecisionSince(t *testing.T, url string, since time.Time) time.Time {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var first *time.Time
		if err := c.QueryRow(ctx, "SELECT min(processed_at) FROM orders WHERE processed_at >= $1", since).Scan(&first); err != nil {
			t.Fatal(err)
		}
		if first != nil {
			return *first
		}
		if time.Now().After(deadline) {
			t.Fatal("no order decided on the new primary within 30s of the promotion")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// processedTotal sums the worker's shop_orders_processed_total series.
func processedTotal(t *testing.T, w *proc) float64 {
	t.Helper()
	code, body := w.get("/metrics")
	if code != 200 {
		t.Fatalf("worker /metrics: %d", code)
	}
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "shop_orders_processed_total{"); ok {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", sc.Text(), err)
			}
			sum += v
		}
	}
	return sum
}
