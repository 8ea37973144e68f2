package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/benchreport"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// BenchmarkBacklogDrain measures how long 1, 2 and 4 order-worker processes
// take to decide a backlog of 50,000 orders (the scaling curve KEDA relies
// on), on a standalone Redis and on a 3-master Redis Cluster with the
// stream in 8 partitions, and what each drain cost: CPU per 1,000 orders
// of the workers, PostgreSQL and Redis, orders per transaction, and where
// the database sessions spent their time (row locks, waiting for the
// worker). docs/capacity.md reads its model from these rows. It also
// measures the worker's footprint: start-to-ready, RSS idle and under
// load, binary size. Run with `make bench`.
func BenchmarkBacklogDrain(b *testing.B) {
	orders := benchreport.Pick(50_000, 2_000)
	footprint(b)
	standalone := map[int]drainRun{}
	for _, n := range benchreport.Pick([]int{1, 2, 4}, []int{1, 2}) {
		s := newShop(b, schematest.MigratedDatabase(b), testenv.Redis(b), drainCatalogue()...)
		s.addUsers(drainUsers)
		d := s.drain(orders, n)
		standalone[n] = d
		recordDrain(b, d, standalone[1], fmt.Sprintf("%d-order backlog", orders), "")
		if n == 2 {
			record(b, benchreport.Row{Section: "footprint", Name: "order-worker RSS under load (peak)", Value: d.peakRSS, Unit: "MB"})
		}
	}
	cluster := testenv.NewRedisCluster(b, 3)
	var one drainRun
	for _, n := range []int{1, 2} {
		s := newClusterShop(b, schematest.MigratedDatabase(b), cluster, 8, drainCatalogue()...)
		flushCluster(b, s)
		s.addUsers(drainUsers)
		d := s.drain(orders, n)
		if n == 1 {
			one = d
		}
		recordDrain(b, d, one, fmt.Sprintf("%d-order backlog on Redis Cluster (3 masters, 8 partitions)", orders), "cluster, ")
		record(b, benchreport.Row{Section: "drain", Name: fmt.Sprintf("  cluster vs standalone orders/s, %d worker(s)", n),
			Value: d.rate(), Unit: "orders/s", Baseline: standalone[n].rate(), Against: "standalone Redis"})
	}
}

// drainUsers are added to the shop's five customers so that the orders
// spread over all 8 partitions of the cluster (a user's orders stay in one).
const drainUsers = 59

// drainCatalogue is 1,000 products with ample stock: every order is confirmed.
func drainCatalogue() []int {
	stocks := make([]int, 1000)
	for i := range stocks {
		stocks[i] = 1_000_000
	}
	return stocks
}

// flushCluster empties the cluster between drains (each drain has its own
// database, but the stream keys are the same).
func flushCluster(b *testing.B, s *shop) {
	c := s.rdb.(*redis.ClusterClient)
	if err := c.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error {
		return m.FlushAll(ctx).Err()
	}); err != nil {
		b.Fatal(err)
	}
}

// recordDrain records one drain's rows; one is the drain by one worker on
// the same Redis (the speed-up's base), label prefixes the per-run rows.
func recordDrain(b *testing.B, d, one drainRun, backlog, label string) {
	b.Helper()
	row := benchreport.Row{Section: "drain", Name: fmt.Sprintf("%s, %d worker process(es)", backlog, d.workers), Value: d.took.Seconds(), Unit: "s"}
	if d.workers > 1 {
		row.Name += fmt.Sprintf(" (speed-up %.2fx)", one.took.Seconds()/d.took.Seconds())
	}
	record(b, row)
	run := func(what string, v float64, unit string) {
		record(b, benchreport.Row{Section: "drain", Name: fmt.Sprintf("  %s%d worker(s): %s", label, d.workers, what), Value: v, Unit: unit})
	}
	if label == "" {
		record(b, benchreport.Row{Section: "drain", Name: fmt.Sprintf("  orders/s with %d worker(s)", d.workers), Value: d.rate(), Unit: "orders/s"})
	}
	run("order-worker CPU per 1,000 orders", d.per1k(d.workerCPU), "CPU s")
	if d.cpuKnown {
		run("PostgreSQL CPU per 1,000 orders", d.per1k(d.postgresCPU), "CPU s")
		run("Redis CPU per 1,000 orders", d.per1k(d.redisCPU), "CPU s")
	}
	run("machine CPU busy (any process)", d.busy, "%")
	run("orders per order transaction", d.perTransaction, "orders")
	run("database transactions per 1,000 orders", d.per1k(d.transactions), "tx")
	run("PostgreSQL WAL per order", d.wal/float64(d.orders)/1024, "KiB")
	run("session time waiting for a row lock", d.waits.share(d.waits.rowLock), "%")
	run("session time waiting for the NOTIFY commit lock", d.waits.share(d.waits.notifyLock), "%")
	run("session time in other waits (WAL flush, LWLocks, IO)", d.waits.share(d.waits.otherWait), "%")
	run("session time idle in transaction (waiting for the worker)", d.waits.share(d.waits.inTransaction), "%")
	run("entries claimed from another worker", d.claimed, "entries")
}

// footprint starts one worker on an empty stream: start-to-ready, idle RSS
// and the size of the binary the tests built (same flags as make build).
func footprint(b *testing.B) {
	s := newShop(b, schematest.MigratedDatabase(b), testenv.Redis(b), 1)
	workerBinary(b) // build first: only the start is timed
	w := s.startWorker("WORKER_TELEMETRY_LOG_LEVEL=warn")
	defer w.kill()
	ready, err := benchreport.WaitReady(w.admin+"/readyz", 20*time.Second)
	if err != nil {
		b.Fatalf("%v\n%s", err, tail(w.out.String(), 2000))
	}
	time.Sleep(2 * time.Second) // let start-up garbage be collected
	rss, err := benchreport.RSS(w.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	anon, _ := benchreport.Anon(w.cmd.Process.Pid)
	size, err := benchreport.FileMB(workerBinary(b))
	if err != nil {
		b.Fatal(err)
	}
	record(b, benchreport.Row{Section: "footprint", Name: "order-worker start-to-ready", Value: ready.Seconds(), Unit: "s", Target: "<= 1"})
	record(b, benchreport.Row{Section: "footprint", Name: "order-worker RSS idle", Value: rss, Unit: "MB", Target: "<= 25"})
	record(b, benchreport.Row{Section: "footprint", Name: "  of which private (heap, stacks, runtime)", Value: anon, Unit: "MB"})
	record(b, benchreport.Row{Section: "footprint", Name: "order-worker binary", Value: size, Unit: "MB"})
}

// backlog puts n single-line orders over the catalogue on the stream, in
// pipelines of 1,000, before any worker runs.
func (s *shop) backlog(n int) {
	s.t.Helper()
	ids := make([]int64, 0, len(s.initial))
	for id := range s.initial {
		ids = append(ids, id)
	}
	r := rand.New(rand.NewPCG(7, 8))
	for done := 0; done < n; {
		pipe := s.rdb.Pipeline()
		for i := 0; i < 1000 && done < n; i, done = i+1, done+1 {
			m := s.randomOrder(r)
			m.Items = m.Items[:1]
			m.Items[0].ProductID = ids[r.IntN(len(ids))]
			pipe.XAdd(context.Background(), &redis.XAddArgs{Stream: s.keys.Stream(s.keys.OfUser(m.UserID)), Values: m.Encode()})
		}
		if _, err := pipe.Exec(context.Background()); err != nil {
			s.t.Fatal(err)
		}
	}
}

func record(b *testing.B, r benchreport.Row) {
	b.Helper()
	if err := benchreport.Record(r); err != nil {
		b.Fatal(err)
	}
}
