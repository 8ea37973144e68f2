package httpapi

import (
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"github.com/goshop-platform/shop/services/api/internal/order"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/platform/problem"
)

type acceptedView struct {
	ID         uuid.UUID `json:"id"`
	Status     string    `json:"status"`
	AcceptedAt time.Time `json:"accepted_at"`
}

type orderPage struct {
	Items  []order.Order `json:"items"`
	Total  int           `json:"total"`
	Limit  int           `json:"limit"`
	Offset int           `json:"offset"`
}

// traceparent is the W3C trace context of the request's span, carried in
// stream messages and outbox events so one trace spans the async hop.
func traceparent(r *http.Request) string {
	c := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(r.Context(), c)
	return c["traceparent"]
}

func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	if len(k) > 255 {
		return "", problem.BadRequest("Idempotency-Key is too long", problem.Param("Idempotency-Key", "must be 1 to 255 printable ASCII characters"))
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "", problem.BadRequest("Idempotency-Key has invalid characters", problem.Param("Idempotency-Key", "must be 1 to 255 printable ASCII characters"))
		}
	}
	return k, nil
}

func (a *API) placeOrder(w http.ResponseWriter, r *http.Request) error {
	key, err := idempotencyKey(r)
	if err != nil {
		a.ordersRejected.WithLabelValues("bad_request").Inc()
		return err
	}
	var req order.Request
	if p := problem.DecodeJSON(r, a.MaxBodyBytes, &req); p != nil {
		a.ordersRejected.WithLabelValues("bad_request").Inc()
		return p
	}
	if errs := orderstream.ValidateItems(req.Items); len(errs) > 0 {
		a.ordersRejected.WithLabelValues("invalid").Inc()
		return problem.Validation(errs...)
	}
	acc, err := a.Intake.Place(r.Context(), principal(r).UserID, req, key, traceparent(r))
	if err != nil {
		a.ordersRejected.WithLabelValues(refusal(err)).Inc()
		return err
	}
	a.ordersAccepted.WithLabelValues(strconv.FormatBool(acc.Replayed)).Inc()
	h := w.Header()
	if acc.Replayed {
		h["Idempotent-Replayed"] = replayedTrue
	}
	var loc [64]byte
	h["Location"] = []string{string(appendUUID(append(loc[:0], "/api/v1/orders/"...), acc.ID))}
	return writeJSON(w, http.StatusAccepted, acceptedView{ID: acc.ID, Status: order.StatusPending, AcceptedAt: acc.AcceptedAt})
}

var replayedTrue = []string{"true"}

// refusal is the reason label of an order the intake refused.
func refusal(err error) string {
	var limited *order.RateLimitedError
	var notDurable *order.NotDurableError
	switch {
	case errors.As(err, &limited):
		return "rate_limited"
	case errors.As(err, &notDurable):
		return "not_durable"
	}
	return "unavailable"
}

// appendJSON is the view as encoding/json writes it (TestAcceptedViewJSON
// compares them), without reflection: it answers every order.
func (v acceptedView) appendJSON(b []byte) []byte {
	b = appendUUID(append(b, `{"id":"`...), v.ID)
	b = append(append(append(b, `","status":"`...), v.Status...), `","accepted_at":"`...) // a status is a lowercase word
	b, _ = v.AcceptedAt.AppendText(b)
	return append(b, `"}`...)
}

// appendUUID appends id in its canonical text form (uuid.UUID.String's)
// without allocating.
func appendUUID(b []byte, id uuid.UUID) []byte {
	var s [36]byte
	hex.Encode(s[0:8], id[0:4])
	hex.Encode(s[9:13], id[4:6])
	hex.Encode(s[14:18], id[6:8])
	hex.Encode(s[19:23], id[8:10])
	hex.Encode(s[24:], id[10:])
	s[8], s[13], s[18], s[23] = '-', '-', '-', '-'
	return append(b, s[:]...)
}

func (a *API) getOrder(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	o, err := a.visibleOrder(r, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, o)
}

// orderID is the {id} of an order route.
func orderID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		return id, problem.New(http.StatusNotFound, "not-found", "order ids are UUIDs")
	}
	return id, nil
}

// visibleOrder reads an order the caller may see: their own, or any for
// an admin. Someone else's order is reported as missing, not forbidden, so
// ids cannot be probed.
func (a *API) visibleOrder(r *http.Request, id uuid.UUID) (order.Order, error) {
	o, err := a.Orders.Get(r.Context(), id)
	if err != nil {
		return o, err
	}
	p := principal(r)
	if !p.IsAdmin() && o.UserID != p.UserID {
		return order.Order{}, order.ErrNotFound
	}
	o.Actions = order.Allowed(order.Actor{UserID: p.UserID, Admin: p.IsAdmin()}, o.Status, o.UserID == p.UserID)
	return o, nil
}

func (a *API) listOrders(w http.ResponseWriter, r *http.Request) error {
	limit, offset, errs := paging(r)
	q := order.ListQuery{UserID: principal(r).UserID, Status: r.URL.Query().Get("status"), Limit: limit, Offset: offset}
	if q.Status != "" && !slices.Contains(order.Statuses, q.Status) {
		errs = append(errs, problem.Param("status", "must be one of "+strings.Join(order.Statuses, ", ")))
	}
	if principal(r).IsAdmin() {
		q.UserID = 0
		if s := r.URL.Query().Get("user_id"); s != "" {
			uid, err := strconv.ParseInt(s, 10, 64)
			if err != nil || uid <= 0 {
				errs = append(errs, problem.Param("user_id", "must be a positive integer"))
			}
			q.UserID = uid
		}
	} else if r.URL.Query().Has("user_id") {
		errs = append(errs, problem.Param("user_id", "only admins may filter by user"))
	}
	if len(errs) > 0 {
		return problem.BadRequest("invalid query parameters", errs...)
	}
	items, total, err := a.Orders.List(r.Context(), q)
	if err != nil {
		return err
	}
	p := principal(r)
	for i, o := range items {
		items[i].Actions = order.Allowed(order.Actor{UserID: p.UserID, Admin: p.IsAdmin()}, o.Status, o.UserID == p.UserID)
	}
	return writeJSON(w, http.StatusOK, orderPage{Items: items, Total: total, Limit: limit, Offset: offset})
}
