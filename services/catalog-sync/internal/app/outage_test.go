package app_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/app"
)

// (c) The wired service (as `catalog-sync serve` runs it) while Directus is
// stopped and 500 product writes happen: after Directus is back the relay
// alone (the periodic reconcile is off) brings Directus exactly to
// Postgres, nothing is dead-lettered, and a reconcile then finds nothing.
func TestDirectusOutageThenCatchUp(t *testing.T) {
	e := newEnv(t)
	spec := e.serviceSpec(t, "catalog-sync-outage-test-token", 2*time.Second)
	spec.Relay.PollInterval, spec.Relay.RetryInitial, spec.Relay.RetryMax, spec.Relay.MaxAttempts = 500*time.Millisecond, 100*time.Millisecond, time.Second, 3
	s, err := app.New(context.Background(), spec, e.log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	admin := "http://" + spec.HTTP.Addr
	waitFor(t, 20*time.Second, "/readyz 200", func() bool { return status(admin+"/readyz") == http.StatusOK })

	var ids []int64
	for i := range 50 {
		ids = append(ids, e.createProduct(t, fmt.Sprintf("OUT-%02d", i), 500).ID)
	}
	e.waitConverged(t, 20*time.Second)

	e.d.Stop(t)
	waitFor(t, 10*time.Second, "/readyz 503 while Directus is away", func() bool { return status(admin+"/readyz") == http.StatusServiceUnavailable })
	writes := 0
	for i := range 50 {
		ids = append(ids, e.createProduct(t, fmt.Sprintf("NEW-%02d", i), 700).ID)
		writes++
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for writes < 490 {
		id := ids[rng.IntN(len(ids))]
		e.updateProduct(t, id, fmt.Sprintf("Edit %d", writes), int64(rng.IntN(100000)))
		writes++
	}
	for _, id := range ids[:10] {
		e.archiveProduct(t, id)
		writes++
	}
	if p, _ := e.pending(t); p == 0 {
		t.Fatal("no events pending while Directus is down")
	}
	e.d.Start(t)
	took := e.waitConverged(t, 90*time.Second)
	t.Logf("%d writes during the outage; converged %s after Directus came back", writes, took.Round(time.Millisecond))
	if _, dead := e.pending(t); dead != 0 {
		t.Fatalf("%d events dead-lettered by an outage", dead)
	}
	res, err := s.Reconciler.Run(context.Background())
	if err != nil || res.Differences() != 0 || res.Products != 100 {
		t.Fatalf("reconcile after catch-up: %+v %v, want 100 products and no differences", res, err)
	}
	metrics := body(t, admin+"/metrics")
	for _, want := range []string{"shop_catalog_events_failed_total{reason=\"unavailable\"}", "shop_catalog_sync_lag_seconds_count", "shop_catalog_outbox_pending 0"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// SIGTERM: Run returns cleanly.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if c, err := net.DialTimeout("tcp", spec.HTTP.Addr, time.Second); err == nil {
		c.Close()
		t.Fatal("admin port still open after shutdown")
	}
}

func status(url string) int {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func body(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
