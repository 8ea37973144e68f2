package app_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/reconcile"
	"github.com/goshop-platform/shop/services/platform/benchreport"
)

// BenchmarkSyncLagBurst writes 1,000 product changes over 100 products as
// fast as 4 writers can, with one relay (shipped settings) running, and
// reports the lag of every change from the product write to Directus
// confirming it or a newer snapshot. BenchmarkSyncLagPaced writes the same
// 1,000 at a steady 50 per second (the latency an admin sees).
// Run: go test -run '^$' -bench SyncLag -benchtime 1x ./internal/app
func BenchmarkSyncLagBurst(b *testing.B) {
	if benchreport.Smoke() {
		b.Skip("smoke run: the paced lag benchmark keeps this harness working")
	}
	benchSyncLag(b, 0)
}

func BenchmarkSyncLagPaced(b *testing.B) { benchSyncLag(b, 50) }

func benchSyncLag(b *testing.B, perSecond int) {
	e := newEnvB(b)
	startRelayB(b, e, shippedRelayConfig())
	var ids []int64
	for i := range 100 {
		ids = append(ids, e.createProduct(b, fmt.Sprintf("LAG-%03d", i), 100).ID)
	}
	for b.Loop() {
		e.waitConverged(b, time.Minute)
		var firstEvent int64
		if err := e.db.QueryRow(context.Background(), `SELECT max(id) FROM catalog_outbox`).Scan(&firstEvent); err != nil {
			b.Fatal(err)
		}
		began := time.Now()
		var tick <-chan time.Time
		if perSecond > 0 {
			tk := time.NewTicker(time.Second / time.Duration(perSecond)) // shared by the writers
			defer tk.Stop()
			tick = tk.C
		}
		var wg sync.WaitGroup
		perWriter := benchreport.Pick(250, 25)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWriter {
					if tick != nil {
						<-tick
					}
					e.updateProduct(b, ids[(w*perWriter+i)%len(ids)], fmt.Sprintf("w%d-%d", w, i), int64(i))
				}
			}()
		}
		wg.Wait()
		e.waitConverged(b, 2*time.Minute)
		took := time.Since(began)
		lags, n := e.eventLags(b, firstEvent)
		mode := "burst (4 writers, unpaced)"
		if perSecond > 0 {
			mode = fmt.Sprintf("%d writes/s", perSecond)
		}
		for _, q := range []struct {
			name string
			at   float64
		}{{"p50", 0.5}, {"p99", 0.99}} {
			record(b, benchreport.Row{Section: "catalog", Name: fmt.Sprintf("sync lag %s, %d product writes at %s", q.name, n, mode),
				Value: ms(pct(lags, q.at)), Unit: "ms"})
		}
		if perSecond == 0 {
			record(b, benchreport.Row{Section: "catalog", Name: "product writes settled per second in the burst", Value: float64(n) / took.Seconds(), Unit: "events/s"})
		}
	}
}

// BenchmarkReconcile10000 reconciles 10,000 products into an empty Directus
// (all missing), then again with nothing to do.
func BenchmarkReconcile10000(b *testing.B) {
	e := newEnvB(b)
	ctx := context.Background()
	products := benchreport.Pick(10000, 1000)
	if _, err := e.db.Exec(ctx, `INSERT INTO products (sku, name, description, price_minor, currency, stock, image_url)
		SELECT 'BULK-'||g, 'Bulk product '||g, 'Generated', 100 + g, 'EUR', g % 50, 'https://img.example/'||g||'.png'
		FROM generate_series(1, $1) g`, products); err != nil {
		b.Fatal(err)
	}
	rec := &reconcile.Reconciler{DB: e.db, Target: e.client, PageSize: 500, Log: e.log}
	for b.Loop() {
		if _, err := e.client.EnsureSchema(ctx); err != nil {
			b.Fatal(err)
		}
		res, err := rec.Run(ctx)
		if err != nil || res.Missing != products {
			b.Fatalf("first reconcile %+v %v", res, err)
		}
		again, err := rec.Run(ctx)
		if err != nil || again.Differences() != 0 {
			b.Fatalf("second reconcile %+v %v", again, err)
		}
		record(b, benchreport.Row{Section: "catalog", Name: fmt.Sprintf("reconcile %d products, all missing in Directus", products),
			Value: res.Duration.Seconds(), Unit: "s"})
		record(b, benchreport.Row{Section: "catalog", Name: fmt.Sprintf("reconcile %d products, nothing to fix", products),
			Value: again.Duration.Seconds(), Unit: "s"})
		// Next iteration starts from an empty Directus again.
		ids := make([]int64, 0, products)
		for i := int64(1); i <= int64(products); i++ {
			ids = append(ids, i)
		}
		for c := range slices.Chunk(ids, 1000) {
			if err := e.client.DeleteMany(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func record(b *testing.B, r benchreport.Row) {
	b.Helper()
	if err := benchreport.Record(r); err != nil {
		b.Fatal(err)
	}
}
