package app_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

// opsStack is two api replicas and an order-worker process whose pause
// switches are read every 100 ms.
func opsStack(t *testing.T, stocks ...int) *stack {
	dbs := testenvDB(t)
	s := newStackOn(t, dbs.db, dbs.redis, func(spec *apiconfig.Spec, _ *[]string) {
		spec.Operations.ControlRefresh = 100 * time.Millisecond
	}, stocks...)
	s.worker("1h")
	return s
}

type deadPage struct {
	Items []struct {
		ID            string            `json:"id"`
		Reason        string            `json:"reason"`
		Error         string            `json:"error"`
		OrderID       string            `json:"order_id"`
		UserID        int64             `json:"user_id"`
		ProductIDs    []int64           `json:"product_ids"`
		Fields        map[string]string `json:"fields"`
		DiscardReason string            `json:"discard_reason"`
		DiscardedBy   string            `json:"discarded_by"`
	} `json:"items"`
	Total              int    `json:"total"`
	DiscardedRetention string `json:"discarded_retention"`
}

func (s *stack) deadLetters(admin, query string) deadPage {
	s.t.Helper()
	var p deadPage
	expect(s.t, s.apis[0].do(req{method: "GET", path: "/api/v1/admin/dead-letters" + query, token: admin}), 200).json(s.t, &p)
	return p
}

// poison puts an entry on the order stream as a faulty producer would.
func (s *stack) poison(fields map[string]any) uuid.UUID {
	s.t.Helper()
	id := uuid.New()
	fields["order_id"] = id.String()
	if err := s.apis[0].rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: orderstream.Stream, Values: fields}).Err(); err != nil {
		s.t.Fatal(err)
	}
	return id
}

// TestDeadLettersFromTheConsole: letters the real worker dead-lettered are
// listed with filters, inspected, discarded (kept, with the reason) and
// replayed (one, and all matching); every action is in the audit log.
func TestDeadLettersFromTheConsole(t *testing.T) {
	s := opsStack(t, 100, 100)
	admin := s.apis[0].admin()
	ids := sortedIDs(s.products)
	_, uid := s.apis[0].customer("dl@example.com")
	now := time.Now().UTC().Format(time.RFC3339Nano)
	items := func(p int64) string { return fmt.Sprintf(`[{"product_id":%d,"quantity":1}]`, p) }
	unknown := s.poison(map[string]any{"v": "99", "user_id": fmt.Sprint(uid), "items": items(ids[0]), "accepted_at": now})
	orphan := s.poison(map[string]any{"v": "1", "user_id": "424242", "items": items(ids[1]), "accepted_at": now})
	broken := s.poison(map[string]any{"v": "1", "user_id": fmt.Sprint(uid), "items": "{nope", "accepted_at": now})
	eventually(t, 30*time.Second, "three dead letters", func() bool { return s.deadLetters(admin, "").Total == 3 })

	var q struct {
		Totals struct {
			DeadLetters int `json:"dead_letters"`
			Consumers   int `json:"consumers"`
		} `json:"totals"`
	}
	expect(t, s.apis[1].do(req{method: "GET", path: "/api/v1/admin/queues", token: admin}), 200).json(t, &q)
	if q.Totals.DeadLetters != 3 || q.Totals.Consumers != 1 {
		t.Fatalf("queues: %+v, want 3 dead letters and 1 consumer", q.Totals)
	}
	for query, want := range map[string]string{
		fmt.Sprintf("?reason=poison_message&product_id=%d", ids[0]): unknown.String(),
		fmt.Sprintf("?product_id=%d", ids[1]):                       orphan.String(),
		"?user_id=424242&reason=rejected_by_database":               orphan.String(),
		fmt.Sprintf("?user_id=%d&older_than=0s", uid):               "", // two match: checked below
		fmt.Sprintf("?user_id=%d&limit=1", 9999):                    "",
	} {
		if strings.Contains(query, "older_than=0s") {
			if p := s.deadLetters(admin, query+"&limit=1"); p.Total != 2 || len(p.Items) != 1 {
				t.Errorf("dead letters %s: total %d, %d items; want 2 and a page of 1", query, p.Total, len(p.Items))
			}
			continue
		}
		p := s.deadLetters(admin, query)
		if (want == "" && p.Total != 0) || (want != "" && (p.Total != 1 || p.Items[0].OrderID != want)) {
			t.Errorf("dead letters %s: %+v, want order %q", query, p, want)
		}
	}
	if p := s.deadLetters(admin, "?older_than=1h"); p.Total != 0 {
		t.Errorf("older_than=1h matched %d fresh letters", p.Total)
	}
	byOrder := map[string]string{}
	for _, l := range s.deadLetters(admin, "").Items {
		byOrder[l.OrderID] = l.ID
	}
	var one struct {
		Error  string            `json:"error"`
		Fields map[string]string `json:"fields"`
	}
	expect(t, s.apis[0].do(req{method: "GET", path: "/api/v1/admin/dead-letters/" + byOrder[unknown.String()], token: admin}), 200).json(t, &one)
	if one.Fields["v"] != "99" || one.Fields["items"] != items(ids[0]) || !strings.Contains(one.Error, "99") {
		t.Fatalf("inspected letter lacks its original fields or error: %+v", one)
	}

	// Bad selections change nothing.
	p := expect(t, s.apis[0].do(req{method: "POST", path: "/api/v1/admin/dead-letters/replay", token: admin, badRequest: true,
		body: map[string]any{"ids": []string{"zero"}, "reason": "x"}}), 422).problem(t)
	if !slices.Equal(p.names(), []string{"#/ids/0"}) {
		t.Fatalf("bad id: %v", p.names())
	}
	expect(t, s.apis[0].do(req{method: "POST", path: "/api/v1/admin/dead-letters/replay", token: admin,
		body: map[string]any{"ids": []string{"0:1-0", byOrder[orphan.String()]}, "reason": "x"}}), 404)
	p = expect(t, s.apis[0].do(req{method: "POST", path: "/api/v1/admin/dead-letters/discard", token: admin, badRequest: true,
		body: map[string]any{"ids": []string{byOrder[broken.String()]}}}), 422).problem(t)
	if !slices.Equal(p.names(), []string{"#/reason"}) {
		t.Fatalf("discard without a reason: %v", p.names())
	}
	if n := s.deadLetters(admin, "").Total; n != 3 {
		t.Fatalf("%d dead letters after refused actions, want 3", n)
	}

	// Discard the broken one: kept in the discarded stream with the reason.
	var d struct{ Discarded int }
	expect(t, s.apis[0].do(req{method: "POST", path: "/api/v1/admin/dead-letters/discard", token: admin,
		body: map[string]any{"ids": []string{byOrder[broken.String()]}, "reason": "garbage from a test producer"}}), 200).json(t, &d)
	disc := s.deadLetters(admin, "?state=discarded")
	if d.Discarded != 1 || disc.Total != 1 || disc.Items[0].DiscardReason != "garbage from a test producer" ||
		disc.Items[0].DiscardedBy != adminEmail || disc.DiscardedRetention != "720h0m0s" {
		t.Fatalf("discarded: %d, list %+v", d.Discarded, disc)
	}

	// Fix the orphan's cause, replay it: confirmed.
	if _, err := s.apis[0].db.Exec(context.Background(), `INSERT INTO users (id, email, password_hash, role) OVERRIDING SYSTEM VALUE
		VALUES (424242, 'late@example.com', 'x', 'customer')`); err != nil {
		t.Fatal(err)
	}
	var r struct{ Replayed int }
	expect(t, s.apis[1].do(req{method: "POST", path: "/api/v1/admin/dead-letters/replay", token: admin,
		body: map[string]any{"ids": []string{byOrder[orphan.String()]}, "reason": "user restored"}}), 200).json(t, &r)
	eventually(t, 30*time.Second, "the replayed order confirmed", func() bool {
		return s.count(`SELECT count(*) FROM orders WHERE id = $1 AND status = 'confirmed'`, orphan) == 1
	})
	// Replay all matching: the unknown version dies again (same reason).
	expect(t, s.apis[0].do(req{method: "POST", path: "/api/v1/admin/dead-letters/replay", token: admin,
		body: map[string]any{"all": true, "filter": map[string]any{"reason": "poison_message", "product_id": ids[0]}, "reason": "after the deploy"}}), 200).json(t, &r)
	if r.Replayed != 1 {
		t.Fatalf("replay all matching moved %d, want 1", r.Replayed)
	}
	eventually(t, 30*time.Second, "the unknown version dead again", func() bool {
		p := s.deadLetters(admin, "")
		return p.Total == 1 && p.Items[0].OrderID == unknown.String()
	})

	checkAudit(t, s, admin, []string{"replay_dead_letters", "replay_dead_letters", "discard_dead_letters", "replay_dead_letters"},
		[]string{"done", "done", "done", "failed"})
}

// checkAudit: the newest audit records are actions (newest first) with
// these outcomes, each naming the admin and a reason.
func checkAudit(t *testing.T, s *stack, admin string, actions, outcomes []string) {
	t.Helper()
	var page struct {
		Items []struct {
			Action     string         `json:"action"`
			AdminEmail string         `json:"admin_email"`
			Reason     string         `json:"reason"`
			Target     string         `json:"target"`
			Detail     map[string]any `json:"detail"`
		} `json:"items"`
		Total int `json:"total"`
	}
	expect(t, s.apis[0].do(req{method: "GET", path: "/api/v1/admin/actions", token: admin}), 200).json(t, &page)
	if page.Total != len(actions) {
		t.Fatalf("%d audit records, want %d: %+v", page.Total, len(actions), page.Items)
	}
	var past struct {
		Items []any `json:"items"`
		Total int   `json:"total"`
	}
	expect(t, s.apis[0].do(req{method: "GET", path: "/api/v1/admin/actions?offset=1000", token: admin}), 200).json(t, &past)
	if past.Total != len(actions) || len(past.Items) != 0 {
		t.Fatalf("audit log from offset 1000: %+v, want no items and total %d", past, len(actions))
	}
	for i, a := range page.Items {
		if a.Action != actions[i] || a.Detail["outcome"] != outcomes[i] || a.AdminEmail != adminEmail || a.Reason == "" || a.Target == "" {
			t.Errorf("audit record %d: %+v, want %s %s", i, a, actions[i], outcomes[i])
		}
	}
}

func sortedIDs(m map[int64]int) []int64 {
	var ids []int64
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// TestPauseIntakeAndConsumption: a paused intake answers 503 intake-paused
// with Retry-After on every replica and orders nothing; a paused
// consumption keeps accepting while the worker decides nothing (the queue
// page shows the lag), and the resume decides them all. Both switches are
// audited; bad requests name the field.
func TestPauseIntakeAndConsumption(t *testing.T) {
	s := opsStack(t, 1000)
	admin := s.apis[0].admin()
	cust, _ := s.apis[0].customer("pause@example.com")
	pid := int(sortedIDs(s.products)[0])
	sw := func(path string, body map[string]any) {
		t.Helper()
		expect(t, s.apis[0].do(req{method: "POST", path: path, token: admin, body: body}), 200)
	}
	p := expect(t, s.apis[0].do(req{method: "POST", path: "/api/v1/admin/queues/consumption", token: admin, badRequest: true,
		body: map[string]any{"retry_after_seconds": 5}}), 422).problem(t)
	if !slices.Equal(p.names(), []string{"#/reason", "#/paused", "#/retry_after_seconds"}) {
		t.Fatalf("bad switch request: %v", p.names())
	}

	sw("/api/v1/admin/intake", map[string]any{"paused": true, "reason": "database upgrade", "retry_after_seconds": 45})
	refused := func(i int) bool {
		r := s.apis[i].do(req{method: "POST", path: "/api/v1/orders", token: cust, body: orderBody([2]int{pid, 1})})
		if r.status != 503 {
			return false
		}
		if pb := r.problem(t); !strings.HasSuffix(pb.Type, "/intake-paused") || !strings.Contains(pb.Detail, "database upgrade") ||
			r.header.Get("Retry-After") != "45" {
			t.Fatalf("paused intake answered %+v, Retry-After %q", pb, r.header.Get("Retry-After"))
		}
		return true
	}
	for i := range s.apis {
		eventually(t, 5*time.Second, "intake paused on replica "+fmt.Sprint(i), func() bool { return refused(i) })
	}
	onStream, _ := s.apis[0].rdb.XLen(context.Background(), orderstream.Stream).Result()
	for i := range 6 {
		if !refused(i % 2) {
			t.Fatalf("an order was accepted on replica %d while intake was paused", i%2)
		}
	}
	if n, _ := s.apis[0].rdb.XLen(context.Background(), orderstream.Stream).Result(); n != onStream {
		t.Fatalf("%d entries reached the stream while intake was paused", n-onStream)
	}
	// Orders accepted before the pause reached a replica are decided as usual.
	eventually(t, 20*time.Second, "orders taken before the pause decided", func() bool {
		return s.count(`SELECT count(*) FROM orders`) == int(onStream)
	})
	before := int(onStream)
	sw("/api/v1/admin/intake", map[string]any{"paused": false, "reason": "upgrade done"})
	sw("/api/v1/admin/queues/consumption", map[string]any{"paused": true, "reason": "hold the worker"})
	var q struct {
		Consumption struct {
			Paused bool   `json:"paused"`
			By     string `json:"by"`
		} `json:"consumption"`
		Totals struct{ Lag int } `json:"totals"`
	}
	// The worker reads the switch every second and a read already waiting
	// on the stream ends within its block (200 ms): let the pause complete.
	time.Sleep(2500 * time.Millisecond)
	var ids []string
	eventually(t, 5*time.Second, "intake open again on both replicas", func() bool {
		for i := range s.apis {
			if id, ok := s.place(i, cust, [2]int{pid, 1}); ok {
				ids = append(ids, id)
			}
		}
		return len(ids) >= 4
	})
	expect(t, s.apis[1].do(req{method: "GET", path: "/api/v1/admin/queues", token: admin}), 200).json(t, &q)
	if !q.Consumption.Paused || q.Consumption.By != adminEmail || q.Totals.Lag != len(ids) {
		t.Fatalf("queues while consumption paused: %+v, want paused by %s with lag %d", q, adminEmail, len(ids))
	}
	if n := s.count(`SELECT count(*) FROM orders`); n != before {
		t.Fatalf("%d orders decided while consumption was paused", n-before)
	}
	sw("/api/v1/admin/queues/consumption", map[string]any{"paused": false, "reason": "go on"})
	eventually(t, 20*time.Second, "every order decided after the resume", func() bool {
		return s.count(`SELECT count(*) FROM orders`) == before+len(ids)
	})
	checkAudit(t, s, admin, []string{"resume_consumption", "pause_consumption", "resume_intake", "pause_intake"},
		[]string{"done", "done", "done", "done"})
}

// TestCatalogueFromTheConsole: dead catalogue events are listed, inspected
// and retried (pending again, attempts from zero); a reconcile request is
// recorded for catalog-sync (which runs it: catalog-sync's tests) and
// readable by id.
func TestCatalogueFromTheConsole(t *testing.T) {
	s := opsStack(t)
	e := s.apis[0]
	admin := e.admin()
	p := e.createProduct(admin, "OPS-CAT-1", 3)
	// As catalog-sync does when it gives up on an event.
	if _, err := e.db.Exec(context.Background(), `UPDATE catalog_outbox SET dead_at = now(), attempts = 8,
		last_error = 'directus: 500' WHERE product_id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	var c struct {
		Dead          int `json:"dead"`
		LastReconcile any `json:"last_reconcile"`
	}
	expect(t, e.do(req{method: "GET", path: "/api/v1/admin/catalog", token: admin}), 200).json(t, &c)
	if c.Dead != 1 || c.LastReconcile != nil {
		t.Fatalf("catalog: %+v, want 1 dead event and no reconcile yet", c)
	}
	var page struct {
		Items []struct {
			ID        int64  `json:"id"`
			LastError string `json:"last_error"`
		} `json:"items"`
		Total int `json:"total"`
	}
	expect(t, e.do(req{method: "GET", path: "/api/v1/admin/catalog/dead-events?offset=3", token: admin}), 200).json(t, &page)
	if len(page.Items) != 0 || page.Total != 1 {
		t.Fatalf("dead events from offset 3: %+v, want no items and total 1", page)
	}
	expect(t, e.do(req{method: "GET", path: "/api/v1/admin/catalog/dead-events", token: admin}), 200).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].LastError != "directus: 500" || page.Total != 1 {
		t.Fatalf("dead events: %+v", page)
	}
	id := page.Items[0].ID
	var ev struct {
		Payload struct {
			Product struct{ SKU string } `json:"product"`
		} `json:"payload"`
	}
	expect(t, e.do(req{method: "GET", path: fmt.Sprintf("/api/v1/admin/catalog/dead-events/%d", id), token: admin}), 200).json(t, &ev)
	if ev.Payload.Product.SKU != "OPS-CAT-1" {
		t.Fatalf("dead event payload: %v", ev.Payload)
	}
	expect(t, e.do(req{method: "POST", path: "/api/v1/admin/catalog/dead-events/retry", token: admin,
		body: map[string]any{"ids": []int64{id + 1000}, "reason": "x"}}), 404)
	var r struct{ Retried int }
	expect(t, e.do(req{method: "POST", path: "/api/v1/admin/catalog/dead-events/retry", token: admin,
		body: map[string]any{"ids": []int64{id}, "reason": "directus is back"}}), 200).json(t, &r)
	if r.Retried != 1 || e.count(`SELECT count(*) FROM catalog_outbox WHERE id = $1 AND dead_at IS NULL AND attempts = 0 AND processed_at IS NULL`, id) != 1 {
		t.Fatalf("retried %d; the event is not pending again", r.Retried)
	}
	expect(t, e.do(req{method: "GET", path: fmt.Sprintf("/api/v1/admin/catalog/dead-events/%d", id), token: admin}), 404)

	var rec struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	res := expect(t, e.do(req{method: "POST", path: "/api/v1/admin/catalog/reconciles", token: admin,
		body: map[string]any{"reason": "editor changed Directus by hand"}}), 202)
	res.json(t, &rec)
	if rec.Status != "requested" || rec.Reason != "editor changed Directus by hand" || res.header.Get("Location") != fmt.Sprintf("/api/v1/admin/catalog/reconciles/%d", rec.ID) {
		t.Fatalf("reconcile request: %+v, Location %q", rec, res.header.Get("Location"))
	}
	expect(t, e.do(req{method: "GET", path: res.header.Get("Location"), token: admin}), 200).json(t, &rec)
	expect(t, e.do(req{method: "GET", path: "/api/v1/admin/catalog/reconciles/99999", token: admin}), 404)
	checkAudit(t, s, admin, []string{"request_catalog_reconcile", "retry_catalog_events"}, []string{"done", "done"})
}
