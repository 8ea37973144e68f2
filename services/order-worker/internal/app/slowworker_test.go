package app_test

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// TestSlowWorkersTakeOnlyWhatTheyCanStart: a worker reads no more entries
// than it has free slots, so entries wait on the stream (lag), not in a slow
// worker's pending list where another worker would claim them after
// claimIdle — each claim a delivery counted towards the dead letters.
// Two workers, 2 slots each, 400 ms per order (the slowdown fault), claimIdle 2 s:
// reading a batch of 32 would leave entries waiting 6 s for a slot.
func TestSlowWorkersTakeOnlyWhatTheyCanStart(t *testing.T) {
	s := newShop(t, schematest.MigratedDatabase(t), testenv.Redis(t), 1000, 1000)
	slow := []string{"WORKER_CONSUMER_CONCURRENCY=2", "WORKER_FAULTS_SLOWDOWN=400ms", "WORKER_CONSUMER_BATCH_SIZE=32"}
	workers := []*proc{s.startWorker(slow...), s.startWorker(slow...)}
	sent := s.enqueue(60, 4, 0)
	s.waitDecided(sent, 90*time.Second)
	s.checkInvariants(sent)
	claimed := regexp.MustCompile(`(?m)^shop_order_entries_claimed_total (\S+)$`)
	for i, w := range workers {
		_, metrics := w.get("/metrics")
		m := claimed.FindStringSubmatch(metrics)
		if m == nil {
			t.Fatalf("worker %d exports no shop_order_entries_claimed_total", i)
		}
		if n, _ := strconv.ParseFloat(m[1], 64); n != 0 {
			t.Errorf("worker %d claimed %v entries held by a slow worker", i, n)
		}
	}
	if n, _ := s.rdb.XLen(context.Background(), orderstream.DeadLetters).Result(); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}
