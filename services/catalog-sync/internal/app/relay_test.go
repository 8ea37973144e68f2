package app_test

import (
	"context"
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
	"github.com/goshop-platform/shop/services/kernel/catalogevent"
)

func relayConfig() relay.Config {
	return relay.Config{BatchSize: 50, FlushInterval: 20 * time.Millisecond, Concurrency: 8, PollInterval: 200 * time.Millisecond,
		RetryInitial: 50 * time.Millisecond, RetryMax: time.Second, MaxAttempts: 3}
}

func startRelay(t *testing.T, e *env, cfg relay.Config) *relay.Metrics { return startRelayB(t, e, cfg) }

func startRelayB(t testing.TB, e *env, cfg relay.Config) *relay.Metrics {
	t.Helper()
	m := relay.NewMetrics(prometheus.NewRegistry())
	runRelay(t, relay.New(e.db, e.client, cfg, e.log, m))
	return m
}

// (b) and (d) share one Directus (without the goshop-catalog extension:
// the REST batch write): the relay delivers creates, updates and
// archives, sends only each product's newest snapshot (the older events are
// settled as superseded), never lets an older version win, and
// dead-letters what it cannot read or what Directus keeps refusing; then
// the reconcile undoes edits, deletions and additions made in Directus
// directly.
func TestRelayThenReconcile(t *testing.T) {
	e := newEnvREST(t)
	ctx := context.Background()

	var ps []catalogevent.Product
	for i := range 30 {
		ps = append(ps, e.createProduct(t, fmt.Sprintf("SKU-%02d", i), int64(100+i)))
	}
	e.updateProduct(t, ps[0].ID, "Renamed", 1999)
	e.archiveProduct(t, ps[1].ID)

	// All 32 events are pending when the relay starts: one batch of 30
	// products, 30 snapshots created, the first versions of ps[0] and
	// ps[1] superseded.
	cfg := relayConfig()
	var mu sync.Mutex
	applied := map[int64][]int64{}
	cfg.Applied = func(ev catalogevent.Event, _ directus.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		applied[ev.Product.ID] = append(applied[ev.Product.ID], ev.Product.Version)
	}
	m := startRelay(t, e, cfg)
	took := e.waitConverged(t, 30*time.Second)
	t.Logf("32 events relayed and converged in %s", took.Round(time.Millisecond))
	if got := e.outcomes(t); got["created"] != 30 || got["superseded"] != 2 || len(got) != 2 {
		t.Fatalf("outbox outcomes %v, want 30 created and 2 superseded", got)
	}
	if got := testutil.ToFloat64(m.Relayed.WithLabelValues("superseded")); got != 2 {
		t.Fatalf("superseded counter %v, want 2", got)
	}
	mu.Lock()
	if vs := applied[ps[0].ID]; len(vs) != 1 || vs[0] != 2 {
		t.Fatalf("ps[0] pushed versions %v, want only its newest, 2", vs)
	}
	mu.Unlock()
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

	// Out of order in one transaction: v3 is in the outbox before v2. The
	// newest version is sent, v2 superseded; v2 delivered again later finds
	// Directus newer (stale).
	v1 := ps[2]
	v2 := e.updateProduct(t, v1.ID, "Second", 200)
	v3 := e.updateProduct(t, v1.ID, "Third", 300)
	e.rewritePending(t, v1.ID, eventRow{v3.ID, v3.Version, eventJSON(v3)}, eventRow{v2.ID, v2.Version, eventJSON(v2)})
	e.waitConverged(t, 30*time.Second)
	e.insertEvents(t, eventRow{v2.ID, v2.Version, eventJSON(v2)})
	waitFor(t, 10*time.Second, "the late v2 to be settled stale", func() bool { return e.outcomes(t)["stale"] == 1 })
	if it, _, err := e.client.Get(ctx, v1.ID); err != nil || it.Version != 3 || it.Name != "Third" {
		t.Fatalf("v2 pushed after v3 won: %+v %v", it, err)
	}

	// A payload no build can read goes straight to the dead letters; when a
	// readable older event of the product is pending with it, that one is
	// sent instead.
	v2of5 := ps[5]
	v2of5.Version, v2of5.Name = 2, "Readable"
	e.insertEvents(t, eventRow{ps[3].ID, 99, `{"schema_version":99}`},
		eventRow{ps[5].ID, 2, eventJSON(v2of5)}, eventRow{ps[5].ID, 99, `{"schema_version":99}`})

	// A snapshot Directus refuses (currency longer than its column): retried
	// with backoff, then dead-lettered after MaxAttempts (3). Directus keeps
	// the last good version. When an older, good event of the product was
	// pending with it (ps[6]), that one is settled as superseded, not sent:
	// it would show the shop an older product than Postgres holds; the
	// product waits for its next change or the reconcile.
	bad := ps[4]
	bad.Version, bad.Currency = 98, "EURO"
	e.insertEvents(t, eventRow{bad.ID, 98, eventJSON(bad)})
	good6 := ps[6]
	good6.Version, good6.Name = 2, "Good but older"
	bad6 := good6
	bad6.Version, bad6.Currency = 98, "EURO"
	e.insertEvents(t, eventRow{good6.ID, 2, eventJSON(good6)}, eventRow{bad6.ID, 98, eventJSON(bad6)})
	waitFor(t, 30*time.Second, "4 dead letters and nothing pending", func() bool {
		p, dead := e.pending(t)
		return p == 0 && dead == 4
	})
	for _, want := range []struct {
		id      int64
		version int64
		name    string
	}{{ps[3].ID, 1, ps[3].Name}, {ps[4].ID, 1, ps[4].Name}, {ps[5].ID, 2, "Readable"}, {ps[6].ID, 1, ps[6].Name}} {
		if it, _, err := e.client.Get(ctx, want.id); err != nil || int64(it.Version) != want.version || it.Name != want.name {
			t.Errorf("product %d in Directus: %+v %v, want version %d %q", want.id, it, err, want.version, want.name)
		}
	}
	var outcome string
	if err := e.db.QueryRow(ctx, `SELECT outcome FROM catalog_outbox WHERE product_id = $1 AND product_version = 2`, ps[6].ID).Scan(&outcome); err != nil || outcome != "superseded" {
		t.Fatalf("good older event of a product whose newest was refused: outcome %q (%v), want superseded", outcome, err)
	}
	// Postgres agrees with the readable events, for the reconcile below.
	for id, name := range map[int64]string{ps[5].ID: "Readable", ps[6].ID: "Good but older"} {
		if _, err := e.db.Exec(ctx, `UPDATE products SET name = $2, version = 2 WHERE id = $1`, id, name); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "dead gauge 4", func() bool { return testutil.ToFloat64(m.Dead) == 4 })
	var lastErr string
	if err := e.db.QueryRow(ctx, `SELECT last_error FROM catalog_outbox WHERE dead_at IS NOT NULL AND product_id = $1`, ps[3].ID).Scan(&lastErr); err != nil || !strings.Contains(lastErr, "schema version 99") {
		t.Fatalf("dead letter reason %q (%v)", lastErr, err)
	}
	var attempts int
	if err := e.db.QueryRow(ctx, `SELECT attempts, last_error FROM catalog_outbox WHERE dead_at IS NOT NULL AND product_id = $1`, ps[4].ID).Scan(&attempts, &lastErr); err != nil || attempts != 3 || !strings.Contains(lastErr, "VALUE_TOO_LONG") {
		t.Fatalf("refused event: %d attempts, reason %q (%v), want 3 attempts, VALUE_TOO_LONG", attempts, lastErr, err)
	}
	if got := testutil.ToFloat64(m.Failed.WithLabelValues("refused")); got != 6 {
		t.Fatalf("refused pushes %v, want 6 (3 attempts each for two products)", got)
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
// every product's snapshots reach Directus in strictly increasing version
// order and never stale, every event is settled once (sent or superseded),
// and Directus ends equal to Postgres.
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
	t.Logf("converged %s after the last write; relay A sent %d snapshots, relay B %d", took.Round(time.Millisecond), perRelay[0], perRelay[1])
	if len(violations) > 0 {
		t.Fatalf("out-of-order or repeated applications:\n%s", strings.Join(violations, "\n"))
	}
	if perRelay[0] == 0 || perRelay[1] == 0 {
		t.Fatalf("relay A sent %d snapshots and relay B %d: one relay did all the work, so the order across relays was not tested", perRelay[0], perRelay[1])
	}
	sent := 0
	for id, vs := range applied {
		sent += len(vs)
		if vs[len(vs)-1] != 10 {
			t.Errorf("product %d applied versions %v, want the last to be 10", id, vs)
		}
	}
	outcomes := e.outcomes(t)
	if len(applied) != 20 || outcomes["created"]+outcomes["updated"] != sent || sent+outcomes["superseded"] != 200 {
		t.Fatalf("%d snapshots sent for %d products, outbox outcomes %v; want 20 products and every one of the 200 events sent or superseded", sent, len(applied), outcomes)
	}
}
