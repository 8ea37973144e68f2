package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func workerBinary(t testing.TB) string { return testenv.Binary(t, "../../cmd/order-worker") }

// shop is one test's database, Redis and catalogue.
type shop struct {
	t        testing.TB
	dbURL    string
	redisURL string
	db       *pgxpool.Pool
	rdb      redis.UniversalClient
	keys     orderstream.Keyspace
	env      []string // the workers' Redis settings besides the URL
	users    []int64
	initial  map[int64]int
}

func newShop(t testing.TB, dbURL, redisURL string, stocks ...int) *shop {
	t.Helper()
	opts, _ := redis.ParseURL(redisURL)
	opts.MaxRetries = -1
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return newShopOn(t, dbURL, redisURL, rdb, orderstream.Single, nil, stocks...)
}

// newClusterShop is a shop whose workers use Redis Cluster c with the
// order stream in partitions streams.
func newClusterShop(t testing.TB, dbURL string, c *testenv.RedisCluster, partitions int, stocks ...int) *shop {
	t.Helper()
	env := []string{"WORKER_REDIS_MODE=cluster", fmt.Sprintf("WORKER_REDIS_PARTITIONS=%d", partitions)}
	return newShopOn(t, dbURL, c.URL(), c.Client(t), orderstream.NewKeyspace(partitions, true), env, stocks...)
}

func newShopOn(t testing.TB, dbURL, redisURL string, rdb redis.UniversalClient, keys orderstream.Keyspace, env []string, stocks ...int) *shop {
	t.Helper()
	ctx := context.Background()
	db, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	s := &shop{t: t, dbURL: dbURL, redisURL: redisURL, db: db, rdb: rdb, keys: keys, env: env, initial: map[int64]int{}}
	for i := range 5 {
		var id int64
		if err := db.QueryRow(ctx, `INSERT INTO users (email, password_hash, role) VALUES ($1, 'x', 'customer') RETURNING id`,
			fmt.Sprintf("u%d@x.io", i)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		s.users = append(s.users, id)
	}
	for i, st := range stocks {
		var id int64
		if err := db.QueryRow(ctx, `INSERT INTO products (sku, name, price_minor, currency, stock) VALUES ($1, $1, 100, 'EUR', $2) RETURNING id`,
			fmt.Sprintf("P-%d", i), st).Scan(&id); err != nil {
			t.Fatal(err)
		}
		s.initial[id] = st
	}
	return s
}

// randomOrder makes 1-3 lines of quantity 1-3 over the catalogue.
func (s *shop) randomOrder(r *rand.Rand) orderstream.Message {
	ids := make([]int64, 0, len(s.initial))
	for id := range s.initial {
		ids = append(ids, id)
	}
	r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	n := 1 + r.IntN(min(3, len(ids)))
	items := make([]orderstream.Item, n)
	for i := range n {
		items[i] = orderstream.Item{ProductID: ids[i], Quantity: 1 + r.IntN(3)}
	}
	uid := s.users[r.IntN(len(s.users))]
	return orderstream.Message{OrderID: orderstream.NewOrderID(uid), UserID: uid, Items: items, AcceptedAt: time.Now().UTC()}
}

// enqueue adds orders as the api does, from several goroutines; it returns
// the ids it got acknowledged (only those were "answered 202").
func (s *shop) enqueue(n, goroutines int, pace time.Duration) []uuid.UUID {
	s.t.Helper()
	var mu sync.Mutex
	var ids []uuid.UUID
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 42))
			for i := g; i < n; i += goroutines {
				m := s.randomOrder(r)
				if err := s.add(m.UserID, m.Encode()); err != nil {
					continue // not acknowledged: the api would have answered 503
				}
				mu.Lock()
				ids = append(ids, m.OrderID)
				mu.Unlock()
				if pace > 0 {
					time.Sleep(pace)
				}
			}
		}()
	}
	wg.Wait()
	return ids
}

// add puts an entry on the stream of the user's partition.
func (s *shop) add(uid int64, fields map[string]any) error {
	return s.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: s.keys.Stream(s.keys.OfUser(uid)), Values: fields}).Err()
}

// pending counts entries delivered but not acknowledged, in every partition.
func (s *shop) pending() (int64, error) {
	var n int64
	for _, p := range s.keys.All() {
		x, err := s.rdb.XPending(context.Background(), s.keys.Stream(p), orderstream.Group).Result()
		if err != nil {
			return 0, err
		}
		n += x.Count
	}
	return n, nil
}

func (s *shop) decided() int {
	var n int
	if err := s.db.QueryRow(context.Background(), "SELECT count(*) FROM orders").Scan(&n); err != nil {
		return -1
	}
	return n
}

// waitDecided polls until every id is decided.
func (s *shop) waitDecided(ids []uuid.UUID, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var n int
		err := s.db.QueryRow(context.Background(), "SELECT count(*) FROM orders WHERE id = ANY($1)", ids).Scan(&n)
		if err == nil && n == len(ids) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("after %s only %d of %d accepted orders are decided (err %v)", timeout, n, len(ids), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkInvariants: stock never negative and, for every product, initial =
// current + sum of confirmed quantities; no order decided that was not sent.
func (s *shop) checkInvariants(sent []uuid.UUID) (confirmed, failed int) {
	s.t.Helper()
	ctx := context.Background()
	for id, initial := range s.initial {
		var cur, sold int
		if err := s.db.QueryRow(ctx, `SELECT p.stock, coalesce((SELECT sum(i.quantity) FROM order_items i JOIN orders o ON o.id = i.order_id
			WHERE o.status = 'confirmed' AND i.product_id = p.id), 0) FROM products p WHERE p.id = $1`, id).Scan(&cur, &sold); err != nil {
			s.t.Fatal(err)
		}
		if cur < 0 || initial != cur+sold {
			s.t.Fatalf("product %d: initial %d != current %d + confirmed %d", id, initial, cur, sold)
		}
	}
	if err := s.db.QueryRow(ctx, "SELECT count(*) FILTER (WHERE status = 'confirmed'), count(*) FILTER (WHERE status = 'failed') FROM orders").Scan(&confirmed, &failed); err != nil {
		s.t.Fatal(err)
	}
	if confirmed+failed != len(sent) {
		s.t.Fatalf("%d orders decided, %d sent", confirmed+failed, len(sent))
	}
	return confirmed, failed
}

// proc is a running order-worker process.
type proc struct {
	cmd    *exec.Cmd
	admin  string
	out    *testenv.LogBuffer
	exited bool
}

func (s *shop) startWorker(extra ...string) *proc {
	s.t.Helper()
	port := testenv.FreePort(s.t)
	cmd := exec.Command(workerBinary(s.t))
	cmd.Env = append(os.Environ(), "WORKER_DATABASE_URL="+s.dbURL, "WORKER_REDIS_URL="+s.redisURL,
		fmt.Sprintf("WORKER_HTTP_ADDR=127.0.0.1:%d", port), "WORKER_HTTP_DRAIN_DELAY=0s",
		"WORKER_CONSUMER_BLOCK=200ms", "WORKER_CONSUMER_CLAIM_IDLE=2s", "WORKER_CONSUMER_CLAIM_INTERVAL=500ms",
		"WORKER_RETRY_INITIAL=50ms", "WORKER_RETRY_MAX=500ms", "WORKER_NOTIFIER_KIND=none",
		"WORKER_REDIS_DIAL_TIMEOUT=500ms", "WORKER_DATABASE_CONNECT_TIMEOUT=1s")
	cmd.Env = append(append(cmd.Env, s.env...), extra...)
	p := &proc{cmd: cmd, admin: fmt.Sprintf("http://127.0.0.1:%d", port), out: &testenv.LogBuffer{}}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		if !p.exited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if s.t.Failed() {
			s.t.Logf("worker %d output (tail):\n%s", cmd.Process.Pid, tail(p.out.String(), 3000))
		}
	})
	return p
}

func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.exited = true
}

func (p *proc) get(path string) (int, string) {
	res, err := http.Get(p.admin + path)
	if err != nil {
		return 0, ""
	}
	defer res.Body.Close()
	b := make([]byte, 1<<20)
	n, _ := res.Body.Read(b)
	total := n
	for n > 0 {
		n, _ = res.Body.Read(b[total:])
		total += n
	}
	return res.StatusCode, string(b[:total])
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
