package app_test

import (
	"context"
	"fmt"
	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

type accepted struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	AcceptedAt time.Time `json:"accepted_at"`
}

type orderView struct {
	ID     string `json:"id"`
	UserID int64  `json:"user_id"`
	Status string `json:"status"`
	Reason string `json:"reason"`
	Items  []struct {
		ProductID      int64  `json:"product_id"`
		Quantity       int    `json:"quantity"`
		UnitPriceMinor *int64 `json:"unit_price_minor"`
	} `json:"items"`
	TotalMinor     *int64      `json:"total_minor"`
	Actions        []string    `json:"actions"`
	Events         []eventView `json:"events"`
	PaymentDueAt   *time.Time  `json:"payment_due_at"`
	Carrier        *string     `json:"carrier"`
	TrackingNumber *string     `json:"tracking_number"`
}

// eventView is one entry of an order's timeline.
type eventView struct {
	ID        int64          `json:"id"`
	Type      string         `json:"type"`
	Status    string         `json:"status"`
	Actor     string         `json:"actor"`
	Reason    *string        `json:"reason"`
	PaymentID *string        `json:"payment_id"`
	RefundID  *string        `json:"refund_id"`
	Detail    map[string]any `json:"detail"`
}

// types lists the timeline's event types, oldest first.
func (o orderView) types() []string {
	out := []string{}
	for _, e := range o.Events {
		out = append(out, e.Type)
	}
	return out
}

func orderBody(lines ...[2]int) map[string]any {
	items := []map[string]int{}
	for _, l := range lines {
		items = append(items, map[string]int{"product_id": l[0], "quantity": l[1]})
	}
	return map[string]any{"items": items}
}

func (e *env) streamEntries() []map[string]any {
	e.t.Helper()
	msgs, err := e.rdb.XRange(context.Background(), orderstream.Stream, "-", "+").Result()
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		out[i] = m.Values
	}
	return out
}

func TestPlaceOrderEnqueuesVersionedMessage(t *testing.T) {
	e := newEnv(t)
	tok, uid := e.customer("olga@example.com")
	traceparent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	var a accepted
	r := expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: tok, body: orderBody([2]int{7, 2}, [2]int{9, 1}),
		headers: map[string]string{"traceparent": traceparent}}), 202)
	r.json(t, &a)
	if a.Status != "pending" || r.header.Get("Location") != "/api/v1/orders/"+a.ID {
		t.Fatalf("accepted %+v, Location %q", a, r.header.Get("Location"))
	}
	entries := e.streamEntries()
	if len(entries) != 1 {
		t.Fatalf("stream has %d entries, want 1", len(entries))
	}
	msg, err := orderstream.Decode(entries[0])
	if err != nil {
		t.Fatalf("stream entry does not decode with the shared contract: %v", err)
	}
	if msg.OrderID.String() != a.ID || msg.UserID != uid || len(msg.Items) != 2 || msg.Items[0].ProductID != 7 || msg.Items[1].Quantity != 1 {
		t.Fatalf("message %+v", msg)
	}
	if entries[0]["v"] != "1" {
		t.Fatalf("schema version field %v", entries[0]["v"])
	}
	// The request's trace continues into the message: same trace id, new span.
	if !strings.HasPrefix(msg.Traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-") || msg.Traceparent == traceparent {
		t.Fatalf("traceparent in message %q does not continue the request's trace", msg.Traceparent)
	}
	// Pending status is readable by the owner and an admin, not by others.
	var o orderView
	expect(t, e.do(req{method: "GET", path: "/api/v1/orders/" + a.ID, token: tok}), 200).json(t, &o)
	if o.Status != "pending" || o.UserID != uid || len(o.Items) != 2 {
		t.Fatalf("pending order %+v", o)
	}
	expect(t, e.do(req{method: "GET", path: "/api/v1/orders/" + a.ID, token: e.admin()}), 200)
	other, _ := e.customer("mallory@example.com")
	expect(t, e.do(req{method: "GET", path: "/api/v1/orders/" + a.ID, token: other}), 404).problem(t)

	// The funnel and RED metrics saw it, labelled by route pattern, not raw path.
	metrics := e.metrics()
	for _, want := range []string{
		`shop_orders_accepted_total{replayed="false"} 1`,
		`http_server_requests_total{code="202",method="POST",route="/api/v1/orders"} 1`,
		`http_server_requests_total{code="404",method="GET",route="/api/v1/orders/{id}"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
}

func (e *env) metrics() string {
	e.t.Helper()
	res, err := http.Get(e.base + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func TestIdempotentIntakeUnderConcurrentRetries(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.customer("ida@example.com")
	const n = 50
	ids := make([]string, n)
	ats := make([]time.Time, n)
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			r := e.do(req{method: "POST", path: "/api/v1/orders", token: tok, body: orderBody([2]int{1, 3}),
				headers: map[string]string{"Idempotency-Key": "checkout-42"}})
			codes[i] = r.status
			var a accepted
			if r.status == 202 {
				r.json(t, &a)
			}
			ids[i], ats[i] = a.ID, a.AcceptedAt
		}(i)
	}
	close(start)
	wg.Wait()
	for i := range n {
		if codes[i] != 202 || ids[i] == "" || ids[i] != ids[0] {
			t.Fatalf("retry %d: status %d id %q, want 202 and id %q", i, codes[i], ids[i], ids[0])
		}
		// The first answer and the replays carry the same instant.
		if !ats[i].Equal(ats[0]) {
			t.Fatalf("retry %d: accepted_at %v, another answer %v", i, ats[i], ats[0])
		}
	}
	var o struct {
		AcceptedAt time.Time `json:"accepted_at"`
	}
	expect(t, e.do(req{method: "GET", path: "/api/v1/orders/" + ids[0], token: tok}), 200).json(t, &o)
	if !o.AcceptedAt.Equal(ats[0]) {
		t.Fatalf("pending order accepted_at %v, the answers %v", o.AcceptedAt, ats[0])
	}
	if got := len(e.streamEntries()); got != 1 {
		t.Fatalf("stream has %d entries after %d retries with one key, want exactly 1", got, n)
	}
	// Same key, different body: refused, nothing enqueued.
	p := expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: tok, body: orderBody([2]int{1, 4}),
		headers: map[string]string{"Idempotency-Key": "checkout-42"}}), 422).problem(t)
	if strings.Join(p.names(), ",") != "Idempotency-Key" {
		t.Fatalf("names %v", p.names())
	}
	// The key is per user: another customer's identical key is a new order.
	tok2, _ := e.customer("jon@example.com")
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: tok2, body: orderBody([2]int{1, 3}),
		headers: map[string]string{"Idempotency-Key": "checkout-42"}}), 202)
	if got := len(e.streamEntries()); got != 2 {
		t.Fatalf("stream has %d entries, want 2", got)
	}
}

// TestDecidedOrdersAndListing writes a decision as order-worker would and
// checks status, lines and the merged listing.
func TestDecidedOrdersAndListing(t *testing.T) {
	e := newEnv(t)
	tok, uid := e.customer("lin@example.com")
	var first, second accepted
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: tok, body: orderBody([2]int{3, 2})}), 202).json(t, &first)
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: tok, body: orderBody([2]int{4, 1})}), 202).json(t, &second)
	ctx := context.Background()
	if _, err := e.db.Exec(ctx, `INSERT INTO orders (id, user_id, status, total_minor, currency, accepted_at)
		VALUES ($1, $2, 'confirmed', 3998, 'EUR', now())`, first.ID, uid); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(ctx, `INSERT INTO order_items (order_id, line, product_id, quantity, unit_price_minor, currency)
		VALUES ($1, 0, 3, 2, 1999, 'EUR')`, first.ID); err != nil {
		t.Fatal(err)
	}
	var o orderView
	expect(t, e.do(req{method: "GET", path: "/api/v1/orders/" + first.ID, token: tok}), 200).json(t, &o)
	if o.Status != "confirmed" || o.TotalMinor == nil || *o.TotalMinor != 3998 || len(o.Items) != 1 || *o.Items[0].UnitPriceMinor != 1999 {
		t.Fatalf("confirmed order %+v", o)
	}
	var page struct {
		Items []orderView `json:"items"`
		Total int         `json:"total"`
	}
	expect(t, e.do(req{method: "GET", path: "/api/v1/orders", token: tok}), 200).json(t, &page)
	if page.Total != 2 || len(page.Items) != 2 || page.Items[0].ID != second.ID || page.Items[0].Status != "pending" ||
		page.Items[1].ID != first.ID || page.Items[1].Status != "confirmed" {
		t.Fatalf("listing %+v", page)
	}
	expect(t, e.do(req{method: "GET", path: "/api/v1/orders?status=pending", token: tok}), 200).json(t, &page)
	if page.Total != 1 || page.Items[0].ID != second.ID {
		t.Fatalf("pending listing %+v", page)
	}
	// Admin sees decided orders of everyone and may filter by user.
	expect(t, e.do(req{method: "GET", path: fmt.Sprintf("/api/v1/orders?status=confirmed&user_id=%d", uid), token: e.admin()}), 200).json(t, &page)
	if page.Total != 1 || page.Items[0].ID != first.ID {
		t.Fatalf("admin listing %+v", page)
	}
	// Customers may not filter by user.
	expect(t, e.do(req{method: "GET", path: "/api/v1/orders?user_id=1", token: tok}), 400).problem(t)
}

// TestRedisDownGives503 stops a dedicated Redis: order intake answers 503
// with Retry-After quickly (no hang, no 500), readiness fails, and intake
// works again once Redis is back.
func TestRedisDownGives503(t *testing.T) {
	srv := testenv.NewRedisServer(t)
	spec, keys := testSpec(t, schematest.MigratedDatabase(t), srv.URL())
	e := startEnv(t, spec, keys)
	tok, _ := e.customer("rita@example.com")
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: tok, body: orderBody([2]int{1, 1})}), 202)

	srv.Stop(t)
	start := time.Now()
	r := expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: tok, body: orderBody([2]int{1, 1}),
		headers: map[string]string{"Idempotency-Key": "during-outage"}}), 503)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("503 took %s: the api must fail fast while Redis is down", took)
	}
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	r.problem(t)
	rr, err := http.Get(e.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	rr.Body.Close()
	if rr.StatusCode != 503 {
		t.Fatalf("readyz = %d while Redis is down, want 503", rr.StatusCode)
	}

	srv.Start(t)
	eventually(t, 10*time.Second, "intake to recover", func() bool {
		return e.do(req{method: "POST", path: "/api/v1/orders", token: tok, body: orderBody([2]int{1, 1}),
			headers: map[string]string{"Idempotency-Key": "during-outage"}}).status == 202
	})
	// The first order survived the restart (AOF) and the retried key made one more.
	if got := len(e.streamEntries()); got != 2 {
		t.Fatalf("stream has %d entries after the outage, want 2", got)
	}
}

// TestPerUserOrderRateLimit: beyond the per-user limit intake answers 429
// with Retry-After and enqueues nothing; replays of an accepted
// Idempotency-Key and other users are not affected.
func TestPerUserOrderRateLimit(t *testing.T) {
	e := newEnv(t, func(s *apiconfig.Spec) { s.RateLimit.OrdersPerUser = 3 })
	tok, _ := e.customer("busy@example.com")
	for i := range 3 {
		expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: tok, body: orderBody([2]int{1, 1}),
			headers: map[string]string{"Idempotency-Key": fmt.Sprintf("k%d", i)}}), 202)
	}
	r := expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: tok, body: orderBody([2]int{1, 1})}), 429)
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	r.problem(t)
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: tok, body: orderBody([2]int{1, 1}),
		headers: map[string]string{"Idempotency-Key": "k0"}}), 202)
	other, _ := e.customer("calm@example.com")
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: other, body: orderBody([2]int{1, 1})}), 202)
	if got := len(e.streamEntries()); got != 4 {
		t.Fatalf("stream has %d entries, want 4 (3 + the other user's)", got)
	}
}
