package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	stripego "github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/goshop-platform/shop/services/api/internal/payment"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const testWebhookSecret = "whsec_test_secret"

// stripe-mock answers every PaymentIntent from one fixture: status
// requires_payment_method with a last_payment_error of type
// idempotency_error and no code. For an intent created with confirm=true
// that is a failed payment attempt, declined for no stated reason.
var mockIntentResult = payment.Result{Status: payment.Failed, Reason: payment.ReasonDeclined}

// recorded is one request as it reached stripe-mock.
type recorded struct {
	method, path, idempotencyKey string
	form                         url.Values
}

// recorder is a reverse proxy in front of stripe-mock that records what
// the provider sent (stripe-mock answers it; nothing is faked).
type recorder struct {
	URL  string
	mu   sync.Mutex
	reqs []recorded
}

func newRecorder(t *testing.T) *recorder {
	target, err := url.Parse(testenv.StripeMock(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		form, _ := url.ParseQuery(string(body))
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), form})
		rec.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func newProvider(t *testing.T, backendURL, key string) *Provider {
	t.Helper()
	p, err := New(Config{SecretKey: key, WebhookSecret: testWebhookSecret, BackendURL: backendURL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestChargeCreatesAConfirmedPaymentIntentUnderTheKey(t *testing.T) {
	rec := newRecorder(t)
	p := newProvider(t, rec.URL, testenv.StripeMockKey)
	ctx := context.Background()
	order := uuid.New()
	c := payment.Charge{Key: "charge-" + order.String(), OrderID: order, AmountMinor: 1999, Currency: "EUR", Method: "pm_card_visa"}

	first, err := p.Charge(ctx, c)
	if err != nil {
		t.Fatalf("Charge: %v", err)
	}
	if !strings.HasPrefix(first.Ref, "pi_") || first.Status != mockIntentResult.Status || first.Reason != mockIntentResult.Reason {
		t.Fatalf("Charge = %+v, want a pi_ ref and %+v (stripe-mock's fixture)", first, mockIntentResult)
	}
	// The same key again: Stripe would replay its first answer; stripe-mock
	// keeps no state and answers a fresh fixture, but takes the request.
	again, err := p.Charge(ctx, c)
	if err != nil || !strings.HasPrefix(again.Ref, "pi_") || again.Status != first.Status {
		t.Fatalf("second Charge with the same key = %+v, %v", again, err)
	}

	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("stripe-mock got %d requests, want 2 (no client retries): %+v", len(reqs), reqs)
	}
	want := url.Values{
		"amount":                             {"1999"},
		"currency":                           {"eur"},
		"payment_method":                     {"pm_card_visa"},
		"confirm":                            {"true"},
		"metadata[order_id]":                 {order.String()},
		"automatic_payment_methods[enabled]": {"true"},
		"automatic_payment_methods[allow_redirects]": {"never"},
	}
	for i, r := range reqs {
		if r.method != http.MethodPost || r.path != "/v1/payment_intents" || r.idempotencyKey != c.Key {
			t.Errorf("request %d: %s %s Idempotency-Key %q, want POST /v1/payment_intents with key %q", i, r.method, r.path, r.idempotencyKey, c.Key)
		}
		if r.form.Encode() != want.Encode() {
			t.Errorf("request %d form:\n%s\nwant:\n%s", i, r.form.Encode(), want.Encode())
		}
	}
}

func TestLookupRetrievesThePaymentIntent(t *testing.T) {
	rec := newRecorder(t)
	p := newProvider(t, rec.URL, testenv.StripeMockKey)
	got, err := p.Lookup(context.Background(), "pi_3LookupTest")
	want := mockIntentResult
	want.Ref = "pi_3LookupTest" // stripe-mock answers with the id asked for
	if err != nil || got != want {
		t.Fatalf("Lookup = %+v, %v; want %+v", got, err, want)
	}
	if reqs := rec.requests(); len(reqs) != 1 || reqs[0].method != http.MethodGet || reqs[0].path != "/v1/payment_intents/pi_3LookupTest" {
		t.Fatalf("requests %+v, want one GET /v1/payment_intents/pi_3LookupTest", reqs)
	}
}

func TestRefundCreatesARefundUnderTheKey(t *testing.T) {
	rec := newRecorder(t)
	p := newProvider(t, rec.URL, testenv.StripeMockKey)
	id, err := p.Refund(context.Background(), payment.Refund{Key: "refund-1", ChargeRef: "pi_3RefundTest", AmountMinor: 500})
	if err != nil || !strings.HasPrefix(id, "re_") {
		t.Fatalf("Refund = %q, %v; want a re_ id (stripe-mock answers status succeeded)", id, err)
	}
	want := url.Values{"payment_intent": {"pi_3RefundTest"}, "amount": {"500"}}
	reqs := rec.requests()
	if len(reqs) != 1 || reqs[0].method != http.MethodPost || reqs[0].path != "/v1/refunds" ||
		reqs[0].idempotencyKey != "refund-1" || reqs[0].form.Encode() != want.Encode() {
		t.Fatalf("requests %+v, want one POST /v1/refunds %s with Idempotency-Key refund-1", reqs, want.Encode())
	}
}

// Refused requests are errors (outcome unknown, retried) and not
// ErrInvalidMethod, except a method that is no PaymentMethod id, which is
// refused before anything is sent.
func TestRefusedRequestsAreErrors(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(t)
	charge := payment.Charge{Key: "k1", OrderID: uuid.New(), AmountMinor: 100, Currency: "eur", Method: "pm_card_visa"}

	t.Run("bad secret key", func(t *testing.T) {
		p := newProvider(t, rec.URL, "sk_live_not_accepted")
		assert401 := func(what string, err error) {
			t.Helper()
			var se *stripego.Error
			if !errors.As(err, &se) || se.HTTPStatusCode != http.StatusUnauthorized || se.Type != stripego.ErrorTypeInvalidRequest {
				t.Fatalf("%s: error %v, want stripe's 401 invalid_request_error", what, err)
			}
			if errors.Is(err, payment.ErrInvalidMethod) {
				t.Fatalf("%s: a refused key is not an invalid payment method: %v", what, err)
			}
			if !strings.Contains(err.Error(), "401 invalid_request_error") || strings.Contains(err.Error(), "sk_live_not_accepted") {
				t.Fatalf("%s: message %q: want status and type, and never the key", what, err)
			}
		}
		res, err := p.Charge(ctx, charge)
		if res != (payment.Result{}) {
			t.Fatalf("Charge answered %+v with the error", res)
		}
		assert401("Charge", err)
		_, err = p.Lookup(ctx, "pi_1")
		assert401("Lookup", err)
		id, err := p.Refund(ctx, payment.Refund{Key: "r1", ChargeRef: "pi_1", AmountMinor: 1})
		if id != "" {
			t.Fatalf("Refund answered %q with the error", id)
		}
		assert401("Refund", err)
	})

	t.Run("not a PaymentMethod id", func(t *testing.T) {
		p := newProvider(t, rec.URL, testenv.StripeMockKey)
		before := len(rec.requests())
		for _, method := range []string{"4242424242424242", "", "card_123"} {
			c := charge
			c.Method = method
			if res, err := p.Charge(ctx, c); !errors.Is(err, payment.ErrInvalidMethod) || res != (payment.Result{}) {
				t.Fatalf("Charge with method %q = %+v, %v; want ErrInvalidMethod", method, res, err)
			}
		}
		if n := len(rec.requests()) - before; n != 0 {
			t.Fatalf("%d requests reached Stripe; card data must never be sent", n)
		}
	})

	t.Run("Stripe unreachable", func(t *testing.T) {
		closed := httptest.NewServer(http.NotFoundHandler())
		closed.Close()
		p := newProvider(t, closed.URL, testenv.StripeMockKey)
		res, err := p.Charge(ctx, charge)
		var se *stripego.Error
		if err == nil || res != (payment.Result{}) || errors.Is(err, payment.ErrInvalidMethod) || errors.As(err, &se) {
			t.Fatalf("Charge = %+v, %v; want a plain error (outcome unknown)", res, err)
		}
	})
}

// Stripe's synchronous refusals, which stripe-mock never gives, as Stripe
// documents their bodies (https://docs.stripe.com/api/errors), decoded into
// stripe-go's Error the way stripe-go decodes them.
func TestChargeErrorsMapToTheProviderContract(t *testing.T) {
	cases := []struct {
		name, body string
		want       payment.Result
		invalid    bool // errors.Is ErrInvalidMethod
		plainErr   bool // another error
	}{
		{name: "insufficient funds", body: `{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","param":"","payment_intent":{"id":"pi_declined","object":"payment_intent","status":"requires_payment_method"}}`,
			want: payment.Result{Status: payment.Failed, Ref: "pi_declined", Reason: payment.ReasonInsufficientFunds}},
		{name: "expired card", body: `{"type":"card_error","code":"expired_card","decline_code":"expired_card","message":"Your card has expired.","param":"exp_month","payment_intent":{"id":"pi_expired"}}`,
			want: payment.Result{Status: payment.Failed, Ref: "pi_expired", Reason: payment.ReasonExpiredCard}},
		{name: "generic decline", body: `{"type":"card_error","code":"card_declined","decline_code":"generic_decline","message":"Your card was declined.","payment_intent":{"id":"pi_generic"}}`,
			want: payment.Result{Status: payment.Failed, Ref: "pi_generic", Reason: payment.ReasonDeclined}},
		{name: "incorrect cvc", body: `{"type":"card_error","code":"incorrect_cvc","message":"Your card's security code is incorrect.","param":"cvc"}`,
			want: payment.Result{Status: payment.Failed, Reason: payment.ReasonDeclined}},
		{name: "no such payment method", body: `{"type":"invalid_request_error","code":"resource_missing","message":"No such PaymentMethod: 'pm_gone'","param":"payment_method"}`,
			invalid: true},
		{name: "payment method unexpected state", body: `{"type":"invalid_request_error","code":"payment_method_unexpected_state","message":"The provided PaymentMethod was previously used."}`,
			invalid: true},
		{name: "bad amount", body: `{"type":"invalid_request_error","code":"amount_too_small","message":"Amount must be at least €0.50 eur","param":"amount"}`,
			plainErr: true},
		{name: "key reused with other parameters", body: `{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}`,
			plainErr: true},
		{name: "stripe down", body: `{"type":"api_error","message":"An unknown error occurred"}`, plainErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var se stripego.Error
			if err := json.Unmarshal([]byte(tc.body), &se); err != nil {
				t.Fatal(err)
			}
			got, err := chargeError("create payment intent", "", &se)
			switch {
			case tc.invalid:
				if !errors.Is(err, payment.ErrInvalidMethod) || got != (payment.Result{}) {
					t.Fatalf("= %+v, %v; want ErrInvalidMethod", got, err)
				}
				if !strings.Contains(err.Error(), se.Msg) {
					t.Fatalf("message %q lacks Stripe's %q", err, se.Msg)
				}
			case tc.plainErr:
				if err == nil || errors.Is(err, payment.ErrInvalidMethod) || got != (payment.Result{}) {
					t.Fatalf("= %+v, %v; want a plain error", got, err)
				}
			default:
				if err != nil || got != tc.want {
					t.Fatalf("= %+v, %v; want %+v", got, err, tc.want)
				}
			}
		})
	}
}

func TestPaymentIntentStatusesMapToOutcomes(t *testing.T) {
	for status, want := range map[string]payment.Result{
		"succeeded":               {Status: payment.Succeeded},
		"processing":              {Status: payment.Processing},
		"requires_action":         {Status: payment.Processing},
		"requires_confirmation":   {Status: payment.Processing},
		"requires_capture":        {Status: payment.Processing},
		"requires_payment_method": {Status: payment.Failed, Reason: payment.ReasonDeclined},
		"canceled":                {Status: payment.Failed, Reason: payment.ReasonDeclined},
	} {
		want.Ref = "pi_1"
		got, err := intentResult(&stripego.PaymentIntent{ID: "pi_1", Status: stripego.PaymentIntentStatus(status)})
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", status, got, err, want)
		}
	}
	if got, err := intentResult(&stripego.PaymentIntent{ID: "pi_1", Status: "on_the_moon"}); err == nil {
		t.Errorf("unknown status: %+v, want an error (outcome unknown)", got)
	}
}

func TestRetainableKeepsOnlyPaymentMethodIDs(t *testing.T) {
	p := newProvider(t, "", "sk_test_unused")
	for method, want := range map[string]string{"pm_1Abc": "pm_1Abc", "4242424242424242": "", "": "", "tok_visa": ""} {
		if got := p.Retainable(method); got != want {
			t.Errorf("Retainable(%q) = %q, want %q", method, got, want)
		}
	}
	if p.Name() != "stripe" {
		t.Errorf("Name() = %q", p.Name())
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	for _, cfg := range []Config{
		{WebhookSecret: "whsec_x"},
		{SecretKey: "sk_test_x"},
		{SecretKey: "sk_test_x", WebhookSecret: "whsec_x", BackendURL: "127.0.0.1:12111"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

// stripeObject is one of stripe-mock's fixtures (an object as Stripe's
// OpenAPI spec renders it), with fields set.
func stripeObject(t *testing.T, path string, set map[string]any) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, testenv.StripeMock(t)+path, nil)
	req.Header.Set("Authorization", "Bearer "+testenv.StripeMockKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var obj map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&obj); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", path, resp.Status, err)
	}
	for k, v := range set {
		obj[k] = v
	}
	return obj
}

func TestWebhookEventsBecomeUpdates(t *testing.T) {
	p := newProvider(t, "", "sk_test_unused")
	intent := func(status string, lastError map[string]any) map[string]any {
		return stripeObject(t, "/v1/payment_intents/pi_hook", map[string]any{"status": status, "last_payment_error": lastError})
	}
	refund := func(id, status, failure string) map[string]any {
		set := map[string]any{"id": id, "payment_intent": "pi_hook", "status": status}
		if failure != "" {
			set["failure_reason"] = failure
		}
		return stripeObject(t, "/v1/refunds/"+id, set)
	}
	decline := func(code, declineCode string) map[string]any {
		return map[string]any{"type": "card_error", "code": code, "decline_code": declineCode, "message": "declined"}
	}
	cases := []struct {
		name, eventType string
		object          any
		want            payment.Update
	}{
		{"succeeded", "payment_intent.succeeded", intent("succeeded", nil),
			payment.Update{Ref: "pi_hook", Status: payment.Succeeded}},
		{"processing", "payment_intent.processing", intent("processing", nil),
			payment.Update{Ref: "pi_hook", Status: payment.Processing}},
		{"insufficient funds", "payment_intent.payment_failed", intent("requires_payment_method", decline("card_declined", "insufficient_funds")),
			payment.Update{Ref: "pi_hook", Status: payment.Failed, Reason: payment.ReasonInsufficientFunds}},
		{"expired card", "payment_intent.payment_failed", intent("requires_payment_method", decline("expired_card", "")),
			payment.Update{Ref: "pi_hook", Status: payment.Failed, Reason: payment.ReasonExpiredCard}},
		{"declined", "payment_intent.payment_failed", intent("requires_payment_method", decline("card_declined", "do_not_honor")),
			payment.Update{Ref: "pi_hook", Status: payment.Failed, Reason: payment.ReasonDeclined}},
		{"refund created", "refund.created", refund("re_created", "succeeded", ""),
			payment.Update{Ref: "pi_hook", Refund: "re_created"}},
		{"refund failed", "refund.failed", refund("re_failed", "failed", "expired_or_canceled_card"),
			payment.Update{Ref: "pi_hook", Refund: "re_failed", Status: payment.Failed, Reason: "expired_or_canceled_card"}},
		{"charge refunded", "charge.refunded", stripeObject(t, "/v1/charges/ch_hook", map[string]any{
			"payment_intent": "pi_hook", "refunded": true,
			"refunds": map[string]any{"object": "list", "url": "/v1/charges/ch_hook/refunds", "has_more": false,
				"data": []any{refund("re_newest", "succeeded", ""), refund("re_older", "succeeded", "")}},
		}), payment.Update{Ref: "pi_hook", Refund: "re_newest"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eventID := "evt_" + strings.ReplaceAll(tc.name, " ", "_")
			body, header := SignedPayload(testWebhookSecret, EventPayload(eventID, tc.eventType, tc.object), time.Now().Add(-time.Duration(i)*time.Second))
			got, err := p.ParseWebhook(body, header)
			tc.want.EventID = eventID
			if err != nil || got != tc.want {
				t.Fatalf("ParseWebhook = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestWebhookEventsTheShopIgnores(t *testing.T) {
	p := newProvider(t, "", "sk_test_unused")
	// An event exactly as stripe-mock renders one (a plan.created, with
	// api_version null).
	mockEvent, err := json.Marshal(stripeObject(t, "/v1/events/evt_mock", nil))
	if err != nil {
		t.Fatal(err)
	}
	pending := stripeObject(t, "/v1/refunds/re_pending", map[string]any{"payment_intent": "pi_1", "status": "pending"})
	noRefunds := stripeObject(t, "/v1/charges/ch_1", map[string]any{"payment_intent": "pi_1", "refunds": nil})
	for name, payload := range map[string][]byte{
		"stripe-mock's event":            mockEvent,
		"customer.created":               EventPayload("evt_c", "customer.created", map[string]any{"id": "cus_1", "object": "customer"}),
		"pending refund":                 EventPayload("evt_p", "refund.updated", pending),
		"charge.refunded without refund": EventPayload("evt_r", "charge.refunded", noRefunds),
	} {
		body, header := SignedPayload(testWebhookSecret, payload, time.Now())
		if got, err := p.ParseWebhook(body, header); !errors.Is(err, ErrUnhandledEvent) || got != (payment.Update{}) {
			t.Errorf("%s: %+v, %v; want ErrUnhandledEvent", name, got, err)
		}
	}
}

func TestWebhookSignaturesAreEnforced(t *testing.T) {
	p := newProvider(t, "", "sk_test_unused")
	payload := EventPayload("evt_sig", "payment_intent.succeeded", map[string]any{"id": "pi_1", "object": "payment_intent", "status": "succeeded"})
	body, header := SignedPayload(testWebhookSecret, payload, time.Now())
	if got, err := p.ParseWebhook(body, header); err != nil || got.Ref != "pi_1" {
		t.Fatalf("genuine event: %+v, %v", got, err)
	}

	tampered := []byte(strings.Replace(string(body), `"pi_1"`, `"pi_2"`, 1))
	_, wrongSecretHeader := SignedPayload("whsec_someone_else", payload, time.Now())
	staleBody, staleHeader := SignedPayload(testWebhookSecret, payload, time.Now().Add(-webhook.DefaultTolerance-time.Minute))
	cases := []struct {
		name         string
		body         []byte
		header       string
		libraryError error
	}{
		{"tampered payload", tampered, header, webhook.ErrNoValidSignature},
		{"wrong secret", body, wrongSecretHeader, webhook.ErrNoValidSignature},
		{"stale timestamp (a replay)", staleBody, staleHeader, webhook.ErrTooOld},
		{"no header", body, "", webhook.ErrNotSigned},
		{"garbled header", body, "t=now,v1", webhook.ErrInvalidHeader},
	}
	for _, tc := range cases {
		got, err := p.ParseWebhook(tc.body, tc.header)
		if !errors.Is(err, ErrBadSignature) || !errors.Is(err, tc.libraryError) || got != (payment.Update{}) {
			t.Errorf("%s: %+v, %v; want ErrBadSignature wrapping %v", tc.name, got, err, tc.libraryError)
		}
	}

	// Signed but not an event: neither a bad signature nor an event to ignore.
	junkBody, junkHeader := SignedPayload(testWebhookSecret, []byte("{not json"), time.Now())
	if _, err := p.ParseWebhook(junkBody, junkHeader); err == nil || errors.Is(err, ErrBadSignature) || errors.Is(err, ErrUnhandledEvent) {
		t.Errorf("signed junk: %v, want a malformed-event error", err)
	}
}

// Whatever a correctly signed body holds, ParseWebhook answers an Update
// with the event id and a known status, or an error; it never panics.
func FuzzParseWebhook(f *testing.F) {
	p, err := New(Config{SecretKey: "sk_test_unused", WebhookSecret: testWebhookSecret})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(EventPayload("evt_1", "payment_intent.succeeded", map[string]any{"id": "pi_1", "status": "succeeded"}))
	f.Add(EventPayload("evt_2", "payment_intent.payment_failed", map[string]any{"id": "pi_1", "last_payment_error": map[string]any{"decline_code": "insufficient_funds"}}))
	f.Add(EventPayload("evt_3", "charge.refunded", map[string]any{"id": "ch_1", "payment_intent": "pi_1", "refunds": map[string]any{"data": []any{map[string]any{"id": "re_1", "status": "succeeded"}}}}))
	f.Add(EventPayload("evt_4", "refund.updated", map[string]any{"id": "re_1", "payment_intent": map[string]any{"id": "pi_1"}, "status": "canceled"}))
	f.Add([]byte(`{"id":"evt_5","type":"refund.created","data":{"object":null}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		body, header := SignedPayload(testWebhookSecret, payload, time.Now())
		u, err := p.ParseWebhook(body, header)
		if errors.Is(err, ErrBadSignature) {
			t.Fatalf("correctly signed payload refused as a bad signature: %v", err)
		}
		if err != nil {
			return
		}
		switch {
		case u.EventID == "" || u.Ref == "":
			t.Fatalf("update without an event id or a ref: %+v", u)
		case u.Refund == "" && u.Status != payment.Succeeded && u.Status != payment.Failed && u.Status != payment.Processing:
			t.Fatalf("charge update with status %q", u.Status)
		case u.Refund != "" && u.Status != "" && u.Status != payment.Failed:
			t.Fatalf("refund update with status %q", u.Status)
		}
	})
}
