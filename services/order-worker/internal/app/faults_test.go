package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/order-worker/internal/app"
	"github.com/goshop-platform/shop/services/order-worker/internal/workerconfig"
	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// TestInjectedFailuresAreRetriedAndOrdersDecidedOnce: with half of all
// order attempts failed on purpose (spec.faults.failureRatio 0.5), every
// order is still confirmed exactly once — stock taken once, one confirmed
// event, nothing dead-lettered — and the injected failures show in the
// transient-failure counter under dependency="injected". Then a slowdown
// set while the worker runs delays the next order by at least that long.
func TestInjectedFailuresAreRetriedAndOrdersDecidedOnce(t *testing.T) {
	s := newShop(t, schematest.MigratedDatabase(t), testenv.Redis(t), 1000, 1000, 1000)
	spec := workerconfig.Defaults()
	spec.HTTP.Addr, spec.HTTP.DrainDelay = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), 0
	spec.Database.URL, spec.Redis.URL = config.Secret(s.dbURL), config.Secret(s.redisURL)
	spec.Consumer.Block, spec.Notifier.Kind = 100*time.Millisecond, "none"
	spec.Retry.Initial, spec.Retry.Max = 10*time.Millisecond, 50*time.Millisecond
	spec.Faults.FailureRatio = 0.5
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	logs := &testenv.LogBuffer{}
	w, err := app.New(context.Background(), spec, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker did not stop cleanly: %v", err)
		}
		if t.Failed() {
			t.Logf("worker logs (tail):\n%s", tail(logs.String(), 3000))
		}
	}()
	admin := &proc{admin: "http://" + spec.HTTP.Addr}

	sent := s.enqueue(200, 4, 0)
	s.waitDecided(sent, 2*time.Minute)
	confirmed, failed := s.checkInvariants(sent)
	if confirmed != len(sent) || failed != 0 {
		t.Fatalf("%d confirmed, %d failed of %d orders, want all confirmed", confirmed, failed, len(sent))
	}
	var events, orders int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT order_id) FROM order_events WHERE type = 'confirmed'`).
		Scan(&events, &orders); err != nil {
		t.Fatal(err)
	}
	if events != len(sent) || orders != len(sent) {
		t.Fatalf("%d confirmed events for %d orders, want one each for %d", events, orders, len(sent))
	}
	if n, err := s.rdb.XLen(context.Background(), s.keys.DeadLetters(0)).Result(); err != nil || n != 0 {
		t.Fatalf("%d dead letters (err %v), want none", n, err)
	}
	if n, err := s.pending(); err != nil || n != 0 {
		t.Fatalf("%d entries pending (err %v), want none", n, err)
	}
	_, m := admin.get("/metrics")
	injected := sample(t, m, `shop_order_transient_failures_total{dependency="injected"}`)
	if injected < 20 { // about 200 expected at 0.5: one per order on average
		t.Fatalf("%v injected transient failures for %d orders at ratio 0.5", injected, len(sent))
	}
	t.Logf("%v injected transient failures for %d orders, each confirmed once", injected, len(sent))
	if fired := sample(t, m, `shop_fault_injections_total{flag="worker-failure-ratio"}`); fired != injected {
		t.Fatalf("shop_fault_injections_total %v, transient failures counted %v: they must agree", fired, injected)
	}
	if got := sample(t, m, `shop_orders_processed_total{reason="",result="confirmed"}`); got != float64(len(sent)) {
		t.Fatalf("shop_orders_processed_total confirmed = %v, want %d (each order decided once)", got, len(sent))
	}
	for _, absent := range []string{`result="duplicate"`, "shop_orders_dead_lettered_total{"} {
		if strings.Contains(m, absent) {
			t.Fatalf("/metrics has %s: an order was decided twice or dead-lettered", absent)
		}
	}
	if sample(t, m, `shop_fault_injection_active{flag="worker-failure-ratio"}`) != 1 || sample(t, m, `shop_fault_injection_active{flag="worker-slowdown"}`) != 0 {
		t.Fatalf("fault gauges wrong:\n%s", grepMetric(m, "shop_fault_injection_active"))
	}

	// Hot change (what the config watch applies): failures off, slowdown on.
	const slowdown = 700 * time.Millisecond
	if err := w.ApplyFaults(workerconfig.Faults{Slowdown: slowdown}); err != nil {
		t.Fatal(err)
	}
	var product int64
	for id := range s.initial {
		product = id
	}
	msg := orderstream.Message{OrderID: orderstream.NewOrderID(s.users[0]), UserID: s.users[0], AcceptedAt: time.Now().UTC(),
		Items: []orderstream.Item{{ProductID: product, Quantity: 1}}}
	start := time.Now()
	if err := s.add(msg.UserID, msg.Encode()); err != nil {
		t.Fatal(err)
	}
	s.waitDecided([]uuid.UUID{msg.OrderID}, time.Minute)
	if took := time.Since(start); took < slowdown {
		t.Fatalf("order decided %s after it was sent, want at least the %s slowdown", took, slowdown)
	}
	_, m = admin.get("/metrics")
	if sample(t, m, `shop_fault_injection_active{flag="worker-failure-ratio"}`) != 0 || sample(t, m, `shop_fault_injection_active{flag="worker-slowdown"}`) != 1 {
		t.Fatalf("fault gauges after the change:\n%s", grepMetric(m, "shop_fault_injection_active"))
	}
	if fired := sample(t, m, `shop_fault_injections_total{flag="worker-slowdown"}`); fired != 1 {
		t.Fatalf("slowdowns counted %v, want 1", fired)
	}
	for _, want := range []string{`"msg":"fault injection flag turned on","flag":"worker-failure-ratio"`,
		`"msg":"fault injection flag turned off","flag":"worker-failure-ratio"`,
		`"msg":"fault injection flag turned on","flag":"worker-slowdown","field":"spec.faults.slowdown","value":"700ms"`} {
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("logs lack %s", want)
		}
	}
}

// TestFaultFlagsFollowTheConfigFile: `order-worker serve --config FILE`
// turns a fault on and off again when the file is edited, without a
// restart; even with every attempt failing (ratio 1) an order is confirmed
// — injection stops once the order has waited half of claimIdle — and
// never dead-lettered.
func TestFaultFlagsFollowTheConfigFile(t *testing.T) {
	s := newShop(t, schematest.MigratedDatabase(t), testenv.Redis(t), 10)
	cfg := filepath.Join(t.TempDir(), "order-worker.yaml")
	writeDoc := func(ratio string) {
		t.Helper()
		doc := "apiVersion: shop.goshop.dev/v1alpha1\nkind: OrderWorkerConfig\nspec:\n  faults:\n    failureRatio: " + ratio + "\n"
		// Written next to the file and renamed over it, as editors and
		// ConfigMap updates replace the file.
		tmp := cfg + ".tmp"
		if err := os.WriteFile(tmp, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, cfg); err != nil {
			t.Fatal(err)
		}
	}
	writeDoc("0")
	p := s.startWorker("WORKER_CONFIG=" + cfg)
	gauge := func() float64 {
		code, m := p.get("/metrics")
		if code != 200 {
			return -1
		}
		return metricOr(m, `shop_fault_injection_active{flag="worker-failure-ratio"}`, -1)
	}
	eventually(t, 30*time.Second, "the worker's /metrics with the fault gauge at 0", func() bool { return gauge() == 0 })

	writeDoc("1")
	eventually(t, 10*time.Second, "the fault gauge to turn 1 after the file edit", func() bool { return gauge() == 1 })
	if !strings.Contains(p.out.String(), `"level":"WARN","msg":"fault injection flag turned on","service":"order-worker","flag":"worker-failure-ratio","field":"spec.faults.failureRatio","value":1`) {
		t.Fatalf("no Warn line for the flag turned on:\n%s", tail(p.out.String(), 2000))
	}
	sent := s.enqueue(3, 1, 0)
	s.waitDecided(sent, 30*time.Second)
	if confirmed, _ := s.checkInvariants(sent); confirmed != len(sent) {
		t.Fatalf("%d of %d orders confirmed at failure ratio 1, want all", confirmed, len(sent))
	}
	_, m := p.get("/metrics")
	if injected := sample(t, m, `shop_order_transient_failures_total{dependency="injected"}`); injected < float64(len(sent)) {
		t.Fatalf("%v injected failures for %d orders at ratio 1, want at least one each", injected, len(sent))
	}
	if n, err := s.rdb.XLen(context.Background(), s.keys.DeadLetters(0)).Result(); err != nil || n != 0 {
		t.Fatalf("%d dead letters (err %v): injection dead-lettered an order", n, err)
	}

	writeDoc("0")
	eventually(t, 10*time.Second, "the fault gauge to turn 0 after the file edit", func() bool { return gauge() == 0 })
	if !strings.Contains(p.out.String(), `"level":"WARN","msg":"fault injection flag turned off","service":"order-worker","flag":"worker-failure-ratio"`) {
		t.Fatalf("no Warn line for the flag turned off:\n%s", tail(p.out.String(), 2000))
	}
}

// sample reads one sample (name with its labels, as /metrics prints them).
func sample(t testing.TB, metrics, series string) float64 {
	t.Helper()
	v := metricOr(metrics, series, -1)
	if v < 0 {
		t.Fatalf("/metrics has no %s:\n%s", series, grepMetric(metrics, series[:strings.IndexAny(series+"{", "{")]))
	}
	return v
}

func metricOr(metrics, series string, missing float64) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(metrics)
	if m == nil {
		return missing
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return missing
	}
	return v
}

func grepMetric(metrics, name string) string {
	var out []string
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, name) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
