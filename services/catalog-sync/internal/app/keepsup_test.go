package app_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/relay"
	"github.com/goshop-platform/shop/services/kernel/catalogevent"
)

// Thousands of orders over 100 products go through the real api and two
// real order-worker processes while two relays run, and Directus is away
// for the second half of them. Afterwards Directus equals Postgres for
// every product, each product's snapshots reached Directus in increasing
// version order, every event was settled (sent or superseded), and the
// number of Directus writes follows the batch design (at most two per
// batch) and is far below the number of events.
func TestCatalogKeepsUpWithOrderLoad(t *testing.T) {
	e := newEnv(t)
	counter := countRequests(t, e.d.URL)
	proxied := directus.New(counter.URL, e.d.AdminToken, 5*time.Second)
	s := startShop(t, e, 100, 2)

	var mu sync.Mutex
	last := map[int64]int64{}
	var violations []string
	var ms []*relay.Metrics
	for range 2 {
		cfg := relayConfig()
		// One batch per second per relay at most: the write bound below
		// then holds on however slow a machine.
		cfg.BatchSize, cfg.FlushInterval = 500, time.Second
		cfg.Applied = func(ev catalogevent.Event, out directus.Outcome) {
			mu.Lock()
			defer mu.Unlock()
			if out == directus.Stale || ev.Product.Version <= last[ev.Product.ID] {
				violations = append(violations, fmt.Sprintf("product %d: version %d (%s) after %d", ev.Product.ID, ev.Product.Version, out, last[ev.Product.ID]))
			}
			last[ev.Product.ID] = ev.Product.Version
		}
		m := relay.NewMetrics(prometheus.NewRegistry())
		r := relay.New(e.db, proxied, cfg, e.log, m)
		runRelay(t, r)
		ms = append(ms, m)
	}

	e.waitConverged(t, time.Minute) // the seeded catalogue

	// Half the orders while Directus is up, half while it is away.
	const orders = 3000
	began := time.Now()
	accepted := s.load(t, 16, orders/2, 0, 0, nil)
	e.d.Stop(t)
	accepted += s.load(t, 16, orders/2, 0, 0, nil)
	loadTook := time.Since(began)
	e.waitDecided(t, accepted, 2*time.Minute)
	if pending, _ := e.pending(t); pending == 0 {
		t.Fatal("no events pending while Directus is away")
	}
	e.d.Start(t)
	converged := e.waitConverged(t, 2*time.Minute)

	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Fatalf("%d out-of-order or stale applications, first: %s", len(violations), strings.Join(violations[:min(5, len(violations))], "; "))
	}
	var events, batches, fallbacks int
	if err := e.db.QueryRow(t.Context(), `SELECT count(*) FROM catalog_outbox`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		batches += int(sampleCount(t, m.BatchProducts))
		fallbacks += int(testutil.ToFloat64(m.Fallbacks))
	}
	outcomes := e.outcomes(t)
	writes := counter.writes()
	t.Logf("%d orders accepted in %s and decided; %d outbox events: %v; Directus converged %s after it came back; %d batches, %d Directus writes (%.0f events per write; requests %s)",
		accepted, loadTook.Round(time.Millisecond), events, outcomes, converged.Round(time.Millisecond), batches, writes, float64(events)/float64(max(writes, 1)), counter)
	if _, dead := e.pending(t); dead != 0 || fallbacks != 0 {
		t.Fatalf("%d dead letters, %d batch fallbacks; want none", dead, fallbacks)
	}
	if sent := outcomes["created"] + outcomes["updated"]; sent+outcomes["superseded"] != events || outcomes["stale"] != 0 || outcomes["superseded"] == 0 {
		t.Fatalf("outbox outcomes %v for %d events: want every event sent or superseded, none stale, some superseded", outcomes, events)
	}
	if writes > 2*batches {
		t.Fatalf("%d Directus writes for %d batches: the batch design allows at most two per batch", writes, batches)
	}
	if writes*10 > events {
		t.Fatalf("%d Directus writes for %d events: want at most one per ten events", writes, events)
	}
}

// runRelay runs r until the test ends.
func runRelay(t testing.TB, r *relay.Relay) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// sampleSum is the sum of h's observations.
func sampleSum(t testing.TB, h prometheus.Histogram) float64 {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleSum()
}

// sampleCount is how many observations h has seen.
func sampleCount(t testing.TB, h prometheus.Histogram) uint64 {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}
