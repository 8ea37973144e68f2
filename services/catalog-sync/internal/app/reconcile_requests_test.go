package app_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/reconcile"
)

// TestReconcileOnRequest: a reconcile an admin asked for through the api
// (a catalog_reconcile_requests row) is run once by one of two replicas,
// makes Directus equal to Postgres, and records what it found.
func TestReconcileOnRequest(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 5 {
		e.createProduct(t, fmt.Sprintf("REQ-%d", i), 100) // no relay runs: Directus misses them
	}
	var admin int64
	if err := e.db.QueryRow(ctx, `INSERT INTO users (email, password_hash, role) VALUES ('ops@x.io', 'x', 'admin') RETURNING id`).Scan(&admin); err != nil {
		t.Fatal(err)
	}
	rec := &reconcile.Reconciler{DB: e.db, Target: e.client, PageSize: 2, Metrics: reconcile.NewMetrics(prometheus.NewRegistry()), Log: e.log}
	var runs atomic.Int32
	var wg sync.WaitGroup
	for i := range 2 {
		q := &reconcile.Requests{DB: e.db, Name: fmt.Sprintf("replica-%d", i), Poll: 50 * time.Millisecond, StaleAfter: time.Minute, Log: e.log,
			Run: func(ctx context.Context) (reconcile.Result, error) { runs.Add(1); return rec.Run(ctx) }}
		wg.Go(func() { q.Serve(ctx) })
	}
	var id int64
	if err := e.db.QueryRow(ctx, `INSERT INTO catalog_reconcile_requests (requested_by, reason) VALUES ($1, 'test') RETURNING id`, admin).Scan(&id); err != nil {
		t.Fatal(err)
	}
	var products, missing int
	var by string
	waitFor(t, 30*time.Second, "the request finished", func() bool {
		err := e.db.QueryRow(ctx, `SELECT products, missing, started_by FROM catalog_reconcile_requests WHERE id = $1 AND finished_at IS NOT NULL AND error IS NULL`, id).
			Scan(&products, &missing, &by)
		return err == nil
	})
	if products != 5 || missing != 5 {
		t.Fatalf("recorded products %d missing %d, want 5 and 5", products, missing)
	}
	if d := e.diff(t); d != "" {
		t.Fatalf("Directus differs from Postgres after the requested reconcile:\n%s", d)
	}
	// Both replicas keep polling: the request is never taken twice.
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Fatalf("%d reconciles ran for one request", n)
	}
	t.Logf("request %d run by %s: %d products, %d missing fixed", id, by, products, missing)
}
