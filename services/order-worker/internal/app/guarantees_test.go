package app_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// TestNoOversellWithThreeWorkers: 2,000 orders from many goroutines over 5
// products with small stocks, decided by 3 worker processes at once.
func TestNoOversellWithThreeWorkers(t *testing.T) {
	s := newShop(t, schematest.MigratedDatabase(t), testenv.Redis(t), 40, 60, 90, 25, 150)
	workers := []*proc{s.startWorker(), s.startWorker(), s.startWorker()}
	sent := s.enqueue(2000, 16, 0)
	if len(sent) != 2000 {
		t.Fatalf("only %d orders enqueued", len(sent))
	}
	s.waitDecided(sent, 3*time.Minute)
	confirmed, failed := s.checkInvariants(sent)
	t.Logf("2000 orders: %d confirmed, %d failed (insufficient stock)", confirmed, failed)
	if confirmed == 0 || failed == 0 {
		t.Fatalf("want both outcomes with these stocks: %d confirmed, %d failed", confirmed, failed)
	}
	// All three took part, and nothing is left pending.
	for i, w := range workers {
		_, metrics := w.get("/metrics")
		if !strings.Contains(metrics, `shop_orders_processed_total{reason="",result="confirmed"}`) &&
			!strings.Contains(metrics, `result="failed"`) {
			t.Errorf("worker %d decided no orders", i)
		}
	}
	eventually(t, 10*time.Second, "no pending entries", func() bool {
		n, err := s.pending()
		return err == nil && n == 0
	})
}

// TestSIGKILLedWorkersLoseNothing kills worker processes repeatedly while
// orders flow; survivors (and the restarted ones) claim what the dead held,
// and every accepted order ends decided exactly once.
func TestSIGKILLedWorkersLoseNothing(t *testing.T) {
	s := newShop(t, schematest.MigratedDatabase(t), testenv.Redis(t), 900, 900, 900, 900, 900)
	workers := []*proc{s.startWorker(), s.startWorker(), s.startWorker()}
	all := append([]*proc(nil), workers...)
	done := make(chan []uuid.UUID, 1)
	go func() { done <- s.enqueue(1500, 4, 12*time.Millisecond) }()
	r := rand.New(rand.NewPCG(7, 7))
	kills := 0
	var sent []uuid.UUID
	for sent == nil {
		select {
		case sent = <-done:
		case <-time.After(400 * time.Millisecond):
			i := r.IntN(len(workers))
			workers[i].kill()
			kills++
			workers[i] = s.startWorker()
			all = append(all, workers[i])
		}
	}
	s.waitDecided(sent, 3*time.Minute)
	confirmed, failed := s.checkInvariants(sent)
	claims := 0 // from every worker's log, the killed ones' too
	for _, w := range all {
		claims += strings.Count(w.out.String(), "claimed entries left by another consumer")
	}
	t.Logf("%d kills, %d claims; %d orders: %d confirmed, %d failed", kills, claims, len(sent), confirmed, failed)
	if kills < 3 || claims == 0 {
		t.Fatalf("%d kills and %d claims: the test did not exercise a takeover of a dead worker's entries", kills, claims)
	}
}
