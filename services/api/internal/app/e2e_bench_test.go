package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/benchreport"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// BenchmarkEndToEnd offers 1,000 orders/s to a real api process with two
// order-worker processes behind it and measures, per order, the time from
// the client receiving 202 to the final status being published on the
// order_status channel (what a live-status client waits for, minus the SSE
// hop). Run with `make bench`.
func BenchmarkEndToEnd(b *testing.B) {
	dbURL, redisURL := schematest.MigratedDatabase(b), testenv.Redis(b)
	products := seedCatalogue(b, dbURL, 1000)
	keys := b.TempDir()
	writeKey(b, keys, "k1")
	api := startProc(b, processEnv(dbURL, redisURL, keys, "API_TELEMETRY_LOG_LEVEL=warn",
		"API_RATE_LIMIT_ORDERS_PER_USER=100000000"))
	for range 2 {
		startWorkerProc(b, dbURL, redisURL)
	}
	expect(b, call(b, api.base, req{method: "POST", path: "/api/v1/auth/register",
		body: map[string]string{"email": "e2e@example.com", "password": "bench-password"}}), 201)
	var s session
	expect(b, call(b, api.base, req{method: "POST", path: "/api/v1/auth/login",
		body: map[string]string{"email": "e2e@example.com", "password": "bench-password"}}), 200).json(b, &s)

	decided := watchDecisions(b, redisURL)
	rate, dur := benchreport.Pick(1000, 200), benchreport.Pick(10*time.Second, 2*time.Second)
	accepted := map[uuid.UUID]time.Time{}
	var m vegeta.Metrics
	b.ResetTimer()
	atk := vegeta.NewAttacker(vegeta.Workers(32), vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second))
	for res := range atk.Attack(orderTargeter(api.base, s.AccessToken, products), vegeta.Rate{Freq: rate, Per: time.Second}, dur, "e2e") {
		m.Add(res)
		var body struct {
			ID uuid.UUID `json:"id"`
		}
		if res.Code == 202 && json.Unmarshal(res.Body, &body) == nil {
			accepted[body.ID] = res.Timestamp.Add(res.Latency)
		}
	}
	m.Close()
	if m.Success < 1 {
		b.Logf("intake answers by status %v; errors %v", m.StatusCodes, m.Errors)
	}
	lat := decided.wait(b, accepted, 60*time.Second)
	b.StopTimer()
	slices.Sort(lat)
	pct := func(q float64) float64 { return ms(lat[int(q*float64(len(lat)-1))]) }
	name := fmt.Sprintf("202 → final status at %d orders/s offered, 2 workers", rate)
	record(b, benchreport.Row{Section: "end-to-end", Name: name + " p50", Value: pct(0.50), Unit: "ms"})
	record(b, benchreport.Row{Section: "end-to-end", Name: name + " p99", Value: pct(0.99), Unit: "ms", Target: "<= 100"})
	record(b, benchreport.Row{Section: "end-to-end", Name: fmt.Sprintf("intake p99 during that run (%d accepted, success %.3f)", len(accepted), m.Success),
		Value: ms(m.Latencies.P99), Unit: "ms"})
}

// orderTargeter posts 1-3 lines of quantity 1 on distinct random products.
func orderTargeter(base, token string, products []int64) vegeta.Targeter {
	hdr := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + token}}
	r := rand.New(rand.NewPCG(3, 4))
	var mu sync.Mutex
	return func(t *vegeta.Target) error {
		mu.Lock()
		n := 1 + r.IntN(3)
		items := make([]map[string]int64, n)
		first := r.IntN(len(products))
		for i := range items { // distinct products: the api refuses duplicate lines
			items[i] = map[string]int64{"product_id": products[(first+i*7)%len(products)], "quantity": 1}
		}
		mu.Unlock()
		body, _ := json.Marshal(map[string]any{"items": items})
		*t = vegeta.Target{Method: "POST", URL: base + "/api/v1/orders", Body: body, Header: hdr}
		return nil
	}
}

func seedCatalogue(b *testing.B, dbURL string, n int) []int64 {
	db, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(context.Background(), `INSERT INTO products (sku, name, price_minor, currency, stock)
		SELECT 'E2E-' || g, 'Bench product ' || g, 100, 'EUR', 1000000 FROM generate_series(1, $1) g RETURNING id`, n)
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	if rows.Err() != nil || len(ids) != n {
		b.Fatalf("seed catalogue: %v (%d rows)", rows.Err(), len(ids))
	}
	return ids
}

func startWorkerProc(b *testing.B, dbURL, redisURL string) {
	bin := testenv.Binary(b, "../../../order-worker/cmd/order-worker")
	port := testenv.FreePort(b)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "WORKER_DATABASE_URL="+dbURL, "WORKER_REDIS_URL="+redisURL,
		fmt.Sprintf("WORKER_HTTP_ADDR=127.0.0.1:%d", port), "WORKER_NOTIFIER_KIND=none", "WORKER_TELEMETRY_LOG_LEVEL=warn")
	out := &testenv.LogBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if b.Failed() {
			b.Logf("order-worker output:\n%s", out.String())
		}
	})
	eventually(b, 20*time.Second, "order-worker ready", func() bool {
		r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
}

// decisions records when each order's final status was published.
type decisions struct {
	mu   sync.Mutex
	seen map[uuid.UUID]time.Time
}

func watchDecisions(b *testing.B, redisURL string) *decisions {
	opts, _ := redis.ParseURL(redisURL)
	rdb := redis.NewClient(opts)
	sub := rdb.Subscribe(context.Background(), orderstream.StatusChannel)
	if _, err := sub.Receive(context.Background()); err != nil {
		b.Fatal(err)
	}
	d := &decisions{seen: map[uuid.UUID]time.Time{}}
	go func() {
		for msg := range sub.Channel(redis.WithChannelSize(100_000)) {
			now := time.Now()
			if ev, err := orderstream.DecodeStatus(msg.Payload); err == nil {
				d.mu.Lock()
				d.seen[ev.OrderID] = now
				d.mu.Unlock()
			}
		}
	}()
	b.Cleanup(func() { sub.Close(); rdb.Close() })
	return d
}

// wait returns, for every accepted order, the time from 202 to its decision.
func (d *decisions) wait(b *testing.B, accepted map[uuid.UUID]time.Time, timeout time.Duration) []time.Duration {
	deadline := time.Now().Add(timeout)
	for {
		d.mu.Lock()
		var lat []time.Duration
		for id, at := range accepted {
			if t, ok := d.seen[id]; ok {
				lat = append(lat, max(t.Sub(at), 0))
			}
		}
		d.mu.Unlock()
		if len(lat) == len(accepted) && len(lat) > 0 {
			return lat
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d accepted orders decided after %s", len(lat), len(accepted), timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
