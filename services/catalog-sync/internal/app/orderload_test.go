package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goshop-platform/shop/services/kernel/catalogevent"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// The shop under order load: the real api and order-worker processes on
// the test's database, deciding orders that take stock, each decision a
// catalogue event that catalog-sync must relay.

// shop is a running api with order-workers behind it.
type shop struct {
	base, token string
	products    []int64
}

// startShop seeds n products with plenty of stock (their create events go
// into the outbox like any product write), then starts the api and
// `workers` order-worker processes on the same database and a fresh Redis.
func startShop(t testing.TB, e *env, n, workers int) *shop {
	t.Helper()
	redisURL := testenv.Redis(t)
	s := &shop{products: e.seedProducts(t, n)}
	s.base, s.token = startAPI(t, e.dbURL, redisURL, "API_RATE_LIMIT_ORDERS_PER_USER=100000000", "API_TELEMETRY_LOG_LEVEL=warn")
	bin := testenv.Binary(t, "../../../order-worker/cmd/order-worker")
	for i := range workers {
		addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
		w := testenv.StartService(t, fmt.Sprintf("order-worker-%d", i), bin, []string{"WORKER_DATABASE_URL=" + e.dbURL,
			"WORKER_REDIS_URL=" + redisURL, "WORKER_HTTP_ADDR=" + addr, "WORKER_NOTIFIER_KIND=none", "WORKER_TELEMETRY_LOG_LEVEL=warn"})
		w.WaitHTTP(t, "http://"+addr+"/readyz", 30*time.Second)
	}
	return s
}

// seedProducts creates n products with a million units each and their
// outbox events, in one transaction.
func (e *env) seedProducts(t testing.TB, n int) []int64 {
	t.Helper()
	var ids []int64
	err := pgx.BeginFunc(context.Background(), e.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `INSERT INTO products (sku, name, description, price_minor, currency, stock, image_url)
			SELECT 'LOAD-'||g, 'Load product '||g, 'Seeded', 100 + g, 'EUR', 1000000, 'https://img.example/'||g||'.png'
			FROM generate_series(1, $1) g RETURNING `+catalogevent.Columns, n)
		if err != nil {
			return err
		}
		ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalogevent.Product, error) { return catalogevent.Scan(r) })
		if err != nil {
			return err
		}
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		return catalogevent.EnqueueAll(context.Background(), tx, catalogevent.TypeUpserted, ps, make([]string, len(ps)))
	})
	if err != nil {
		t.Fatalf("seed %d products: %v", n, err)
	}
	return ids
}

// order places one order of 1-3 lines (quantity 1, distinct products).
func (s *shop) order(client *http.Client, rng *rand.Rand) error {
	n := 1 + rng.IntN(3)
	first := rng.IntN(len(s.products))
	lines := make([]int64, n)
	for i := range lines {
		lines[i] = s.products[(first+i*7)%len(s.products)]
	}
	_, err := s.place(client, lines...)
	return err
}

// place orders one unit of each product and returns the order id.
func (s *shop) place(client *http.Client, products ...int64) (string, error) {
	items := make([]map[string]int64, len(products))
	for i, id := range products {
		items[i] = map[string]int64{"product_id": id, "quantity": 1}
	}
	body, _ := json.Marshal(map[string]any{"items": items})
	req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/orders", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	var accepted struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(b.Bytes(), &accepted) != nil {
		return "", fmt.Errorf("POST /api/v1/orders: %d %s", resp.StatusCode, b.String())
	}
	return accepted.ID, nil
}

// status reads an order's status ("pending", "confirmed", "failed").
func (s *shop) status(client *http.Client, id string) string {
	req, _ := http.NewRequest(http.MethodGet, s.base+"/api/v1/orders/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := client.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var o struct {
		Status string `json:"status"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&o)
	return o.Status
}

// load places orders: `total` of them as fast as `clients` connections
// go when perSecond is 0, otherwise at perSecond for d. It calls between
// (if not nil) once, when half the orders are placed, and returns how
// many were accepted.
func (s *shop) load(t testing.TB, clients, total, perSecond int, d time.Duration, between func()) int {
	t.Helper()
	if perSecond > 0 {
		total = int(float64(perSecond) * d.Seconds())
	}
	var next, accepted atomic.Int64
	var tick <-chan time.Time
	if perSecond > 0 {
		tk := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tk.Stop()
		tick = tk.C
	}
	var once sync.Once
	var wg sync.WaitGroup
	var errOnce sync.Once
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 30 * time.Second}
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for {
				i := next.Add(1)
				if i > int64(total) {
					return
				}
				if tick != nil {
					<-tick
				}
				if i == int64(total/2) && between != nil {
					once.Do(between)
				}
				if err := s.order(client, rng); err != nil {
					errOnce.Do(func() { t.Errorf("order %d: %v", i, err) })
					continue
				}
				accepted.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(accepted.Load())
}

// waitDecided polls until n orders are stored (confirmed or failed).
func (e *env) waitDecided(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	var got int
	waitFor(t, timeout, fmt.Sprintf("%d orders decided", n), func() bool {
		_ = e.db.QueryRow(context.Background(), `SELECT count(*) FROM orders`).Scan(&got)
		return got >= n
	})
}

// requestCounter is a reverse proxy in front of Directus that counts the
// requests catalog-sync sends, by method, on the products collection
// (REST API or the goshop-catalog extension).
type requestCounter struct {
	URL string
	mu  sync.Mutex
	n   map[string]int
}

func countRequests(t testing.TB, target string) *requestCounter {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &requestCounter{n: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/items/products") || strings.HasPrefix(r.URL.Path, "/goshop-catalog") {
			c.mu.Lock()
			c.n[r.Method]++
			c.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

// writes is the number of POST, PATCH and DELETE requests on products.
func (c *requestCounter) writes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[http.MethodPost] + c.n[http.MethodPatch] + c.n[http.MethodDelete]
}

// total is the number of requests of any method on products.
func (c *requestCounter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

func (c *requestCounter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.n)
}
