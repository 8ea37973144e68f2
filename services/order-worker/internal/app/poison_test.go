package app_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// TestPoisonGoesToDeadLettersAndReplayWorks: garbage entries land in
// new_orders:dead with a reason and their original fields, orders with a
// readable id are recorded failed, and `order-worker dlq replay` puts a
// dead letter back once its cause is fixed.
func TestPoisonGoesToDeadLettersAndReplayWorks(t *testing.T) {
	s := newShop(t, schematest.MigratedDatabase(t), testenv.Redis(t), 10)
	ctx := context.Background()
	var product int64
	for id := range s.initial {
		product = id
	}
	good := orderstream.Message{OrderID: uuid.New(), UserID: s.users[0], Items: []orderstream.Item{{ProductID: product, Quantity: 1}}, AcceptedAt: time.Now().UTC()}
	futureVersion := good.Encode()
	futureID := uuid.New()
	futureVersion["order_id"], futureVersion["v"] = futureID.String(), "99"
	// A well-formed order of a user that does not exist (yet): the database
	// refuses it; after the operator creates the user, replay succeeds.
	orphan := orderstream.Message{OrderID: uuid.New(), UserID: 424242, Items: []orderstream.Item{{ProductID: product, Quantity: 2}}, AcceptedAt: time.Now().UTC()}
	badItemsID := uuid.New()
	entries := []map[string]any{
		{"garbage": "yes"}, // no order id at all
		futureVersion,      // unknown schema version, id readable
		{"v": "1", "order_id": badItemsID.String(), "user_id": strconv.FormatInt(s.users[1], 10), "items": "not json", "accepted_at": "2026-01-01T00:00:00Z"},
		orphan.Encode(),
		good.Encode(),
	}
	for _, e := range entries {
		if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: orderstream.Stream, Values: e}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	s.startWorker()
	eventually(t, 30*time.Second, "4 dead letters and 3 orders decided", func() bool {
		n, _ := s.rdb.XLen(ctx, orderstream.DeadLetters).Result()
		return n == 4 && s.decided() == 3
	})
	dead, err := s.rdb.XRange(ctx, orderstream.DeadLetters, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for _, d := range dead {
		reasons[d.Values["dead_reason"].(string)]++
		if d.Values["dead_original_id"] == nil || d.Values["dead_error"] == nil {
			t.Fatalf("dead letter lacks provenance: %v", d.Values)
		}
	}
	if reasons["poison_message"] != 3 || reasons["rejected_by_database"] != 1 {
		t.Fatalf("dead-letter reasons %v", reasons)
	}
	kept := false
	for _, d := range dead {
		if d.Values["order_id"] == futureID.String() {
			kept = d.Values["v"] == "99" && d.Values["items"] == futureVersion["items"]
		}
	}
	if !kept {
		t.Fatalf("original fields of the future-version entry not kept: %v", dead)
	}
	var status, reason string
	if err := s.db.QueryRow(ctx, "SELECT status, failure_reason FROM orders WHERE id = $1", futureID).Scan(&status, &reason); err != nil ||
		status != "failed" || reason != "poison_message" {
		t.Fatalf("readable poison order recorded as %q %q (%v)", status, reason, err)
	}
	if err := s.db.QueryRow(ctx, "SELECT status FROM orders WHERE id = $1", good.OrderID).Scan(&status); err != nil || status != "confirmed" {
		t.Fatalf("good order %q %v", status, err)
	}

	list := dlq(t, s, "list")
	if !strings.Contains(list, "rejected_by_database") || !strings.Contains(list, orphan.OrderID.String()) {
		t.Fatalf("dlq list output:\n%s", list)
	}
	// Fix the cause, then replay just that dead letter.
	if _, err := s.db.Exec(ctx, `INSERT INTO users (id, email, password_hash, role) OVERRIDING SYSTEM VALUE VALUES (424242, 'late@x.io', 'x', 'customer')`); err != nil {
		t.Fatal(err)
	}
	var orphanDead string
	for _, d := range dead {
		if d.Values["order_id"] == orphan.OrderID.String() {
			orphanDead = d.ID
		}
	}
	dlq(t, s, "replay", orphanDead)
	eventually(t, 30*time.Second, "the replayed order to be confirmed", func() bool {
		var st string
		_ = s.db.QueryRow(ctx, "SELECT status FROM orders WHERE id = $1", orphan.OrderID).Scan(&st)
		return st == "confirmed"
	})
	if n, _ := s.rdb.XLen(ctx, orderstream.DeadLetters).Result(); n != 3 {
		t.Fatalf("%d dead letters after replaying one of 4", n)
	}
	s.checkInvariants([]uuid.UUID{futureID, badItemsID, good.OrderID, orphan.OrderID})
}

func dlq(t *testing.T, s *shop, args ...string) string {
	t.Helper()
	cmd := exec.Command(workerBinary(t), append([]string{"dlq"}, args...)...)
	cmd.Env = append(append(os.Environ(), "WORKER_REDIS_URL="+s.redisURL, "WORKER_DATABASE_URL="+s.dbURL), s.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("order-worker dlq %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestSIGTERMDrainsAndExits: on SIGTERM the worker stops reading, finishes
// what it holds, and exits 0 with nothing left pending under its name.
func TestSIGTERMDrainsAndExits(t *testing.T) {
	s := newShop(t, schematest.MigratedDatabase(t), testenv.Redis(t), 5000, 5000)
	w := s.startWorker("WORKER_HTTP_DRAIN_DELAY=300ms")
	sent := s.enqueue(300, 4, 0)
	eventually(t, 20*time.Second, "some orders decided", func() bool { return s.decided() > 0 })
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case err := <-done:
		w.exited = true
		if err != nil {
			t.Fatalf("worker exited with %v after SIGTERM:\n%s", err, tail(w.out.String(), 2000))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not exit within 30s")
	}
	if !strings.Contains(w.out.String(), `"msg":"drained"`) {
		t.Fatalf("no clean drain logged:\n%s", tail(w.out.String(), 2000))
	}
	p, err := s.rdb.XPending(context.Background(), orderstream.Stream, orderstream.Group).Result()
	if err != nil || p.Count != 0 {
		t.Fatalf("entries left pending after a clean drain: %+v %v", p, err)
	}
	// A new worker finishes the rest.
	s.startWorker()
	s.waitDecided(sent, time.Minute)
	s.checkInvariants(sent)
}

// TestEntryDeliveredTooOftenIsDeadLettered: an entry that consumers keep
// taking without finishing (a crash loop on it) is dead-lettered after
// maxDeliveries and its order recorded failed.
func TestEntryDeliveredTooOftenIsDeadLettered(t *testing.T) {
	s := newShop(t, schematest.MigratedDatabase(t), testenv.Redis(t), 10)
	ctx := context.Background()
	var product int64
	for id := range s.initial {
		product = id
	}
	m := orderstream.Message{OrderID: uuid.New(), UserID: s.users[0], Items: []orderstream.Item{{ProductID: product, Quantity: 1}}, AcceptedAt: time.Now().UTC()}
	if err := s.rdb.XGroupCreateMkStream(ctx, orderstream.Stream, orderstream.Group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: orderstream.Stream, Values: m.Encode()}).Err(); err != nil {
		t.Fatal(err)
	}
	// Two "crashed" deliveries: read by a consumer that dies, then claimed by another that dies too.
	if err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: orderstream.Group, Consumer: "crashed-1", Streams: []string{orderstream.Stream, ">"}, Count: 1}).Err(); err != nil {
		t.Fatal(err)
	}
	pending, err := s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: orderstream.Stream, Group: orderstream.Group, Start: "-", End: "+", Count: 1}).Result()
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending %v %v", pending, err)
	}
	if err := s.rdb.XClaim(ctx, &redis.XClaimArgs{Stream: orderstream.Stream, Group: orderstream.Group, Consumer: "crashed-2", MinIdle: 0, Messages: []string{pending[0].ID}}).Err(); err != nil {
		t.Fatal(err)
	}
	s.startWorker("WORKER_CONSUMER_MAX_DELIVERIES=2", "WORKER_CONSUMER_CLAIM_IDLE=1s")
	eventually(t, 30*time.Second, "the entry to be dead-lettered", func() bool {
		n, _ := s.rdb.XLen(ctx, orderstream.DeadLetters).Result()
		return n == 1
	})
	var status, reason string
	if err := s.db.QueryRow(ctx, "SELECT status, failure_reason FROM orders WHERE id = $1", m.OrderID).Scan(&status, &reason); err != nil ||
		status != "failed" || reason != "max_deliveries_exceeded" {
		t.Fatalf("order recorded as %q %q (%v)", status, reason, err)
	}
	// Replay reopens it: the order is processed afresh and confirmed.
	dlq(t, s, "replay")
	eventually(t, 30*time.Second, "the replayed order to be confirmed", func() bool {
		var st string
		_ = s.db.QueryRow(ctx, "SELECT status FROM orders WHERE id = $1", m.OrderID).Scan(&st)
		return st == "confirmed"
	})
	s.checkInvariants([]uuid.UUID{m.OrderID})
}
