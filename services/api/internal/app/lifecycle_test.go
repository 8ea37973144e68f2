package app_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
)

// confirmed stores an order of qty units of product as order-worker
// confirms one: the stock taken in the same transaction, the unit price
// captured, a payment deadline, and the timeline's first event.
func (e *env) confirmed(uid int64, product productView, qty int) string {
	e.t.Helper()
	id := uuid.NewString()
	ctx := context.Background()
	tx, err := e.db.Begin(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE products SET stock = stock - $2, version = version + 1 WHERE id = $1`, []any{product.ID, qty}},
		{`INSERT INTO orders (id, user_id, status, total_minor, currency, accepted_at, payment_due_at)
			SELECT $1, $2, 'confirmed', price_minor * $4, currency, now(), now() + interval '15 minutes' FROM products WHERE id = $3`,
			[]any{id, uid, product.ID, qty}},
		{`INSERT INTO order_items (order_id, line, product_id, quantity, unit_price_minor, currency)
			SELECT $1, 0, id, $3, price_minor, currency FROM products WHERE id = $2`, []any{id, product.ID, qty}},
		{`INSERT INTO order_events (order_id, type, status, actor) VALUES ($1, 'confirmed', 'confirmed', 'order-worker')`, []any{id}},
	} {
		if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
			e.t.Fatalf("confirm order: %s: %v", st.sql, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) order(token, id string) orderView {
	e.t.Helper()
	var o orderView
	expect(e.t, e.do(req{method: "GET", path: "/api/v1/orders/" + id, token: token}), 200).json(e.t, &o)
	return o
}

func (e *env) stock(productID int64) int {
	return e.count("SELECT stock FROM products WHERE id = $1", productID)
}

func pay(card string) map[string]string { return map[string]string{"payment_method": card} }

type paymentView struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Reason      string `json:"reason"`
	AmountMinor int64  `json:"amount_minor"`
	OrderStatus string `json:"order_status"`
}

// TestPayThenCancelRefundsOnceAndReturnsStock walks a customer's order
// through a declined card, a payment, a replayed payment request, a
// cancellation with refund, and the requests its state no longer allows.
func TestPayThenCancelRefundsOnceAndReturnsStock(t *testing.T) {
	e := newEnv(t)
	admin := e.admin()
	p := e.createProduct(admin, "LC-1", 10)
	tok, uid := e.customer("payer@example.com")
	id := e.confirmed(uid, p, 3)
	if o := e.order(tok, id); !slices.Equal(o.Actions, []string{"pay", "cancel"}) || o.PaymentDueAt == nil {
		t.Fatalf("confirmed order offers %v (due %v), want pay and cancel with a deadline", o.Actions, o.PaymentDueAt)
	}
	path := "/api/v1/orders/" + id + "/payments"

	declined := expect(t, e.do(req{method: "POST", path: path, token: tok, body: pay("4000 0000 0000 9995")}), 402).problem(t)
	if declined.Type != "/problems/payment-declined" || len(declined.Errors) != 1 || declined.Errors[0].Detail != "insufficient_funds" {
		t.Fatalf("declined card: %+v", declined)
	}
	other, _ := e.customer("thief@example.com")
	expect(t, e.do(req{method: "POST", path: path, token: other, body: pay("4242424242424242")}), 404)

	key := map[string]string{"Idempotency-Key": "pay-1"}
	var first, again paymentView
	expect(t, e.do(req{method: "POST", path: path, token: tok, headers: key, body: pay("4242424242424242")}), 201).json(t, &first)
	if first.Status != "succeeded" || first.OrderStatus != "paid" || first.AmountMinor != 3*1999 {
		t.Fatalf("payment %+v", first)
	}
	expect(t, e.do(req{method: "POST", path: path, token: tok, headers: key, body: pay("4242424242424242")}), 201).json(t, &again)
	if again.ID != first.ID {
		t.Fatalf("a retry with the same Idempotency-Key made payment %s, want %s", again.ID, first.ID)
	}
	if c := expect(t, e.do(req{method: "POST", path: path, token: tok, body: pay("4242424242424242")}), 409).problem(t); c.CurrentStatus != "paid" {
		t.Fatalf("paying a paid order: %+v", c)
	}
	if n := e.count("SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'succeeded'", id); n != 1 {
		t.Fatalf("%d successful payments, want 1", n)
	}

	var o orderView
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + id + "/cancel", token: tok,
		body: map[string]string{"reason": "changed my mind"}}), 200).json(t, &o)
	if o.Status != "cancelled" || len(o.Actions) != 0 {
		t.Fatalf("after cancel: %+v", o)
	}
	if got := e.stock(p.ID); got != 10 {
		t.Fatalf("stock after cancel %d, want 10 (3 back)", got)
	}
	if want := []string{"confirmed", "payment_failed", "paid", "cancelled", "refunded"}; !slices.Equal(o.types(), want) {
		t.Fatalf("timeline %v, want %v", o.types(), want)
	}
	if ev := o.Events[3]; ev.Actor != fmt.Sprint("user:", uid) || ev.Reason == nil || *ev.Reason != "changed my mind" {
		t.Fatalf("cancel event %+v", ev)
	}
	if ev := o.Events[4]; ev.RefundID == nil || ev.PaymentID == nil || *ev.PaymentID != first.ID {
		t.Fatalf("refund event %+v, want the refund of payment %s", ev, first.ID)
	}
	if c := expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + id + "/cancel", token: admin}), 409).problem(t); c.CurrentStatus != "cancelled" {
		t.Fatalf("cancelling twice: %+v", c)
	}
	if got := e.stock(p.ID); got != 10 {
		t.Fatalf("stock after a second cancel %d: stock came back twice", got)
	}
	if n := e.count("SELECT count(*) FROM payments WHERE order_id = $1 AND refund_state = 'succeeded'", id); n != 1 {
		t.Fatalf("%d refunded payments, want 1", n)
	}
}

// TestAdminShipsDeliversAndCancelsShipped: shipping needs the admin role
// and a paid order, a customer cannot cancel a shipped order but an admin
// can (refund, stock back), and nothing follows delivery.
func TestAdminShipsDeliversAndCancelsShipped(t *testing.T) {
	e := newEnv(t)
	admin := e.admin()
	p := e.createProduct(admin, "LC-2", 5)
	tok, uid := e.customer("parcel@example.com")
	a, b := e.confirmed(uid, p, 1), e.confirmed(uid, p, 2)
	ship := map[string]string{"carrier": "DHL", "tracking_number": "JD014600003828"}

	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + a + "/shipments", token: tok, body: ship}), 403)
	if c := expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + a + "/shipments", token: admin, body: ship}), 409).problem(t); c.CurrentStatus != "confirmed" {
		t.Fatalf("shipping an unpaid order: %+v", c)
	}
	for _, id := range []string{a, b} {
		expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + id + "/payments", token: tok, body: pay("4242424242424242")}), 201)
	}
	bad := expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + a + "/shipments", token: admin,
		body: map[string]string{"carrier": " "}, badRequest: true}), 422).problem(t)
	if !slices.Equal(bad.names(), []string{"#/carrier", "#/tracking_number"}) {
		t.Fatalf("empty shipment fields: %v", bad.names())
	}
	var shipped orderView
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + a + "/shipments", token: admin, body: ship}), 200).json(t, &shipped)
	if shipped.Status != "shipped" || shipped.TrackingNumber == nil || *shipped.TrackingNumber != "JD014600003828" ||
		!slices.Equal(shipped.Actions, []string{"cancel", "deliver"}) {
		t.Fatalf("shipped order %+v", shipped)
	}
	if c := expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + a + "/cancel", token: tok}), 409).problem(t); c.CurrentStatus != "shipped" {
		t.Fatalf("customer cancelling a shipped order: %+v", c)
	}
	var delivered orderView
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + a + "/delivery", token: admin}), 200).json(t, &delivered)
	if delivered.Status != "delivered" || len(delivered.Actions) != 0 {
		t.Fatalf("delivered order %+v", delivered)
	}
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + a + "/cancel", token: admin}), 409)

	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + b + "/shipments", token: admin, body: ship}), 200)
	var cancelled orderView
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + b + "/cancel", token: admin,
		body: map[string]string{"reason": "lost in transit"}}), 200).json(t, &cancelled)
	if want := []string{"confirmed", "paid", "shipped", "cancelled", "refunded"}; !slices.Equal(cancelled.types(), want) ||
		cancelled.Events[3].Actor != fmt.Sprint("admin:", e.count("SELECT id FROM users WHERE email = $1", adminEmail)) {
		t.Fatalf("admin cancel of a shipped order: %v %+v", cancelled.types(), cancelled.Events)
	}
	if got := e.stock(p.ID); got != 4 {
		t.Fatalf("stock %d, want 4 (5 - 1 delivered; the cancelled 2 back)", got)
	}
	var page struct {
		Items []orderView `json:"items"`
		Total int         `json:"total"`
	}
	expect(t, e.do(req{method: "GET", path: "/api/v1/orders?status=delivered", token: admin}), 200).json(t, &page)
	if page.Total != 1 || page.Items[0].ID != a || !slices.Equal(page.Items[0].Actions, []string{}) {
		t.Fatalf("admin filter delivered: %+v", page)
	}
}

// TestPaymentRecovery: a processing payment is settled by the sweep; a
// payment that succeeds only after the customer cancelled is refunded,
// not applied; an attempt left pending by a crash with nothing to retry
// with is settled as abandoned so the customer can pay again.
func TestPaymentRecovery(t *testing.T) {
	e := newEnv(t, func(s *apiconfig.Spec) {
		s.Payments.Mock.ProcessingDelay, s.Payments.RecheckAfter, s.Payments.SweepInterval = 300*time.Millisecond, 100*time.Millisecond, 50*time.Millisecond
	})
	admin := e.admin()
	p := e.createProduct(admin, "LC-3", 10)
	tok, uid := e.customer("slow@example.com")
	slow, late, crashed := e.confirmed(uid, p, 1), e.confirmed(uid, p, 1), e.confirmed(uid, p, 1)

	var pv paymentView
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + slow + "/payments", token: tok, body: pay("4000000000000077")}), 202).json(t, &pv)
	if pv.Status != "processing" || pv.OrderStatus != "confirmed" {
		t.Fatalf("processing card: %+v", pv)
	}
	if c := expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + slow + "/payments", token: tok, body: pay("4242424242424242")}), 409).problem(t); c.Type != "/problems/payment-in-progress" {
		t.Fatalf("a second payment while one is processing: %+v", c)
	}
	eventually(t, 10*time.Second, "the processing payment to settle", func() bool { return e.order(tok, slow).Status == "paid" })

	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + late + "/payments", token: tok, body: pay("4000000000000077")}), 202)
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + late + "/cancel", token: tok}), 200)
	eventually(t, 10*time.Second, "the late success to be refunded", func() bool {
		return slices.Equal(e.order(tok, late).types(), []string{"confirmed", "cancelled", "refunded"})
	})
	if got := e.stock(p.ID); got != 8 {
		t.Fatalf("stock %d, want 8 (the cancelled order's unit back once)", got)
	}

	if _, err := e.db.Exec(context.Background(), `INSERT INTO payments (id, order_id, provider, idempotency_key, status, amount_minor, currency, updated_at)
		VALUES ($1, $2, 'mock', 'lost', 'pending', 1999, 'EUR', now() - interval '1 minute')`, uuid.New(), crashed); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the abandoned attempt to be settled", func() bool {
		return slices.Equal(e.order(tok, crashed).types(), []string{"confirmed", "payment_failed"})
	})
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + crashed + "/payments", token: tok, body: pay("4242424242424242")}), 201)
}

// TestPaymentRequestsAreValidated: what is not a card number is a 422
// naming payment_method, and nothing is recorded.
func TestPaymentRequestsAreValidated(t *testing.T) {
	e := newEnv(t)
	p := e.createProduct(e.admin(), "LC-4", 3)
	tok, uid := e.customer("typo@example.com")
	id := e.confirmed(uid, p, 1)
	for _, body := range []map[string]string{pay("4242 4242 4242 4241"), pay("12"), pay(""), {}} {
		pr := expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + id + "/payments", token: tok, body: body, badRequest: body["payment_method"] == ""}), 422).problem(t)
		if !slices.Equal(pr.names(), []string{"#/payment_method"}) {
			t.Fatalf("body %v: %v", body, pr.names())
		}
	}
	if n := e.count("SELECT count(*) FROM payments"); n != 0 {
		t.Fatalf("%d payments recorded for invalid requests", n)
	}
}

// TestRefundGivenUpAfterRepeatedRefusals: a refund the provider keeps
// refusing is retried with growing pauses and then recorded refund_failed
// (once), never refunded twice and never retried forever.
func TestRefundGivenUpAfterRepeatedRefusals(t *testing.T) {
	e := newEnv(t, func(s *apiconfig.Spec) {
		s.Payments.RecheckAfter, s.Payments.SweepInterval = 10*time.Millisecond, 10*time.Millisecond
	})
	admin := e.admin()
	p := e.createProduct(admin, "LC-5", 2)
	tok, uid := e.customer("norefund@example.com")
	id := e.confirmed(uid, p, 1)
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + id + "/payments", token: tok, body: pay("4242424242424242")}), 201)
	// A charge the mock provider cannot refund (it refunds only its own).
	if _, err := e.db.Exec(context.Background(), "UPDATE payments SET provider_ref = 'bank_transfer_1' WHERE order_id = $1", id); err != nil {
		t.Fatal(err)
	}
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + id + "/cancel", token: admin}), 200)
	eventually(t, 60*time.Second, "the refund to be given up", func() bool {
		return slices.Equal(e.order(tok, id).types(), []string{"confirmed", "paid", "cancelled", "refund_failed"})
	})
	if n := e.count("SELECT refund_attempts FROM payments WHERE order_id = $1 AND refund_state = 'failed'", id); n != 20 {
		t.Fatalf("refund asked %d times before giving up, want 20", n)
	}
	if ev := e.order(tok, id).Events[3]; ev.Reason == nil || *ev.Reason != "provider_refused" {
		t.Fatalf("refund_failed event %+v", ev)
	}
	if m := e.metrics(); !strings.Contains(m, `shop_refunds_total{outcome="failed",provider="mock"} 20`) {
		t.Fatalf("/metrics does not count the 20 refused refund requests:\n%s", grepLines(m, "shop_refunds_total"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
