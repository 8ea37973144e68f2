// Package stripe is the payment provider that charges and refunds through
// Stripe: a charge is a PaymentIntent created and confirmed in one request
// (server-side confirmation with a PaymentMethod id the storefront obtained
// from Stripe.js), a refund is a Stripe Refund of that PaymentIntent, and
// Stripe's signed webhooks report the outcomes that settle later. Every
// request carries the shop's idempotency key, so a retry after a crash or a
// timeout can never charge or refund twice. Tests run it against
// stripe-mock, Stripe's own API mock (testenv.StripeMock).
package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v82"

	"github.com/goshop-platform/shop/services/api/internal/payment"
)

// Config configures a Provider.
type Config struct {
	SecretKey     string // sk_live_… / sk_test_… (or a restricted rk_… key)
	WebhookSecret string // the endpoint's signing secret, whsec_…
	// BackendURL is the API's base URL: "" is Stripe's real API; tests
	// point it at stripe-mock.
	BackendURL string
	// Timeout bounds one HTTP request to Stripe (0: 30 s). The caller's
	// context bounds the whole call, retries included.
	Timeout time.Duration
}

const defaultTimeout = 30 * time.Second

// methodPrefix marks a Stripe PaymentMethod id, the only payment method
// this provider sends to Stripe: card data never reaches the shop's server.
const methodPrefix = "pm_"

// Provider is the Stripe payment provider.
type Provider struct {
	client        *stripego.Client
	secretKey     string
	webhookSecret string
}

var _ payment.Provider = (*Provider)(nil)

// New returns a Provider for cfg. Both secrets are required: without the
// webhook secret no webhook could be trusted.
func New(cfg Config) (*Provider, error) {
	if cfg.SecretKey == "" {
		return nil, errors.New("stripe: the secret API key is required")
	}
	if cfg.WebhookSecret == "" {
		return nil, errors.New("stripe: the webhook signing secret is required")
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	backend := &stripego.BackendConfig{
		HTTPClient: &http.Client{Timeout: timeout},
		// stripe-go's own logger writes plain text to stderr; errors are
		// returned to the caller, who logs them with the shop's logger.
		LeveledLogger: &stripego.LeveledLogger{Level: stripego.LevelNull},
		// Network errors, 409s and 5xx are retried twice by stripe-go with
		// the same idempotency key, which is safe.
		MaxNetworkRetries: stripego.Int64(stripego.DefaultMaxNetworkRetries),
	}
	if cfg.BackendURL != "" {
		u, err := url.Parse(cfg.BackendURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("stripe: backend URL %q is not an http(s) URL", cfg.BackendURL)
		}
		backend.URL = stripego.String(cfg.BackendURL)
	}
	client := stripego.NewClient(cfg.SecretKey, stripego.WithBackends(stripego.NewBackendsWithConfig(backend)))
	return &Provider{client: client, secretKey: cfg.SecretKey, webhookSecret: cfg.WebhookSecret}, nil
}

// Name is the provider's name as the shop stores it with each payment.
func (p *Provider) Name() string { return "stripe" }

// Charge creates and confirms a PaymentIntent. Stripe answers a repeated
// Key with the first answer (for 24 h), so resending after an unknown
// outcome is safe.
func (p *Provider) Charge(ctx context.Context, c payment.Charge) (payment.Result, error) {
	if c.Key == "" {
		return payment.Result{}, errors.New("stripe: charge without an idempotency key")
	}
	if !strings.HasPrefix(c.Method, methodPrefix) {
		// Not sent: it is no PaymentMethod id, and it might be card data.
		return payment.Result{}, fmt.Errorf("%w: stripe takes a PaymentMethod id (%s…)", payment.ErrInvalidMethod, methodPrefix)
	}
	params := &stripego.PaymentIntentCreateParams{
		Amount:        stripego.Int64(c.AmountMinor),
		Currency:      stripego.String(strings.ToLower(c.Currency)),
		PaymentMethod: stripego.String(c.Method),
		Confirm:       stripego.Bool(true),
		// Confirmed by the server, there is no page to come back to: only
		// methods that need no redirect (3-D Secure still answers
		// requires_action, completed by Stripe.js).
		AutomaticPaymentMethods: &stripego.PaymentIntentCreateAutomaticPaymentMethodsParams{
			Enabled:        stripego.Bool(true),
			AllowRedirects: stripego.String(string(stripego.PaymentIntentAutomaticPaymentMethodsAllowRedirectsNever)),
		},
	}
	params.AddMetadata("order_id", c.OrderID.String())
	params.SetIdempotencyKey(c.Key)
	pi, err := p.client.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		return chargeError("create payment intent", p.secretKey, err)
	}
	return intentResult(pi)
}

// Lookup reports the PaymentIntent's current state.
func (p *Provider) Lookup(ctx context.Context, ref string) (payment.Result, error) {
	if ref == "" {
		return payment.Result{}, errors.New("stripe: lookup without a payment intent id")
	}
	pi, err := p.client.V1PaymentIntents.Retrieve(ctx, ref, nil)
	if err != nil {
		return payment.Result{}, apiError("retrieve payment intent "+ref, p.secretKey, err)
	}
	return intentResult(pi)
}

// Refund refunds AmountMinor of the PaymentIntent ChargeRef. A refund that
// Stripe answers as failed or canceled is an error (naming the refund).
func (p *Provider) Refund(ctx context.Context, r payment.Refund) (string, error) {
	if r.Key == "" {
		return "", errors.New("stripe: refund without an idempotency key")
	}
	if r.ChargeRef == "" {
		return "", errors.New("stripe: refund without a payment intent id")
	}
	params := &stripego.RefundCreateParams{
		PaymentIntent: stripego.String(r.ChargeRef),
		Amount:        stripego.Int64(r.AmountMinor),
	}
	params.SetIdempotencyKey(r.Key)
	re, err := p.client.V1Refunds.Create(ctx, params)
	if err != nil {
		return "", apiError("refund payment intent "+r.ChargeRef, p.secretKey, err)
	}
	switch re.Status {
	case stripego.RefundStatusFailed, stripego.RefundStatusCanceled:
		return "", fmt.Errorf("stripe: refund %s of payment intent %s is %s (%s)", re.ID, r.ChargeRef, re.Status, re.FailureReason)
	}
	return re.ID, nil
}

// Retainable keeps a PaymentMethod id (a token, safe to store) and nothing
// else.
func (p *Provider) Retainable(method string) string {
	if strings.HasPrefix(method, methodPrefix) {
		return method
	}
	return ""
}

// intentResult maps a PaymentIntent's status to the shop's outcome.
func intentResult(pi *stripego.PaymentIntent) (payment.Result, error) {
	r := payment.Result{Ref: pi.ID}
	switch pi.Status {
	case stripego.PaymentIntentStatusSucceeded:
		r.Status = payment.Succeeded
	case stripego.PaymentIntentStatusProcessing, stripego.PaymentIntentStatusRequiresAction,
		stripego.PaymentIntentStatusRequiresConfirmation, stripego.PaymentIntentStatusRequiresCapture:
		r.Status = payment.Processing
	case stripego.PaymentIntentStatusRequiresPaymentMethod, stripego.PaymentIntentStatusCanceled:
		// Created with confirm=true, an intent back in
		// requires_payment_method is one whose payment attempt failed.
		r.Status, r.Reason = payment.Failed, declineReason(pi.LastPaymentError)
	default:
		return payment.Result{}, fmt.Errorf("stripe: payment intent %s has unknown status %q", pi.ID, pi.Status)
	}
	return r, nil
}

// declineReason maps Stripe's decline code (or, without one, its error
// code) to the shop's reasons.
func declineReason(e *stripego.Error) string {
	if e == nil {
		return payment.ReasonDeclined
	}
	for _, code := range []string{string(e.DeclineCode), string(e.Code)} {
		switch code {
		case string(stripego.DeclineCodeInsufficientFunds):
			return payment.ReasonInsufficientFunds
		case string(stripego.DeclineCodeExpiredCard): // also the error code's value
			return payment.ReasonExpiredCard
		}
	}
	return payment.ReasonDeclined
}

// chargeError turns an error from creating a PaymentIntent into the
// provider contract: a declined card is a Failed result, a request about a
// payment method Stripe cannot use is ErrInvalidMethod, anything else
// (network, 5xx, authentication, rate limit) an error: outcome unknown.
func chargeError(op, secretKey string, err error) (payment.Result, error) {
	var se *stripego.Error
	if !errors.As(err, &se) {
		return payment.Result{}, apiError(op, secretKey, err)
	}
	switch {
	case se.Type == stripego.ErrorTypeCard:
		r := payment.Result{Status: payment.Failed, Reason: declineReason(se)}
		if se.PaymentIntent != nil {
			r.Ref = se.PaymentIntent.ID
		}
		return r, nil
	case se.Type == stripego.ErrorTypeInvalidRequest && aboutPaymentMethod(se):
		return payment.Result{}, fmt.Errorf("%w: %w", payment.ErrInvalidMethod, apiError(op, secretKey, err))
	}
	return payment.Result{}, apiError(op, secretKey, err)
}

// aboutPaymentMethod: Stripe names the offending parameter (e.g.
// resource_missing on payment_method for "No such PaymentMethod"), or the
// error code is one of its payment_method_* codes.
func aboutPaymentMethod(se *stripego.Error) bool {
	return strings.HasPrefix(se.Param, "payment_method") || strings.HasPrefix(string(se.Code), "payment_method_")
}

// requestError is a failed Stripe request, with the parts of Stripe's
// answer a reader needs (stripe-go's own Error() is the whole JSON object);
// errors.As still reaches stripe-go's *Error through Unwrap.
type requestError struct {
	op        string
	secretKey string // never shown: stripe-mock, for one, echoes a refused key
	err       error
}

func (e *requestError) Error() string {
	var se *stripego.Error
	if !errors.As(e.err, &se) {
		return e.redact("stripe: " + e.op + ": " + e.err.Error())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "stripe: %s: %d %s", e.op, se.HTTPStatusCode, se.Type)
	if se.Code != "" {
		fmt.Fprintf(&b, " %s", se.Code)
	}
	if se.DeclineCode != "" {
		fmt.Fprintf(&b, " (%s)", se.DeclineCode)
	}
	if se.Param != "" {
		fmt.Fprintf(&b, " param %s", se.Param)
	}
	if se.Msg != "" {
		fmt.Fprintf(&b, ": %s", se.Msg)
	}
	if se.RequestID != "" {
		fmt.Fprintf(&b, " [request %s]", se.RequestID)
	}
	return e.redact(b.String())
}

func (e *requestError) redact(s string) string {
	if e.secretKey == "" {
		return s
	}
	return strings.ReplaceAll(s, e.secretKey, "[secret key]")
}

func (e *requestError) Unwrap() error { return e.err }

func apiError(op, secretKey string, err error) error {
	return &requestError{op: op, secretKey: secretKey, err: err}
}
