package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/benchreport"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// The transaction of one order alone (processor.Process) as one pgbench script: check for
// an earlier decision, lock the product row, take the stock with the
// conditional UPDATE, write the outbox event, the order and its line.
const pgbenchScript = `\set pid random(1, :products)
BEGIN;
SELECT status FROM orders WHERE id = '6f1c1c3e-0000-4000-8000-000000000000';
SELECT id, price_minor, currency, active, stock FROM products WHERE id = ANY(ARRAY[:pid]::bigint[]) ORDER BY id FOR UPDATE;
UPDATE products SET stock = stock - 1, version = version + 1, updated_at = now() WHERE id = :pid AND stock - 1 >= 0 RETURNING id, sku, name, description, price_minor, currency, stock, image_url, active, version, updated_at;
INSERT INTO catalog_outbox (product_id, product_version, event_type, schema_version, payload, traceparent) SELECT id, version, 'product.upserted', 1, '{}'::jsonb, '' FROM products WHERE id = :pid;
WITH o AS (INSERT INTO orders (id, user_id, status, total_minor, currency, accepted_at, processed_at) VALUES (gen_random_uuid(), 1, 'confirmed', 100, 'EUR', now(), now()) RETURNING id)
INSERT INTO order_items (order_id, line, product_id, quantity, unit_price_minor, currency) SELECT id, 0, :pid, 1, 100, 'EUR' FROM o;
COMMIT;
`

const benchConcurrency = 8

// BenchmarkWorkerVsPgbench measures confirmed orders/s of one order-worker
// process (its defaults: 4 transactions, group commit) draining a backlog,
// next to pgbench running one order per transaction with 8 clients on the
// same server in the same run,
// for a spread catalogue and for one hot product. Run with `make bench`.
func BenchmarkWorkerVsPgbench(b *testing.B) {
	orders := benchreport.Pick(20000, 400)
	for _, sc := range []struct {
		name     string
		products int
		target   string
	}{{"spread-1000-products", 1000, ">= 1.0"}, {"hot-1-product", 1, ">= 2.0"}} {
		b.Run(sc.name, func(b *testing.B) {
			stocks := make([]int, sc.products)
			for i := range stocks {
				stocks[i] = 1_000_000
			}
			s := newShop(b, schematest.MigratedDatabase(b), testenv.Redis(b), stocks...)
			tps := pgbench(b, s, sc.products, orders)

			// A fresh catalogue state for the worker run is not needed: stocks are ample.
			// The worker's defaults: 64 orders in flight, 4 transactions of up to 32 orders.
			w := s.startWorker("WORKER_CONSUMER_BATCH_SIZE=64", "WORKER_TELEMETRY_LOG_LEVEL=warn")
			eventually(b, 20*time.Second, "worker ready", func() bool { c, _ := w.get("/readyz"); return c == 200 })
			before := s.decided()
			ids := make([]uuid.UUID, orders)
			r := rand.New(rand.NewPCG(1, 2))
			productIDs := make([]int64, 0, len(s.initial))
			for id := range s.initial {
				productIDs = append(productIDs, id)
			}
			b.ResetTimer()
			start := time.Now()
			pipe := s.rdb.Pipeline()
			for i := range ids {
				m := orderstream.Message{OrderID: uuid.New(), UserID: s.users[0], AcceptedAt: time.Now().UTC(),
					Items: []orderstream.Item{{ProductID: productIDs[r.IntN(len(productIDs))], Quantity: 1}}}
				ids[i] = m.OrderID
				pipe.XAdd(context.Background(), &redis.XAddArgs{Stream: orderstream.Stream, Values: m.Encode()})
			}
			if _, err := pipe.Exec(context.Background()); err != nil {
				b.Fatal(err)
			}
			for s.decided()-before < orders {
				time.Sleep(10 * time.Millisecond)
			}
			took := time.Since(start)
			b.StopTimer()
			workerRate := float64(orders) / took.Seconds()
			b.ReportMetric(workerRate, "worker-orders/s")
			b.ReportMetric(tps, "pgbench-tx/s")
			b.ReportMetric(workerRate/tps, "ratio")
			record(b, benchreport.Row{Section: "worker", Name: fmt.Sprintf("confirmed orders/s, %s (pgbench: %d clients)", sc.name, benchConcurrency),
				Value: workerRate, Unit: "orders/s", Baseline: tps, Against: "pgbench, same SQL", Target: sc.target})
		})
	}
}

// pgbench runs the order transaction n times over 8 clients and returns tx/s.
func pgbench(b *testing.B, s *shop, products, n int) float64 {
	b.Helper()
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
		if len(matches) == 0 {
			b.Fatal("pgbench not found: apt-get install -y postgresql-contrib (or postgresql)")
		}
		bin = matches[len(matches)-1]
	}
	script := filepath.Join(b.TempDir(), "order.sql")
	if err := os.WriteFile(script, []byte(pgbenchScript), 0o644); err != nil {
		b.Fatal(err)
	}
	// The script's product ids are 1..products; the shop's catalogue was inserted in that order.
	cmd := exec.Command(bin, "-n", "-M", "prepared", "-c", strconv.Itoa(benchConcurrency), "-j", "2", "-t", strconv.Itoa(n/benchConcurrency),
		"-D", "products="+strconv.Itoa(products), "-f", script, s.dbURL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("pgbench: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`).FindSubmatch(out)
	if m == nil {
		b.Fatalf("pgbench output without tps:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	return tps
}
