package syncer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/reconcile"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/relay"
	"github.com/goshop-platform/shop/services/platform/catalogevent"
)

func relayConfig() relay.Config {
	return relay.Config{BatchSize: 50, Concurrency: 8, PollInterval: 200 * time.Millisecond, RetryInitial: 50 * time.Millisecond,
		RetryMax: time.Second, MaxAttempts: 3}
}

func startRelay(t *testing.T, e *env, cfg relay.Config) *relay.Metrics { return startRelayB(t, e, cfg) }

func startRelayB(t testing.TB, e *env, cfg relay.Config) *relay.Metrics {
	t.Helper()
	m := relay.NewMetrics(prometheus.NewRegistry())
	r := relay.New(e.db, e.client, cfg, e.log, m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return m
}

// (b) and (d) share one Directus: the relay delivers creates, updates and
// archives, never lets an older version win and dead-letters what it cannot
// read; then the reconcile undoes edits, deletions and additions made in
// Directus directly.
func TestRelayThenReconcile(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	var ps []catalogevent.Product
	for i := range 30 {
		ps = append(ps, e.createProduct(t, fmt.Sprintf("SKU-%02d", i), int64(100+i)))
	}
	e.updateProduct(t, ps[0].ID, "Renamed", 1999)
	e.archiveProduct(t, ps[1].ID)

	// Out of order on purpose: v3 is in the outbox before v2.
	v1 := ps[2]
	v2 := e.updateProduct(t, v1.ID, "Second", 200)
	v3 := e.updateProduct(t, v1.ID, "Third", 300)
	if _, err := e.db.Exec(ctx, `DELETE FROM catalog_outbox WHERE product_id = $1`, v1.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []catalogevent.Product{v3, v2} {
		payload, _ := json.Marshal(catalogevent.Event{SchemaVersion: 1, Type: catalogevent.TypeUpserted, Product: p})
		if _, err := e.db.Exec(ctx, `INSERT INTO catalog_outbox (product_id, product_version, event_type, schema_version, payload)
			VALUES ($1, $2, 'product.upserted', 1, $3)`, p.ID, p.Version, payload); err != nil {
			t.Fatal(err)
		}
	}
	// A payload no build can read goes straight to the dead letters.
	if _, err := e.db.Exec(ctx, `INSERT INTO catalog_outbox (product_id, product_version, event_type, schema_version, payload)
		VALUES ($1, 99, 'product.upserted', 99, '{"schema_version":99}')`, ps[3].ID); err != nil {
		t.Fatal(err)
	}

	// A snapshot Directus refuses (currency longer than its column): retried
	// with backoff, then dead-lettered after MaxAttempts (3).
	bad := ps[4]
	bad.Version, bad.Currency = 98, "EURO"
	refused, _ := json.Marshal(catalogevent.Event{SchemaVersion: 1, Type: catalogevent.TypeUpserted, Product: bad})
	if _, err := e.db.Exec(ctx, `INSERT INTO catalog_outbox (product_id, product_version, event_type, schema_version, payload)
		VALUES ($1, 98, 'product.upserted', 1, $2)`, bad.ID, refused); err != nil {
		t.Fatal(err)
	}

	m := startRelay(t, e, relayConfig())
	took := e.waitConverged(t, 30*time.Second)
	t.Logf("%d events relayed and converged in %s", 36, took.Round(time.Millisecond))

	items, _ := e.publicItems(t)
	byID := map[int64]directus.Item{}
	for _, it := range items {
		byID[int64(it.ID)] = it
	}
	if it := byID[ps[0].ID]; it.Name != "Renamed" || it.Price != "19.99" || it.PriceMinor != 1999 || it.Version != 2 {
		t.Fatalf("updated product in Directus: %+v", it)
	}
	if it := byID[ps[1].ID]; it.Active || it.Version != 2 {
		t.Fatalf("archived product in Directus: %+v, want active=false version 2", it)
	}
	if it := byID[v1.ID]; it.Version != 3 || it.Name != "Third" {
		t.Fatalf("v2 pushed after v3 won: %+v", it)
	}
	if got := testutil.ToFloat64(m.Relayed.WithLabelValues("stale")); got != 1 {
		t.Fatalf("stale pushes %v, want 1 (v2 after v3)", got)
	}
	waitFor(t, 5*time.Second, "dead gauge 2", func() bool { return testutil.ToFloat64(m.Dead) == 2 })
	var lastErr string
	if err := e.db.QueryRow(ctx, `SELECT last_error FROM catalog_outbox WHERE dead_at IS NOT NULL AND product_version = 99`).Scan(&lastErr); err != nil || !strings.Contains(lastErr, "schema version 99") {
		t.Fatalf("dead letter reason %q (%v)", lastErr, err)
	}
	var attempts int
	if err := e.db.QueryRow(ctx, `SELECT attempts, last_error FROM catalog_outbox WHERE dead_at IS NOT NULL AND product_version = 98`).Scan(&attempts, &lastErr); err != nil || attempts != 3 || !strings.Contains(lastErr, "VALUE_TOO_LONG") {
		t.Fatalf("refused event: %d attempts, reason %q (%v), want 3 attempts, VALUE_TOO_LONG", attempts, lastErr, err)
	}
	if got := testutil.ToFloat64(m.Failed.WithLabelValues("refused")); got != 3 {
		t.Fatalf("refused pushes %v, want 3", got)
	}
	if n := testutil.CollectAndCount(m.Lag); n != 1 || testutil.ToFloat64(m.Relayed.WithLabelValues("created")) != 30 {
		t.Fatalf("lag histogram / created counter not recorded")
	}

	// (d) Edits, deletions and additions made in Directus directly.
	admin := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, e.d.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.d.AdminToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
	}
	admin(http.MethodPatch, fmt.Sprintf("/items/products/%d", ps[5].ID), `{"name":"Vandalised"}`)
	admin(http.MethodPatch, fmt.Sprintf("/items/products/%d", ps[6].ID), `{"version":999,"stock":0}`)
	admin(http.MethodPatch, fmt.Sprintf("/items/products/%d", ps[29].ID), `{"updated_at":"2001-01-01T00:00:00.000Z"}`)
	admin(http.MethodDelete, fmt.Sprintf("/items/products/%d", ps[7].ID), "")
	admin(http.MethodDelete, fmt.Sprintf("/items/products/%d", ps[15].ID), "")
	admin(http.MethodPost, "/items/products", `[{"id":100000,"sku":"GHOST-1","name":"Ghost","price_minor":1,"currency":"EUR","stock":1,"version":1},
		{"id":0,"sku":"GHOST-0","name":"Zero","price_minor":1,"currency":"EUR","stock":1,"version":1}]`)
	if e.diff(t) == "" {
		t.Fatal("the edits did not change Directus")
	}
	reg := prometheus.NewRegistry()
	rm := reconcile.NewMetrics(reg)
	// A small page size so that the comparison crosses page boundaries.
	rec := &reconcile.Reconciler{DB: e.db, Target: e.client, PageSize: 7, Metrics: rm, Log: e.log}
	res, err := rec.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Products != 30 || res.Missing != 2 || res.Stale != 3 || res.Extra != 2 {
		t.Fatalf("reconcile result %+v, want 30 products, 2 missing, 3 stale, 2 extra", res)
	}
	if msg := e.diff(t); msg != "" {
		t.Fatalf("after reconcile: %s", msg)
	}
	if testutil.ToFloat64(rm.Differences.WithLabelValues("extra")) != 2 || testutil.ToFloat64(rm.LastSuccess) < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Fatal("reconcile metrics not recorded")
	}
	if res, err = rec.Run(ctx); err != nil || res.Differences() != 0 {
		t.Fatalf("second reconcile: %+v %v, want no differences", res, err)
	}
}

// (e) Two relays over 200 events on 20 products, written while they run:
// every event is applied once, in version order per product, and Directus
// ends equal to Postgres.
func TestTwoRelaysKeepPerProductOrder(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	applied := map[int64][]int64{}
	perRelay := [2]int{}
	var violations []string
	record := func(n int) func(catalogevent.Event, directus.Outcome) {
		return func(ev catalogevent.Event, out directus.Outcome) {
			mu.Lock()
			defer mu.Unlock()
			vs := applied[ev.Product.ID]
			if out == directus.Stale || (len(vs) > 0 && vs[len(vs)-1] >= ev.Product.Version) {
				violations = append(violations, fmt.Sprintf("product %d: version %d (%s) after %v", ev.Product.ID, ev.Product.Version, out, vs))
			}
			applied[ev.Product.ID] = append(vs, ev.Product.Version)
			perRelay[n]++
		}
	}
	for n := range 2 {
		cfg := relayConfig()
		cfg.BatchSize = 5
		cfg.Applied = record(n)
		startRelay(t, e, cfg)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := e.createProduct(t, fmt.Sprintf("CONC-%02d", i), 100)
			for v := range 9 {
				e.updateProduct(t, p.ID, fmt.Sprintf("Product %d rev %d", i, v+2), int64(100+v))
			}
		}()
	}
	wg.Wait()
	took := e.waitConverged(t, 60*time.Second)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("converged %s after the last write; relay A applied %d, relay B %d", took.Round(time.Millisecond), perRelay[0], perRelay[1])
	if len(violations) > 0 {
		t.Fatalf("out-of-order or repeated applications:\n%s", strings.Join(violations, "\n"))
	}
	total := 0
	for id, vs := range applied {
		total += len(vs)
		if len(vs) != 10 || vs[0] != 1 || vs[9] != 10 {
			t.Errorf("product %d applied versions %v, want 1..10", id, vs)
		}
	}
	if total != 200 || len(applied) != 20 {
		t.Fatalf("applied %d events on %d products, want 200 on 20", total, len(applied))
	}
}
