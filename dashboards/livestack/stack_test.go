package livestack_test

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// stack is the running shop with its observability.
type stack struct {
	api, worker, sync *service
	prometheus        string // base URL
	promStart         time.Time
	jaeger            *testenv.JaegerServer
	directus          *testenv.DirectusServer
	directusURL       string
	redisURL          string
	workerConfig      string // the worker's config document (hot reloaded)
}

// The "done when": on a live stack after a short burst, every
// dashboard panel query returns data, the alert rules evaluate cleanly, and
// Jaeger holds an order trace across api → Redis stream → order-worker and a
// product-write trace reaching catalog-sync's Directus call.
func TestDashboardsAlertsAndTracesOnALiveStack(t *testing.T) {
	began := time.Now()
	s := startStack(t)
	t.Logf("stack up in %s", time.Since(began).Round(100*time.Millisecond))

	l := driveLoad(t, s)
	t.Logf("load done in %s: %d orders (%d confirmed, %d failed), 1 refused at intake, 1 poison entry, %d product writes",
		time.Since(began).Round(100*time.Millisecond), l.orders, l.confirmed, l.failed, l.productWrites)
	waitScraped(t, s, l)

	t.Run("every dashboard panel query returns data", func(t *testing.T) { checkPanels(t, s) })
	t.Run("alert rules evaluate on the live metrics", func(t *testing.T) { checkRules(t, s) })
	t.Run("order trace spans api and order-worker", func(t *testing.T) { checkOrderTrace(t, s, l.orderTraceID) })
	t.Run("order trace has Postgres and Redis client spans", func(t *testing.T) { checkClientSpans(t, s, l.orderTraceID) })
	t.Run("product write trace reaches catalog-sync's Directus call", func(t *testing.T) { checkProductTrace(t, s, l.productTraceID) })
	t.Run("alerts fire on injected faults and clear after the console's actions", func(t *testing.T) { checkIncidents(t, s) })
	t.Run("queries with an `or vector(0)` fallback name real metrics", func(t *testing.T) { checkFallbacks(t, s) })
	t.Logf("total %s", time.Since(began).Round(100*time.Millisecond))
}

func startStack(t *testing.T) *stack {
	t.Helper()
	if _, err := exec.LookPath("prometheus"); err != nil {
		t.Fatal("prometheus not found. Fix: sudo apt-get install -y --no-install-recommends prometheus")
	}
	bins := buildServices(t)
	s := &stack{jaeger: testenv.Jaeger(t), redisURL: testenv.Redis(t)}
	d := testenv.Directus(t)
	s.directus, s.directusURL = d, d.URL
	s.workerConfig = filepath.Join(t.TempDir(), "order-worker.yaml")
	setWorkerSpec(t, s, "{}")
	db := schematest.MigratedDatabase(t)

	keys := filepath.Join(t.TempDir(), "keys")
	if out, err := exec.Command(bins["api"], "gen-key", "--dir", keys, "--kid", "k1").CombinedOutput(); err != nil {
		t.Fatalf("api gen-key: %v\n%s", err, out)
	}
	// The SDK's batch span processor exports every 5 s by default.
	tracing := "OTEL_BSP_SCHEDULE_DELAY=200"
	s.api = startService(t, "api", bins["api"], "API", tracing,
		"API_TELEMETRY_OTLP_ENDPOINT="+s.jaeger.OTLPEndpoint,
		"API_DATABASE_URL="+db, "API_REDIS_URL="+s.redisURL,
		"API_AUTH_KEYS_DIR="+keys, "API_AUTH_ACTIVE_KEY_ID=k1",
		"API_AUTH_PASSWORD_MEMORY_KB=1024", "API_AUTH_PASSWORD_ITERATIONS=1",
		"API_AUTH_BOOTSTRAP_ADMIN_EMAIL="+adminEmail, "API_AUTH_BOOTSTRAP_ADMIN_PASSWORD="+adminPassword,
		"API_RATE_LIMIT_REGISTER_PER_IP=1000", "API_RATE_LIMIT_ORDERS_PER_USER=100000")
	s.worker = startService(t, "order-worker", bins["order-worker"], "WORKER", tracing,
		"WORKER_TELEMETRY_OTLP_ENDPOINT="+s.jaeger.OTLPEndpoint,
		"WORKER_CONFIG="+s.workerConfig, "WORKER_DATABASE_URL="+db, "WORKER_REDIS_URL="+s.redisURL,
		"WORKER_CONSUMER_BLOCK=200ms", "WORKER_NOTIFIER_KIND=none", "WORKER_CONSUMER_NAME=livestack-1")
	s.sync = startService(t, "catalog-sync", bins["catalog-sync"], "SYNC", tracing,
		"SYNC_TELEMETRY_OTLP_ENDPOINT="+s.jaeger.OTLPEndpoint,
		"SYNC_DATABASE_URL="+db, "SYNC_DIRECTUS_URL="+d.URL,
		"SYNC_DIRECTUS_TOKEN=livestack-sync-token", "SYNC_DIRECTUS_ADMIN_TOKEN="+d.AdminToken,
		"SYNC_RELAY_POLL_INTERVAL=200ms", "SYNC_RELAY_RETRY_INITIAL=50ms")

	rules, err := filepath.Abs("../alerts/shop.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	s.promStart = time.Now()
	s.prometheus = testenv.PrometheusRules(t, []string{rules},
		testenv.ScrapeTarget{Job: "api", Addr: s.api.addr},
		testenv.ScrapeTarget{Job: "order-worker", Addr: s.worker.addr},
		testenv.ScrapeTarget{Job: "catalog-sync", Addr: s.sync.addr})
	return s
}
