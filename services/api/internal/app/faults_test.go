package app_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
)

// TestInjectedPaymentDeclineAndIntakeLatency: with
// spec.faults.paymentDeclineRatio 1 every new payment attempt is declined
// without reaching the provider — recorded, answered and counted exactly
// like a declined card, with reason injected_decline — and the order can
// still be paid later; spec.faults.intakeLatency delays the 202 of
// POST /api/v1/orders by at least that long. /metrics shows both flags on.
func TestInjectedPaymentDeclineAndIntakeLatency(t *testing.T) {
	const latency = 300 * time.Millisecond
	e := newEnv(t, func(s *apiconfig.Spec) {
		s.Faults.PaymentDeclineRatio, s.Faults.IntakeLatency = 1, latency
	})
	admin := e.admin()
	p := e.createProduct(admin, "FI-1", 10)
	tok, uid := e.customer("faults@example.com")
	id := e.confirmed(uid, p, 2)
	path := "/api/v1/orders/" + id + "/payments"

	key := map[string]string{"Idempotency-Key": "fault-1"}
	for range 2 { // the retry with the same key reports the same attempt
		declined := expect(t, e.do(req{method: "POST", path: path, token: tok, headers: key, body: pay("4242424242424242")}), 402).problem(t)
		if declined.Type != "/problems/payment-declined" || len(declined.Errors) != 1 || declined.Errors[0].Detail != "injected_decline" {
			t.Fatalf("injected decline answered %+v, want /problems/payment-declined with reason injected_decline", declined)
		}
	}
	// Recorded like a decline, and the provider never saw it (no charge ref).
	if n := e.count(`SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'failed' AND failure_reason = 'injected_decline'
		AND provider_ref IS NULL`, id); n != 1 {
		t.Fatalf("%d injected declines recorded without a provider charge, want 1", n)
	}
	o := e.order(tok, id)
	if o.Status != "confirmed" || !slices.Equal(o.types(), []string{"confirmed", "payment_failed"}) || !slices.Contains(o.Actions, "pay") {
		t.Fatalf("order after the injected decline: status %s, timeline %v, actions %v", o.Status, o.types(), o.Actions)
	}
	if ev := o.Events[1]; ev.Reason == nil || *ev.Reason != "injected_decline" || ev.PaymentID == nil {
		t.Fatalf("payment_failed event %+v, want reason injected_decline and the payment", ev)
	}

	start := time.Now()
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: tok, body: orderBody([2]int{int(p.ID), 1})}), 202)
	if took := time.Since(start); took < latency {
		t.Fatalf("POST /api/v1/orders answered after %s, want at least the injected %s", took, latency)
	}
	if n := len(e.streamEntries()); n != 1 {
		t.Fatalf("%d stream entries after the delayed intake, want 1", n)
	}

	m := e.metrics()
	for _, want := range []string{
		`shop_payments_total{outcome="failed",provider="mock",reason="injected_decline"} 1`,
		`shop_payments_total{outcome="failed",provider="mock",reason="card_declined"} 0`,
		`shop_fault_injection_active{flag="payment-decline-ratio"} 1`,
		`shop_fault_injection_active{flag="intake-latency"} 1`,
		`shop_fault_injections_total{flag="payment-decline-ratio"} 1`,
		`shop_fault_injections_total{flag="intake-latency"} 1`,
	} {
		if !strings.Contains(m, want+"\n") {
			t.Fatalf("/metrics lacks %s:\n%s\n%s", want, grepLines(m, "shop_payments_total"), grepLines(m, "shop_fault_injection"))
		}
	}
	for _, want := range []string{`"msg":"fault injection flag turned on","service":"api","flag":"payment-decline-ratio"`,
		`"msg":"fault injection flag turned on","service":"api","flag":"intake-latency","field":"spec.faults.intakeLatency","value":"300ms"`} {
		if !strings.Contains(e.logs.String(), want) {
			t.Fatalf("logs lack %s", want)
		}
	}
}

// TestFaultsOffByDefault: a default configuration injects nothing and
// reports every flag off.
func TestFaultsOffByDefault(t *testing.T) {
	e := newEnv(t)
	p := e.createProduct(e.admin(), "FI-2", 10)
	tok, uid := e.customer("nofaults@example.com")
	id := e.confirmed(uid, p, 1)
	var pv paymentView
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + id + "/payments", token: tok, body: pay("4242424242424242")}), 201).json(t, &pv)
	if pv.Status != "succeeded" {
		t.Fatalf("payment %+v with every fault off", pv)
	}
	m := e.metrics()
	for _, want := range []string{`shop_fault_injection_active{flag="payment-decline-ratio"} 0`, `shop_fault_injection_active{flag="intake-latency"} 0`,
		`shop_payments_total{outcome="failed",provider="mock",reason="injected_decline"} 0`} {
		if !strings.Contains(m, want+"\n") {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
}
