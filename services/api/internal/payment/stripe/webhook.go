package stripe

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	stripego "github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/goshop-platform/shop/services/api/internal/payment"
)

var (
	// ErrBadSignature: the Stripe-Signature header is missing, malformed,
	// does not match the payload and secret, or is older than the tolerance
	// (5 min, against replays). The request did not come from Stripe.
	ErrBadSignature = errors.New("stripe: webhook signature not valid")
	// ErrUnhandledEvent: a genuine event the shop has nothing to do with
	// (answer it 2xx, or Stripe keeps resending it).
	ErrUnhandledEvent = errors.New("stripe: webhook event not handled")
)

// ParseWebhook verifies a webhook request's body against its
// Stripe-Signature header and says what it reports:
//
//   - payment_intent.succeeded, .payment_failed, .processing: the charge's
//     new Status (Reason from the last payment error for a failure);
//   - refund.created, refund.updated, refund.failed, charge.refunded: a
//     refund update (Refund set, Ref the PaymentIntent). A refund that
//     succeeded has Status ""; one that failed or was canceled has Status
//     payment.Failed and Reason Stripe's failure_reason. A refund still
//     pending is ErrUnhandledEvent (a later event settles it).
//
// Other event types are ErrUnhandledEvent.
func (p *Provider) ParseWebhook(payload []byte, sigHeader string) (payment.Update, error) {
	event, err := webhook.ConstructEventWithOptions(payload, sigHeader, p.webhookSecret, webhook.ConstructEventOptions{
		Tolerance: webhook.DefaultTolerance,
		// The endpoint's API version is set in Stripe's dashboard and may
		// differ from stripe-go's; only fields stable across versions are read.
		IgnoreAPIVersionMismatch: true,
	})
	if err != nil {
		for _, sigErr := range []error{webhook.ErrNotSigned, webhook.ErrInvalidHeader, webhook.ErrNoValidSignature, webhook.ErrTooOld} {
			if errors.Is(err, sigErr) {
				return payment.Update{}, fmt.Errorf("%w: %w", ErrBadSignature, err)
			}
		}
		return payment.Update{}, fmt.Errorf("stripe: webhook event: %w", err)
	}
	if event.ID == "" || event.Data == nil || len(event.Data.Raw) == 0 {
		return payment.Update{}, fmt.Errorf("stripe: webhook event %q (%s) has no id or no data.object", event.ID, event.Type)
	}
	u := payment.Update{EventID: event.ID}
	switch event.Type {
	case stripego.EventTypePaymentIntentSucceeded, stripego.EventTypePaymentIntentPaymentFailed, stripego.EventTypePaymentIntentProcessing:
		var pi stripego.PaymentIntent
		if err := json.Unmarshal(event.Data.Raw, &pi); err != nil || pi.ID == "" {
			return payment.Update{}, fmt.Errorf("stripe: webhook event %s: payment intent: %v", event.ID, errOrEmpty(err))
		}
		u.Ref = pi.ID
		switch event.Type {
		case stripego.EventTypePaymentIntentSucceeded:
			u.Status = payment.Succeeded
		case stripego.EventTypePaymentIntentProcessing:
			u.Status = payment.Processing
		default:
			u.Status, u.Reason = payment.Failed, declineReason(pi.LastPaymentError)
		}
		return u, nil
	case stripego.EventTypeRefundCreated, stripego.EventTypeRefundUpdated, stripego.EventTypeRefundFailed:
		var re stripego.Refund
		if err := json.Unmarshal(event.Data.Raw, &re); err != nil || re.ID == "" {
			return payment.Update{}, fmt.Errorf("stripe: webhook event %s: refund: %v", event.ID, errOrEmpty(err))
		}
		return refundUpdate(u, &re, "")
	case stripego.EventTypeChargeRefunded:
		var ch stripego.Charge
		if err := json.Unmarshal(event.Data.Raw, &ch); err != nil || ch.ID == "" {
			return payment.Update{}, fmt.Errorf("stripe: webhook event %s: charge: %v", event.ID, errOrEmpty(err))
		}
		// Since API version 2022-11-15 a charge no longer embeds its
		// refunds; then refund.created carries the refund instead.
		if ch.Refunds == nil || len(ch.Refunds.Data) == 0 {
			return payment.Update{}, fmt.Errorf("%w: %s for charge %s lists no refund (refund.* events carry it)", ErrUnhandledEvent, event.Type, ch.ID)
		}
		var pi string
		if ch.PaymentIntent != nil {
			pi = ch.PaymentIntent.ID
		}
		return refundUpdate(u, ch.Refunds.Data[0], pi) // newest first
	}
	return payment.Update{}, fmt.Errorf("%w: %s", ErrUnhandledEvent, event.Type)
}

// refundUpdate completes u for refund re; pi is the PaymentIntent when the
// refund object does not name it.
func refundUpdate(u payment.Update, re *stripego.Refund, pi string) (payment.Update, error) {
	if re == nil || re.ID == "" {
		return payment.Update{}, fmt.Errorf("stripe: webhook event %s: a refund without an id", u.EventID)
	}
	if re.PaymentIntent != nil && re.PaymentIntent.ID != "" {
		pi = re.PaymentIntent.ID
	}
	if pi == "" {
		return payment.Update{}, fmt.Errorf("%w: refund %s is not of a payment intent", ErrUnhandledEvent, re.ID)
	}
	u.Ref, u.Refund = pi, re.ID
	switch re.Status {
	case stripego.RefundStatusSucceeded:
	case stripego.RefundStatusFailed, stripego.RefundStatusCanceled:
		u.Status, u.Reason = payment.Failed, string(re.FailureReason)
	case stripego.RefundStatusPending, stripego.RefundStatusRequiresAction:
		return payment.Update{}, fmt.Errorf("%w: refund %s is still %s", ErrUnhandledEvent, re.ID, re.Status)
	default:
		return payment.Update{}, fmt.Errorf("stripe: refund %s has unknown status %q", re.ID, re.Status)
	}
	return u, nil
}

func errOrEmpty(err error) error {
	if err != nil {
		return err
	}
	return errors.New("no id")
}

// SignedPayload signs payload as Stripe signs a webhook sent at time at
// (the v1 scheme: HMAC-SHA256 of "<unix time>.<body>" with secret), for
// tests that post webhooks: send body with the header as Stripe-Signature.
func SignedPayload(secret string, payload []byte, at time.Time) (body []byte, header string) {
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at})
	return sp.Payload, sp.Header
}

// EventPayload is the JSON body of a Stripe event of eventType about
// object (a PaymentIntent, Refund or Charge as Stripe renders it, e.g. a
// map with "id", "object", "status"), for tests; SignedPayload signs it. It
// panics when object cannot be encoded as JSON.
func EventPayload(eventID, eventType string, object any) []byte {
	b, err := json.Marshal(map[string]any{
		"id":          eventID,
		"object":      "event",
		"api_version": stripego.APIVersion,
		"created":     time.Now().Unix(),
		"livemode":    false,
		"type":        eventType,
		"data":        map[string]any{"object": object},
	})
	if err != nil {
		panic(fmt.Sprintf("stripe.EventPayload: %v", err))
	}
	return b
}
