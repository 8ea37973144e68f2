package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// TestRedisKilledAndRestarted: Redis is SIGKILLed mid-run and restarted
// from its append-only file; every acknowledged order is decided once.
func TestRedisKilledAndRestarted(t *testing.T) {
	srv := testenv.NewRedisServer(t)
	s := newShop(t, schematest.MigratedDatabase(t), srv.URL(), 500, 500, 500)
	w := s.startWorker()
	first := s.enqueue(300, 4, 2*time.Millisecond)
	srv.Kill(t)
	time.Sleep(time.Second) // Redis stays away for a while (the worker retries meanwhile)
	srv.Start(t)
	second := s.enqueue(300, 4, 0)
	sent := append(first, second...)
	s.waitDecided(sent, 2*time.Minute)
	confirmed, failed := s.checkInvariants(sent)
	t.Logf("%d orders across a Redis crash: %d confirmed, %d failed", len(sent), confirmed, failed)
	if code, _ := w.get("/readyz"); code != 200 {
		t.Fatalf("worker readyz %d after Redis came back", code)
	}
}

// TestPostgresUnavailable: the database is down for several seconds while
// orders keep arriving; the worker keeps running, retries without acking,
// and decides everything once the database is back.
func TestPostgresUnavailable(t *testing.T) {
	pg := schematest.NewPostgresServer(t)
	s := newShop(t, pg.URL(), testenv.Redis(t), 500, 500, 500)
	w := s.startWorker()
	first := s.enqueue(200, 4, 0)
	s.waitDecided(first, time.Minute)
	s.db.Reset() // the test's own pool must reconnect too
	pg.Stop(t)
	during := s.enqueue(200, 4, 5*time.Millisecond)
	eventually(t, 10*time.Second, "worker to report unready", func() bool { c, _ := w.get("/readyz"); return c == 503 })
	time.Sleep(2 * time.Second)
	if w.cmd.ProcessState != nil {
		t.Fatal("worker exited while the database was away")
	}
	pg.Start(t)
	sent := append(first, during...)
	s.waitDecided(sent, 2*time.Minute)
	confirmed, failed := s.checkInvariants(sent)
	t.Logf("%d orders across a database outage: %d confirmed, %d failed", len(sent), confirmed, failed)
	_, metrics := w.get("/metrics")
	if !strings.Contains(metrics, `shop_order_transient_failures_total{dependency="postgres"}`) {
		t.Fatal("no transient postgres failures counted during the outage")
	}
}
