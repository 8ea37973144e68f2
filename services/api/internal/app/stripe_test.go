package app_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/api/internal/payment/stripe"
	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

const webhookSecret = "whsec_goshop_test"

// TestStripeProviderAndWebhooks runs the api with the stripe provider
// against stripe-mock (Stripe's own API mock) and posts webhooks signed
// the way Stripe signs them. stripe-mock keeps no state and answers every
// PaymentIntent as requires_payment_method, so the synchronous answer is a
// decline; Stripe then reports the success by webhook, which must be
// verified, applied once, and not undone by a late failure event.
func TestStripeProviderAndWebhooks(t *testing.T) {
	e := newEnv(t, func(s *apiconfig.Spec) {
		s.Payments.Provider = "stripe"
		s.Payments.Stripe.SecretKey = config.Secret(testenv.StripeMockKey)
		s.Payments.Stripe.WebhookSecret = webhookSecret
		s.Payments.Stripe.BackendURL = testenv.StripeMock(t)
	})
	admin := e.admin()
	p := e.createProduct(admin, "ST-1", 4)
	tok, uid := e.customer("stripe@example.com")
	id := e.confirmed(uid, p, 2)

	// A card number never reaches Stripe: only PaymentMethod ids do.
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + id + "/payments", token: tok, body: pay("4242424242424242")}), 402)
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + id + "/payments", token: tok, body: pay("pm_card_visa")}), 402)
	var ref string
	if err := e.db.QueryRow(t.Context(), `SELECT provider_ref FROM payments WHERE order_id = $1 AND provider_ref LIKE 'pi_%'`, id).Scan(&ref); err != nil {
		t.Fatalf("no PaymentIntent recorded for the attempt: %v", err)
	}
	hook := func(body []byte, header string, status int) {
		t.Helper()
		expect(t, e.do(req{method: "POST", path: "/api/v1/payments/webhooks/stripe", raw: body,
			headers: map[string]string{"Stripe-Signature": header, "Content-Type": "application/json"}}), status)
	}
	succeeded := stripe.EventPayload("evt_ok", "payment_intent.succeeded",
		map[string]any{"id": ref, "object": "payment_intent", "status": "succeeded", "amount": 2 * 1999, "currency": "eur"})

	body, header := stripe.SignedPayload(webhookSecret, succeeded, time.Now())
	hook(bytes.Replace(body, []byte(`"succeeded"`), []byte(`"succeeded" `), 1), header, 400) // tampered
	_, stale := stripe.SignedPayload(webhookSecret, succeeded, time.Now().Add(-10*time.Minute))
	hook(succeeded, stale, 400)
	_, wrong := stripe.SignedPayload("whsec_someone_else", succeeded, time.Now())
	hook(succeeded, wrong, 400)
	if o := e.order(tok, id); o.Status != "confirmed" {
		t.Fatalf("a refused webhook changed the order to %s", o.Status)
	}

	hook(body, header, 204)
	hook(body, header, 204) // Stripe redelivers
	late := stripe.EventPayload("evt_late", "payment_intent.payment_failed",
		map[string]any{"id": ref, "object": "payment_intent", "status": "requires_payment_method"})
	lb, lh := stripe.SignedPayload(webhookSecret, late, time.Now())
	hook(lb, lh, 204)
	o := e.order(tok, id)
	if want := []string{"confirmed", "payment_failed", "payment_failed", "paid"}; o.Status != "paid" || !slices.Equal(o.types(), want) {
		t.Fatalf("after the webhooks: %s %v, want paid %v", o.Status, o.types(), want)
	}
	if o.Events[3].Actor != "stripe" || o.Events[3].Detail["event_id"] != "evt_ok" {
		t.Fatalf("paid event %+v", o.Events[3])
	}

	// Cancelling refunds through Stripe (stripe-mock answers the refund).
	var c orderView
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + id + "/cancel", token: admin}), 200).json(t, &c)
	if n := len(c.Events); n != 6 || c.Events[5].Type != "refunded" || c.Events[5].RefundID == nil || (*c.Events[5].RefundID)[:3] != "re_" {
		t.Fatalf("cancel of a stripe payment: %+v", c.Events)
	}
	// A webhook about a PaymentIntent the shop never made is acknowledged.
	unknown := stripe.EventPayload("evt_x", "payment_intent.succeeded", map[string]any{"id": "pi_unknown", "object": "payment_intent"})
	ub, uh := stripe.SignedPayload(webhookSecret, unknown, time.Now())
	hook(ub, uh, 204)
	if got := e.stock(p.ID); got != 4 {
		t.Fatalf("stock %d, want 4", got)
	}
}
