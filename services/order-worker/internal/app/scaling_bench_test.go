package app_test

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/platform/benchreport"
)

// drainRun is one backlog decided by a number of worker processes, with
// what each part of the machine spent on it: the figures that tell CPU
// sharing on a small machine from contention in the design.
type drainRun struct {
	orders, workers int
	took            time.Duration
	// CPU seconds (user + system) during the drain.
	workerCPU, postgresCPU, redisCPU float64
	cpuKnown                         bool    // false when a server is not a local process (Docker, TEST_*_URL)
	busy                             float64 // share of all cores busy with anything, others' processes included
	orderTransactions                float64 // order transactions (shop_order_transaction_orders_count)
	perTransaction                   float64 // orders per order transaction
	transactions                     float64 // all transactions of the shop's database (orders, timeline relay, expiry)
	wal                              float64 // bytes of WAL written
	waits                            backendWaits
	claimed                          float64 // entries taken over from another worker (shop_order_entries_claimed_total)
	peakRSS                          float64 // MB, the largest worker
}

// per1k turns a total into "per 1,000 orders".
func (d drainRun) per1k(v float64) float64 { return v / float64(d.orders) * 1000 }

func (d drainRun) rate() float64 { return float64(d.orders) / d.took.Seconds() }

// drain puts a backlog of orders single-line orders on the stream, starts
// workers processes (with the extra environment) and polls until every
// entry is acknowledged.
func (s *shop) drain(orders, workers int, extra ...string) drainRun {
	s.t.Helper()
	s.backlog(orders)
	servers := s.serverProcesses()
	d := drainRun{orders: orders, workers: workers, cpuKnown: servers.known()}
	mon := s.monitor()
	pg0, redis0, xact0, machine0 := servers.postgres.CPU(), servers.redis.CPU(), mon.committed(), benchreport.MachineCPU()
	wal0 := mon.walBytes()

	start := time.Now()
	procs := make([]*proc, workers)
	for i := range procs {
		// The defaults (64 in flight, 4 transactions of up to 32 orders),
		// and the production claim idle time: the harness' 2 s would let
		// workers take over entries that are merely queued behind others.
		procs[i] = s.startWorker(append([]string{"WORKER_TELEMETRY_LOG_LEVEL=warn", "WORKER_CONSUMER_CLAIM_IDLE=30s",
			"WORKER_DATABASE_URL=" + withParam(s.dbURL, "application_name", workerSessions)}, extra...)...)
	}
	for i := 0; !s.drained(orders); i++ {
		if i%5 == 0 {
			d.waits.sample(mon)
			for _, w := range procs {
				if mb, err := benchreport.RSS(w.cmd.Process.Pid); err == nil {
					d.peakRSS = max(d.peakRSS, mb)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.took = time.Since(start)
	d.busy = benchreport.MachineCPU().BusySince(machine0)

	pids := make([]int, len(procs))
	for i, w := range procs {
		pids[i] = w.cmd.Process.Pid
		_, text := w.get("/metrics")
		d.perTransaction += metric(text, "shop_order_transaction_orders_sum")
		d.orderTransactions += metric(text, "shop_order_transaction_orders_count")
		d.claimed += metric(text, "shop_order_entries_claimed_total")
	}
	d.perTransaction /= max(d.orderTransactions, 1)
	d.workerCPU = benchreport.ProcessTree{Roots: pids}.CPU()
	d.postgresCPU, d.redisCPU = servers.postgres.CPU()-pg0, servers.redis.CPU()-redis0
	d.wal = mon.walBytes() - wal0
	for _, w := range procs {
		w.kill()
	}
	// A backend flushes its statistics when it ends: count the
	// transactions once the workers' connections are gone.
	eventually(s.t, 10*time.Second, "the workers' database sessions to end", func() bool { return mon.sessions() == 0 })
	d.transactions = mon.committed() - xact0
	return d
}

// drained reports whether every partition's group has delivered and
// acknowledged everything (cheap Redis reads: a count(*) of the orders
// table every 20 ms would cost PostgreSQL CPU the figures must not
// include), then checks the orders table once.
func (s *shop) drained(orders int) bool {
	ctx := context.Background()
	for _, p := range s.keys.All() {
		groups, err := s.rdb.XInfoGroups(ctx, s.keys.Stream(p)).Result()
		if err != nil {
			return false // the workers have not created the stream yet
		}
		found := false
		for _, g := range groups {
			if g.Name == orderstream.Group {
				found = g.Lag == 0 && g.Pending == 0
			}
		}
		if !found {
			return false
		}
	}
	return s.decided() >= orders
}

// monitor is a session on the server's maintenance database, from which
// the benchmark watches the shop's database without adding transactions
// to its statistics.
type monitor struct {
	conn *pgx.Conn
	db   string // the shop's database
}

func (s *shop) monitor() *monitor {
	s.t.Helper()
	ctx := context.Background()
	m := &monitor{}
	if err := s.db.QueryRow(ctx, "SELECT current_database()").Scan(&m.db); err != nil {
		s.t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, withPath(s.dbURL, "/postgres"))
	if err != nil {
		s.t.Fatalf("drain: connect to the maintenance database: %v", err)
	}
	s.t.Cleanup(func() { conn.Close(ctx) })
	m.conn = conn
	return m
}

// committed is the number of transactions the shop's database committed
// or rolled back so far.
func (m *monitor) committed() float64 {
	var n float64
	if err := m.conn.QueryRow(context.Background(), `SELECT xact_commit + xact_rollback FROM pg_stat_database
		WHERE datname = $1`, m.db).Scan(&n); err != nil {
		panic(fmt.Sprintf("drain: read pg_stat_database: %v", err))
	}
	return n
}

// walBytes is the WAL the whole server has written so far (the shop's
// database is the only busy one during a drain).
func (m *monitor) walBytes() float64 {
	var n float64
	if err := m.conn.QueryRow(context.Background(), `SELECT wal_bytes FROM pg_stat_wal`).Scan(&n); err != nil {
		return 0 // PostgreSQL before 14
	}
	return n
}

// workerSessions is the application_name of the drained workers'
// database sessions, which tells them from the benchmark's own.
const workerSessions = "order-worker"

// sessions counts the workers' database sessions.
func (m *monitor) sessions() int {
	var n int
	if err := m.conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = $1 AND application_name = $2`, m.db, workerSessions).Scan(&n); err != nil {
		return -1
	}
	return n
}

// withParam adds a query parameter to a connection URL.
func withParam(raw, key, value string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// withPath names another database in a connection URL.
func withPath(raw, path string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = path
	return u.String()
}

// backendWaits adds up samples of what the client sessions of the shop's
// database are doing, as pg_stat_activity shows them.
type backendWaits struct {
	samples int
	// onCPU: running a statement (or runnable); rowLock: waiting for
	// another transaction's row lock (wait events transactionid, tuple);
	// notifyLock: the lock PostgreSQL takes at the commit of every
	// transaction that sent a NOTIFY and holds past its WAL flush (wait
	// event Lock:object; the catalogue outbox trigger notifies), which
	// puts those commits in a single file; otherLock: other heavyweight
	// locks (relation extension ...);
	// otherWait: LWLocks, IO; inTransaction: idle in transaction, i.e.
	// holding its locks while waiting for the worker's next statement.
	onCPU, rowLock, notifyLock, otherLock, otherWait, inTransaction float64
}

func (w *backendWaits) sample(m *monitor) {
	var cpu, row, notify, lock, other, idle float64
	err := m.conn.QueryRow(context.Background(), `SELECT
			count(*) FILTER (WHERE state = 'active' AND wait_event_type IS NULL),
			count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'tuple')),
			count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'object'),
			count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event NOT IN ('transactionid', 'tuple', 'object')),
			count(*) FILTER (WHERE state = 'active' AND wait_event_type NOT IN ('Lock', 'Client')),
			count(*) FILTER (WHERE state = 'idle in transaction')
		FROM pg_stat_activity WHERE datname = $1 AND application_name = $2`, m.db, workerSessions).
		Scan(&cpu, &row, &notify, &lock, &other, &idle)
	if err != nil {
		return
	}
	w.samples++
	w.onCPU, w.rowLock, w.notifyLock = w.onCPU+cpu, w.rowLock+row, w.notifyLock+notify
	w.otherLock, w.otherWait, w.inTransaction = w.otherLock+lock, w.otherWait+other, w.inTransaction+idle
}

// share is part's share of all time sessions spent inside a statement or
// a transaction, in percent.
func (w backendWaits) share(part float64) float64 {
	busy := w.onCPU + w.rowLock + w.notifyLock + w.otherLock + w.otherWait + w.inTransaction
	if busy == 0 {
		return 0
	}
	return 100 * part / busy
}

// metric sums the samples of one metric family member (name without
// labels, e.g. shop_order_transaction_orders_sum) in Prometheus text.
func metric(text, name string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		fields := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(fields) > 0 {
			v, _ := strconv.ParseFloat(fields[0], 64)
			sum += v
		}
	}
	return sum
}

// servers are the PostgreSQL and Redis processes of a shop.
type servers struct{ postgres, redis benchreport.ProcessTree }

func (s servers) known() bool { return len(s.postgres.Roots) > 0 && len(s.redis.Roots) > 0 }

// serverProcesses finds the local processes behind the shop's database
// (the postmaster, parent of every backend) and Redis (every node of a
// cluster, replicas included). A server in a container or behind
// TEST_*_URL on another host is not found: its CPU rows are left out.
func (s *shop) serverProcesses() servers {
	ctx := context.Background()
	var out servers
	var backend int
	if err := s.db.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err == nil && benchreport.Command(backend) == "postgres" {
		if parent := benchreport.ParentOf(backend); benchreport.Command(parent) == "postgres" {
			out.postgres.Roots = []int{parent}
		}
	}
	addRedis := func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "server").Result()
		if err != nil {
			return err
		}
		if pid := benchreport.RedisProcess(info); pid != 0 {
			out.redis.Roots = append(out.redis.Roots, pid)
		}
		return nil
	}
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		var nodes []*redis.Client
		_ = c.ForEachShard(ctx, func(_ context.Context, n *redis.Client) error { nodes = append(nodes, n); return nil })
		for _, n := range nodes { // one at a time: addRedis appends
			_ = addRedis(ctx, n)
		}
	case *redis.Client:
		_ = addRedis(ctx, c)
	}
	if !out.known() {
		s.t.Logf("drain: PostgreSQL or Redis is not a local process; CPU rows left out")
	}
	return out
}
