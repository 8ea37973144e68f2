package syncer_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/reconcile"
	"github.com/goshop-platform/shop/services/platform/catalogevent"
)

// BenchmarkSyncLagBurst writes 1,000 product changes as fast as 4 writers
// can (a backlog builds: the figure is mostly throughput) with one relay
// running, and reports the lag from the product write to Directus
// confirming it. BenchmarkSyncLagPaced writes the same 1,000 at a steady
// 50 per second (the latency an admin sees).
// Run: go test -run '^$' -bench SyncLag -benchtime 1x ./internal/syncer
func BenchmarkSyncLagBurst(b *testing.B) { benchSyncLag(b, 0) }

func BenchmarkSyncLagPaced(b *testing.B) { benchSyncLag(b, 50) }

func benchSyncLag(b *testing.B, perSecond int) {
	e := newEnvB(b)
	var mu sync.Mutex
	var lags []time.Duration
	cfg := relayConfig()
	cfg.Applied = func(ev catalogevent.Event, _ directus.Outcome) {
		if ev.Product.Name[0] != 'w' {
			return // the setup's creates
		}
		mu.Lock()
		lags = append(lags, time.Since(ev.Product.UpdatedAt))
		mu.Unlock()
	}
	startRelayB(b, e, cfg)
	var ids []int64
	for i := range 100 {
		ids = append(ids, e.createProduct(b, fmt.Sprintf("LAG-%03d", i), 100).ID)
	}
	for b.Loop() {
		mu.Lock()
		lags = lags[:0]
		mu.Unlock()
		e.waitConverged(b, time.Minute)
		mu.Lock()
		lags = lags[:0]
		mu.Unlock()
		began := time.Now()
		var tick <-chan time.Time
		if perSecond > 0 {
			tk := time.NewTicker(time.Second / time.Duration(perSecond)) // shared by the writers
			defer tk.Stop()
			tick = tk.C
		}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 250 {
					if tick != nil {
						<-tick
					}
					e.updateProduct(b, ids[(w*250+i)%len(ids)], fmt.Sprintf("w%d-%d", w, i), int64(i))
				}
			}()
		}
		wg.Wait()
		e.waitConverged(b, 2*time.Minute)
		mu.Lock()
		slices.Sort(lags)
		n := len(lags)
		b.ReportMetric(float64(lags[n/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(lags[n*99/100].Milliseconds()), "p99-ms")
		b.ReportMetric(float64(n), "events")
		b.Logf("%d events, p50 %s, p99 %s, max %s, all converged %s after the first write", n,
			lags[n/2], lags[n*99/100], lags[n-1], time.Since(began).Round(time.Millisecond))
		mu.Unlock()
	}
}

// BenchmarkReconcile10000 reconciles 10,000 products into an empty Directus
// (all missing), then again with nothing to do.
func BenchmarkReconcile10000(b *testing.B) {
	e := newEnvB(b)
	ctx := context.Background()
	if _, err := e.db.Exec(ctx, `INSERT INTO products (sku, name, description, price_minor, currency, stock, image_url)
		SELECT 'BULK-'||g, 'Bulk product '||g, 'Generated', 100 + g, 'EUR', g % 50, 'https://img.example/'||g||'.png'
		FROM generate_series(1, 10000) g`); err != nil {
		b.Fatal(err)
	}
	rec := &reconcile.Reconciler{DB: e.db, Target: e.client, PageSize: 500, Log: e.log}
	for b.Loop() {
		if _, err := e.client.EnsureSchema(ctx); err != nil {
			b.Fatal(err)
		}
		res, err := rec.Run(ctx)
		if err != nil || res.Missing != 10000 {
			b.Fatalf("first reconcile %+v %v", res, err)
		}
		again, err := rec.Run(ctx)
		if err != nil || again.Differences() != 0 {
			b.Fatalf("second reconcile %+v %v", again, err)
		}
		b.ReportMetric(res.Duration.Seconds(), "create-10k-s")
		b.ReportMetric(again.Duration.Seconds(), "compare-10k-s")
		b.Logf("10,000 missing products created in %s; an unchanged catalogue compared in %s",
			res.Duration.Round(time.Millisecond), again.Duration.Round(time.Millisecond))
		// Next iteration starts from an empty Directus again.
		ids := make([]int64, 0, 10000)
		for i := int64(1); i <= 10000; i++ {
			ids = append(ids, i)
		}
		for c := range slices.Chunk(ids, 1000) {
			if err := e.client.DeleteMany(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	}
}
