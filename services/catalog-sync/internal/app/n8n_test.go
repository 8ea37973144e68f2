package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/n8n"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/relay"
	"github.com/goshop-platform/shop/services/kernel/catalogevent"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// n8n mode: the relay pushes batches through the shipped workflow (real
// n8n, real Directus). A batch of creates, then a batch of updates, an
// archive and an out-of-order older version end with Directus equal to
// Postgres, as in the direct mode; an item Directus refuses fails the
// workflow, so the relay falls back to one product per request, and the
// refused one is retried and then dead-lettered while the others go
// through.
func TestRelayThroughN8N(t *testing.T) {
	e := newEnv(t)
	wf, err := filepath.Abs("../../n8n/catalog-sync-workflow.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := testenv.N8N(t, []string{wf}, "catalog-sync")
	target, err := n8n.New(srv.WebhookURL("catalog-sync"), 30*time.Second, e.d.URL, e.d.AdminToken, e.client)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	var ps []catalogevent.Product
	for i := range 5 {
		ps = append(ps, e.createProduct(t, fmt.Sprintf("N8N-%02d", i), int64(100+i)))
	}
	var mu sync.Mutex
	outcomes := map[string]int{}
	stale := map[int64]bool{}
	cfg := relayConfig()
	cfg.Applied = func(ev catalogevent.Event, out directus.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		outcomes[string(out)]++
		if out == directus.Stale {
			stale[ev.Product.Version] = true
		}
	}
	m := relay.NewMetrics(prometheus.NewRegistry())
	r := relay.New(e.db, target, cfg, e.log, m)
	if err := r.Drain(ctx, nil); err != nil {
		t.Fatalf("first drain: %v\n%s", err, srv.Logs())
	}
	if d := e.diff(t); d != "" {
		t.Fatalf("after creates: %s", d)
	}

	e.updateProduct(t, ps[0].ID, "Renamed", 1999)
	e.archiveProduct(t, ps[1].ID)
	// Out of order in one transaction: v3 is in the outbox before v2; v3 is
	// sent, v2 superseded.
	v2 := e.updateProduct(t, ps[2].ID, "Second", 200)
	v3 := e.updateProduct(t, ps[2].ID, "Third", 300)
	e.rewritePending(t, ps[2].ID)
	// Refused by Directus (currency longer than its column), in the same
	// batch as the good ones: the workflow fails, the webhook answers 500,
	// the relay sends each product on its own, retries the bad one and
	// then dead-letters it.
	bad := ps[4]
	bad.Version, bad.Currency = 98, "EURO"
	e.insertEvents(t, eventRow{v3.ID, v3.Version, eventJSON(v3)}, eventRow{v2.ID, v2.Version, eventJSON(v2)}, eventRow{bad.ID, 98, eventJSON(bad)})
	if err := r.Drain(ctx, nil); err != nil {
		t.Fatalf("second drain: %v\n%s", err, srv.Logs())
	}
	if got := testutil.ToFloat64(m.Fallbacks); got != 1 {
		t.Fatalf("batch fallbacks %v, want 1 (the batch with the refused item)", got)
	}
	// The late v2 alone: Directus already holds v3.
	e.insertEvents(t, eventRow{v2.ID, v2.Version, eventJSON(v2)})

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })

	took := e.waitConverged(t, 60*time.Second)
	waitFor(t, 30*time.Second, "the refused event to be dead-lettered", func() bool { _, dead := e.pending(t); return dead == 1 })
	var lastErr string
	if err := e.db.QueryRow(ctx, `SELECT last_error FROM catalog_outbox WHERE dead_at IS NOT NULL`).Scan(&lastErr); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if outcomes["created"] != 5 || outcomes["updated"] != 3 || !stale[v2.Version] {
		t.Fatalf("outcomes %v, stale versions %v; want 5 created, 3 updated, v%d stale", outcomes, stale, v2.Version)
	}
	if got := e.outcomes(t)["superseded"]; got != 1 {
		t.Fatalf("superseded events %d, want 1 (v2 sent with v3)", got)
	}
	it, _, err := e.client.Get(ctx, ps[1].ID)
	if err != nil || it.Active {
		t.Fatalf("archived product in Directus: %+v, %v", it, err)
	}
	t.Logf("n8n mode converged in %s; outcomes %v; dead-lettered with: %s", took.Round(time.Millisecond), outcomes, lastErr)
}
