package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/kernel/pause"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// TestPauseStopsReadingAndResumeFinishes: while an operator's consumption
// pause is on, workers finish the entries they hold (nothing stays pending),
// read nothing new — a worker started during the pause included — and stay
// ready; after the resume every order is decided once.
func TestPauseStopsReadingAndResumeFinishes(t *testing.T) {
	s := newShop(t, schematest.MigratedDatabase(t), testenv.Redis(t), 100000, 100000, 100000)
	ctx := context.Background()
	w := s.startWorker()
	sent := s.enqueue(6000, 8, 0)
	eventually(t, 20*time.Second, "some orders decided", func() bool { return s.decided() > 0 })
	if err := pause.Write(ctx, s.rdb, pause.Consumption, pause.State{Paused: true, Reason: "test", By: "admin@test"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the worker paused with nothing pending", func() bool {
		_, metrics := w.get("/metrics")
		n, err := s.pending()
		return strings.Contains(metrics, "\nshop_order_consumption_paused 1") && err == nil && n == 0
	})
	late := s.startWorker()
	eventually(t, 10*time.Second, "the late worker paused too", func() bool {
		_, metrics := late.get("/metrics")
		return strings.Contains(metrics, "\nshop_order_consumption_paused 1")
	})
	held := s.decided()
	if held >= len(sent) {
		t.Fatalf("all %d orders were decided before the pause took effect; the test proves nothing", held)
	}
	// Nothing may move while paused: watch for two refresh intervals.
	for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if d := s.decided(); d != held {
			t.Fatalf("%d orders decided while paused (%d at the pause)", d, held)
		}
	}
	for _, p := range []*proc{w, late} {
		if code, body := p.get("/readyz"); code != 200 {
			t.Fatalf("paused worker not ready: %d %s", code, body)
		}
	}
	if err := pause.Write(ctx, s.rdb, pause.Consumption, pause.State{}); err != nil {
		t.Fatal(err)
	}
	s.waitDecided(sent, 60*time.Second)
	s.checkInvariants(sent)
	_, metrics := late.get("/metrics")
	if !strings.Contains(metrics, "\nshop_order_consumption_paused 0") {
		t.Fatalf("after the resume the gauge is not 0:\n%s", grepLines(metrics, "consumption_paused"))
	}
	t.Logf("paused with %d of %d decided; all decided after the resume", held, len(sent))
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
