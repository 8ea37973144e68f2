package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/goshop-platform/shop/services/api/internal/order"
	"github.com/goshop-platform/shop/services/api/internal/payment"
	"github.com/goshop-platform/shop/services/api/internal/payment/stripe"
	"github.com/goshop-platform/shop/services/platform/problem"
)

// Payments runs an order's payment (payment.Service).
type Payments interface {
	Pay(ctx context.Context, req payment.Pay) (payment.Payment, error)
	Apply(ctx context.Context, u payment.Update) error
}

// Webhooks verifies a provider's signed webhook deliveries (stripe.Provider).
type Webhooks interface {
	ParseWebhook(payload []byte, sigHeader string) (payment.Update, error)
}

type payRequest struct {
	PaymentMethod string `json:"payment_method"`
}

func (a *API) payOrder(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req payRequest
	if p := problem.DecodeJSON(r, a.MaxBodyBytes, &req); p != nil {
		return p
	}
	if strings.TrimSpace(req.PaymentMethod) == "" || len(req.PaymentMethod) > 255 {
		return problem.Validation(problem.FieldError{Pointer: problem.Pointer("payment_method"),
			Detail: "required: a card number (mock provider) or a payment method id (stripe)"})
	}
	p, err := a.Payments.Pay(r.Context(), payment.Pay{OrderID: id, UserID: principal(r).UserID, Key: key,
		Method: req.PaymentMethod, Traceparent: traceparent(r)})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if p.Status != payment.Succeeded {
		status = http.StatusAccepted // processing: the order's timeline shows when it settles
	}
	w.Header().Set("Location", "/api/v1/orders/"+id.String())
	return writeJSON(w, status, p)
}

type cancelRequest struct {
	Reason string `json:"reason"`
}

func (a *API) cancelOrder(w http.ResponseWriter, r *http.Request) error {
	var req cancelRequest
	return a.act(w, r, &req, func(id uuid.UUID, who order.Actor) error {
		if utf8.RuneCountInString(req.Reason) > 500 {
			return problem.Validation(problem.FieldError{Pointer: problem.Pointer("reason"), Detail: "at most 500 characters"})
		}
		return a.Lifecycle.Cancel(r.Context(), id, who, strings.TrimSpace(req.Reason), traceparent(r))
	})
}

func (a *API) shipOrder(w http.ResponseWriter, r *http.Request) error {
	var req order.Shipment
	return a.act(w, r, &req, func(id uuid.UUID, who order.Actor) error {
		var errs []problem.FieldError
		req.Carrier, req.TrackingNumber = strings.TrimSpace(req.Carrier), strings.TrimSpace(req.TrackingNumber)
		if n := utf8.RuneCountInString(req.Carrier); n < 1 || n > 64 {
			errs = append(errs, problem.FieldError{Pointer: problem.Pointer("carrier"), Detail: "required, at most 64 characters"})
		}
		if n := utf8.RuneCountInString(req.TrackingNumber); n < 1 || n > 128 {
			errs = append(errs, problem.FieldError{Pointer: problem.Pointer("tracking_number"), Detail: "required, at most 128 characters"})
		}
		if len(errs) > 0 {
			return problem.Validation(errs...)
		}
		return a.Lifecycle.Ship(r.Context(), id, who, req, traceparent(r))
	})
}

func (a *API) deliverOrder(w http.ResponseWriter, r *http.Request) error {
	var req struct{}
	return a.act(w, r, &req, func(id uuid.UUID, who order.Actor) error {
		return a.Lifecycle.Deliver(r.Context(), id, who, traceparent(r))
	})
}

// act decodes an action's body (an empty body counts as {}), runs do and
// answers with the order as it is now.
func (a *API) act(w http.ResponseWriter, r *http.Request, body any, do func(uuid.UUID, order.Actor) error) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	if r.ContentLength != 0 {
		if p := problem.DecodeJSON(r, a.MaxBodyBytes, body); p != nil {
			return p
		}
	}
	p := principal(r)
	if err := do(id, order.Actor{UserID: p.UserID, Admin: p.IsAdmin()}); err != nil {
		return err
	}
	o, err := a.visibleOrder(r, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, o)
}

// stripeWebhook settles payments from Stripe's signed event deliveries.
// Anything not signed with the endpoint's secret, or signed too long ago,
// is refused with 400 and changes nothing; an event for a payment this
// shop does not know is acknowledged (Stripe would otherwise retry it for
// days) and logged.
func (a *API) stripeWebhook(w http.ResponseWriter, r *http.Request) error {
	if a.Webhooks == nil {
		return problem.New(http.StatusNotFound, "not-found", "the stripe payment provider is not configured")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		return problem.BadRequest("the event body is too large or unreadable")
	}
	u, err := a.Webhooks.ParseWebhook(body, r.Header.Get("Stripe-Signature"))
	switch {
	case errors.Is(err, stripe.ErrUnhandledEvent):
		w.WriteHeader(http.StatusNoContent)
		return nil
	case errors.Is(err, stripe.ErrBadSignature):
		a.Log.WarnContext(r.Context(), "stripe webhook with a bad signature refused", "err", err)
		return problem.BadRequest("the Stripe-Signature header does not verify: wrong secret, tampered body, or signed too long ago",
			problem.Param("Stripe-Signature", "does not verify"))
	case err != nil:
		return problem.BadRequest("the event cannot be read: " + err.Error())
	}
	err = a.Payments.Apply(r.Context(), u)
	if errors.Is(err, payment.ErrUnknownPayment) {
		a.Log.WarnContext(r.Context(), "stripe event for an unknown payment acknowledged", "event_id", u.EventID, "err", err)
		err = nil
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
