package testenv_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/goshop-platform/shop/services/platform/testenv"
)

// StripeMock serves Stripe's API on loopback, once per test binary: it
// checks the key, validates the request against Stripe's spec, reflects the
// idempotency key and answers a fixture PaymentIntent with the request's
// fields.
func TestStripeMockAnswersLikeStripe(t *testing.T) {
	base := testenv.StripeMock(t)
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
		t.Fatalf("StripeMock returned %q, want http://127.0.0.1:<port>", base)
	}
	if again := testenv.StripeMock(t); again != base {
		t.Fatalf("second call returned %s, want the same server %s", again, base)
	}

	post := func(key string, form url.Values) (*http.Response, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/payment_intents", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Idempotency-Key", "key-1")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s: body is not JSON: %v", resp.Status, err)
		}
		return resp, body
	}

	resp, pi := post(testenv.StripeMockKey, url.Values{"amount": {"1999"}, "currency": {"eur"}, "payment_method": {"pm_card_visa"}, "confirm": {"true"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create payment intent: %s %v", resp.Status, pi)
	}
	if id, _ := pi["id"].(string); !strings.HasPrefix(id, "pi_") || pi["object"] != "payment_intent" ||
		pi["amount"] != float64(1999) || pi["currency"] != "eur" || pi["payment_method"] != "pm_card_visa" {
		t.Fatalf("payment intent %v: want a pi_ object with the request's amount, currency and payment_method", pi)
	}
	if got := resp.Header.Get("Idempotency-Key"); got != "key-1" {
		t.Fatalf("Idempotency-Key answered %q, want key-1 reflected", got)
	}

	resp, body := post("sk_live_123", url.Values{"amount": {"1"}, "currency": {"eur"}})
	if errObj, _ := body["error"].(map[string]any); resp.StatusCode != http.StatusUnauthorized || errObj["type"] != "invalid_request_error" {
		t.Fatalf("live key: %s %v, want 401 invalid_request_error", resp.Status, body)
	}
	resp, body = post(testenv.StripeMockKey, url.Values{"amount": {"1"}})
	if errObj, _ := body["error"].(map[string]any); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(errObj["message"].(string), "currency") {
		t.Fatalf("missing currency: %s %v, want 400 naming currency", resp.Status, body)
	}
}
