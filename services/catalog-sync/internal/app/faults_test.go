package app_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/app"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/syncconfig"
)

// TestInjectedTargetFailures: with spec.faults.targetFailureRatio 1 no
// push reaches Directus: every one is counted as refused, retried with
// backoff and dead-lettered after maxAttempts. Set back to 0, the relay
// pushes the next changes again and, with the reconcile repairing what was
// dead-lettered, Directus ends equal to Postgres.
func TestInjectedTargetFailures(t *testing.T) {
	e := newEnv(t)
	spec := e.serviceSpec(t, "catalog-sync-faults-test-token", 5*time.Second)
	spec.Relay.PollInterval, spec.Relay.RetryInitial, spec.Relay.RetryMax, spec.Relay.MaxAttempts = 200*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond, 3
	// The reconcile (off) would write Directus directly: only the relay's pushes fail.
	spec.Faults.TargetFailureRatio = 1
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	s, err := app.New(context.Background(), spec, e.log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	}()
	admin := "http://" + spec.HTTP.Addr
	waitFor(t, 60*time.Second, "/readyz 200", func() bool { return status(admin+"/readyz") == http.StatusOK })

	var ids []int64
	for i := range 20 {
		ids = append(ids, e.createProduct(t, fmt.Sprintf("FAULT-%02d", i), 100+int64(i)).ID)
	}
	waitFor(t, 60*time.Second, "every event dead-lettered after maxAttempts refusals", func() bool {
		pending, dead := e.pending(t)
		return pending == 0 && dead == len(ids)
	})
	if items, err := e.publicItems(t); err != nil || len(items) != 0 {
		t.Fatalf("Directus has %d items (err %v) while every push fails, want none", len(items), err)
	}
	m := body(t, admin+"/metrics")
	refused, dead := value(t, m, `shop_catalog_events_failed_total{reason="refused"}`), value(t, m, `shop_catalog_events_failed_total{reason="dead"}`)
	if refused < float64(2*len(ids)) || dead != float64(len(ids)) {
		t.Fatalf("refused %v, dead %v for %d products at ratio 1 and maxAttempts 3: want every attempt refused, each event dead once", refused, dead, len(ids))
	}
	if fired := value(t, m, `shop_fault_injections_total{flag="catalog-target-failure-ratio"}`); fired < refused {
		t.Fatalf("%v injected failures for %v refusals", fired, refused)
	}
	if v := value(t, m, `shop_fault_injection_active{flag="catalog-target-failure-ratio"}`); v != 1 {
		t.Fatalf("shop_fault_injection_active = %v with the flag on", v)
	}

	// Back to 0 (what a config reload applies): the relay pushes new changes.
	if err := s.ApplyFaults(syncconfig.Faults{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[:10] {
		e.updateProduct(t, id, fmt.Sprintf("Fixed %d", id), 999)
	}
	for i := range 5 {
		ids = append(ids, e.createProduct(t, fmt.Sprintf("AFTER-%02d", i), 500).ID)
	}
	waitFor(t, 60*time.Second, "the changes made after the flag was reset to reach Directus", func() bool {
		pending, _ := e.pending(t)
		items, err := e.publicItems(t)
		return err == nil && pending == 0 && len(items) == 15
	})
	if _, dead := e.pending(t); dead != 20 {
		t.Fatalf("%d dead events after the reset, want the 20 from before (nothing new dead)", dead)
	}
	res, err := s.Reconciler.Run(context.Background())
	if err != nil || res.Missing != 10 || res.Products != len(ids) {
		t.Fatalf("reconcile: %+v %v, want the 10 products only dead events held repaired", res, err)
	}
	e.waitConverged(t, 30*time.Second)
	if v := value(t, body(t, admin+"/metrics"), `shop_fault_injection_active{flag="catalog-target-failure-ratio"}`); v != 0 {
		t.Fatalf("shop_fault_injection_active = %v after the reset", v)
	}
}

// value reads one sample (name with its labels, as /metrics prints them).
func value(t *testing.T, metrics, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(metrics)
	if m == nil {
		name, _, _ := strings.Cut(series, "{")
		var lines []string
		for _, l := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(l, name) {
				lines = append(lines, l)
			}
		}
		t.Fatalf("/metrics has no %s:\n%s", series, strings.Join(lines, "\n"))
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
