package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/goshop-platform/shop/services/api/internal/auth"
	"github.com/goshop-platform/shop/services/api/internal/livestatus"
	"github.com/goshop-platform/shop/services/api/internal/operations"
	"github.com/goshop-platform/shop/services/api/internal/order"
	"github.com/goshop-platform/shop/services/api/internal/payment"
	"github.com/goshop-platform/shop/services/api/internal/product"
	"github.com/goshop-platform/shop/services/kernel/deadletter"
	"github.com/goshop-platform/shop/services/kernel/lifecycle"
	"github.com/goshop-platform/shop/services/kernel/stock"
	"github.com/goshop-platform/shop/services/platform/postgres"
	"github.com/goshop-platform/shop/services/platform/problem"
)

var (
	errRouteNotFound    = problem.New(http.StatusNotFound, "not-found", "no such route")
	errMethodNotAllowed = problem.New(http.StatusMethodNotAllowed, "method-not-allowed", "this route does not accept that method")
	errUnauthenticated  = problem.New(http.StatusUnauthorized, "unauthenticated", "send a valid access token as 'Authorization: Bearer <token>'")
	errForbidden        = problem.New(http.StatusForbidden, "forbidden", "this action needs the admin role")
)

// rateLimited is the 429 for a limiter refusal.
func rateLimited(retry time.Duration) *problem.Problem {
	p := problem.New(http.StatusTooManyRequests, "rate-limited", "too many attempts; wait before trying again")
	p.RetryAfter = max(retry, time.Second)
	return p
}

// fail is the one place where errors become HTTP responses.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var p *problem.Problem
	var se *stock.Error
	var limited *order.RateLimitedError
	var notDurable *order.NotDurableError
	var wrong *lifecycle.StateError
	var declined *payment.DeclinedError
	var notBroadcast *auth.NotBroadcastError
	switch {
	case errors.As(err, &p):
		if p.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="shop"`)
		}
		problem.Write(w, r, clone(p))
		return
	case errors.Is(err, auth.ErrEmailTaken):
		p = problem.New(http.StatusConflict, "email-taken", "an account with this email already exists")
		p.Errors = []problem.FieldError{{Pointer: problem.Pointer("email"), Detail: "already registered"}}
	case errors.Is(err, auth.ErrBadCredentials):
		p = problem.New(http.StatusUnauthorized, "bad-credentials", "email or password is wrong")
	case errors.Is(err, auth.ErrAccountDisabled):
		p = problem.New(http.StatusForbidden, "account-disabled", "this account is disabled; contact the shop")
	case errors.As(err, &notBroadcast):
		p = problem.New(http.StatusServiceUnavailable, "cut-off-not-broadcast", notBroadcast.Error())
		p.RetryAfter = time.Second
	case errors.Is(err, operations.ErrSelf):
		p = problem.New(http.StatusConflict, "own-account", "an admin cannot disable their own account or end their own sessions from the console; use POST /api/v1/auth/logout-everywhere to end your own")
	case errors.Is(err, auth.ErrBadRefreshToken):
		p = problem.New(http.StatusUnauthorized, "bad-refresh-token", "the refresh token is invalid, expired or already used; log in again")
	case errors.Is(err, auth.ErrUserNotFound):
		w.Header().Set("WWW-Authenticate", `Bearer realm="shop", error="invalid_token"`)
		p = problem.New(http.StatusUnauthorized, "unauthenticated", "the account of this token no longer exists")
	case errors.Is(err, product.ErrNotFound), errors.Is(err, order.ErrNotFound), errors.Is(err, lifecycle.ErrNotFound),
		errors.Is(err, operations.ErrNotFound), errors.Is(err, deadletter.ErrNotFound):
		p = problem.New(http.StatusNotFound, "not-found", err.Error())
	case errors.Is(err, product.ErrVersionMismatch):
		p = problem.New(http.StatusPreconditionFailed, "stale-version", "the product changed since you read it; GET it again and retry with the new ETag")
	case errors.Is(err, product.ErrSKUTaken):
		p = problem.New(http.StatusConflict, "sku-taken", err.Error())
		p.Errors = []problem.FieldError{{Pointer: problem.Pointer("sku"), Detail: "already used by another product"}}
	case errors.As(err, &se) && errors.Is(err, stock.ErrInsufficient):
		p = problem.New(http.StatusConflict, "insufficient-stock", se.Error())
		p.Errors = []problem.FieldError{{Pointer: problem.Pointer("delta"), Detail: "would take stock below zero"}}
	case errors.As(err, &wrong):
		p = problem.New(http.StatusConflict, "wrong-state", wrong.Error())
		p.CurrentStatus = wrong.Current
	case errors.Is(err, order.ErrForbidden):
		p = errForbidden
	case errors.As(err, &declined):
		p = problem.New(http.StatusPaymentRequired, "payment-declined", "the payment was declined ("+declined.Payment.Reason+"); the order still awaits payment: try another card")
		p.Errors = []problem.FieldError{{Pointer: problem.Pointer("payment_method"), Detail: declined.Payment.Reason}}
		p.CurrentStatus = declined.Payment.OrderStatus
	case errors.Is(err, payment.ErrInvalidMethod):
		p = problem.Validation(problem.FieldError{Pointer: problem.Pointer("payment_method"), Detail: err.Error()})
	case errors.Is(err, payment.ErrInProgress):
		p = problem.New(http.StatusConflict, "payment-in-progress", "another payment of this order is being processed; wait for its outcome on the order's timeline")
		p.CurrentStatus = "confirmed"
	case errors.Is(err, payment.ErrUnknownOutcome):
		a.Log.WarnContext(r.Context(), "payment provider did not answer", "err", err)
		p = problem.New(http.StatusServiceUnavailable, "payment-provider-unavailable", "the payment provider did not answer; retry with the same Idempotency-Key (you will not be charged twice)")
		p.RetryAfter = 5 * time.Second
	case errors.As(err, &limited):
		p = rateLimited(limited.RetryAfter)
		p.Detail = "too many orders in a short time; wait before ordering again"
	case errors.As(err, &notDurable):
		a.Log.WarnContext(r.Context(), "order not acknowledged by enough redis replicas", "acked", notDurable.Acked, "wanted", notDurable.Wanted)
		p = problem.New(http.StatusServiceUnavailable, "not-durable", "no Redis replica confirmed the order in time, so it may or may not go through; retry with the same Idempotency-Key to learn its id (a retry never creates a second order)")
		p.RetryAfter = 2 * time.Second
	case errors.Is(err, order.ErrIdempotencyReused):
		p = problem.New(http.StatusUnprocessableEntity, "idempotency-key-reused", err.Error())
		p.Errors = []problem.FieldError{problem.Param("Idempotency-Key", "already used with a different body")}
	case errors.Is(err, order.ErrQueueUnavailable):
		a.Log.ErrorContext(r.Context(), "order queue unavailable", "err", err)
		detail := "orders cannot be taken right now; retry shortly with the same Idempotency-Key"
		if r.Method == http.MethodGet {
			detail = "order status cannot be read right now; retry shortly"
		}
		p = problem.New(http.StatusServiceUnavailable, "queue-unavailable", detail)
		p.RetryAfter = 5 * time.Second
	case errors.Is(err, livestatus.ErrUnavailable):
		a.Log.WarnContext(r.Context(), "live order status unavailable", "err", err)
		p = problem.New(http.StatusServiceUnavailable, "live-status-unavailable", "live order status is unavailable right now; retry shortly, or poll GET /api/v1/orders/{id}")
		p.RetryAfter = 5 * time.Second
	case postgres.IsUnavailable(err):
		// The database is away or failing over to a standby: seconds, not a bug.
		a.Log.WarnContext(r.Context(), "database unavailable", "err", err, "route", r.URL.Path)
		p = problem.New(http.StatusServiceUnavailable, "database-unavailable", "the database cannot be reached right now; retry shortly")
		p.RetryAfter = 2 * time.Second
	default:
		a.Log.ErrorContext(r.Context(), "request failed", "err", err, "route", r.URL.Path)
		p = problem.New(http.StatusInternalServerError, "", "an internal error occurred; it has been logged")
	}
	problem.Write(w, r, p)
}

// clone copies a shared problem value so Write can set the instance safely.
func clone(p *problem.Problem) *problem.Problem {
	c := *p
	return &c
}
