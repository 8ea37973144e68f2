package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

// Actors that are not a person.
const (
	ActorWorker   = "order-worker"
	ActorPayments = "payments"
	ActorStripe   = "stripe"
)

// Customer and Admin name a person as an event's actor.
func Customer(userID int64) string { return "user:" + strconv.FormatInt(userID, 10) }
func Admin(userID int64) string    { return "admin:" + strconv.FormatInt(userID, 10) }

// Cause says who or what made an event happen and why.
type Cause struct {
	Actor       string
	Reason      string
	PaymentID   *uuid.UUID
	RefundID    string
	Detail      map[string]any
	Traceparent string
}

func (c Cause) event(o Order, typ, status string) Event {
	e := Event{OrderID: o.ID, UserID: o.UserID, Type: typ, Status: status, Actor: c.Actor,
		PaymentID: c.PaymentID, Traceparent: c.Traceparent}
	if c.Reason != "" {
		e.Reason = &c.Reason
	}
	if c.RefundID != "" {
		e.RefundID = &c.RefundID
	}
	e.Detail, _ = json.Marshal(c.Detail) // maps of plain values: cannot fail
	if c.Detail == nil {
		e.Detail = json.RawMessage("{}")
	}
	return e
}

// Event is one entry of an order's timeline.
type Event struct {
	ID          int64           `json:"id"`
	OrderID     uuid.UUID       `json:"-"`
	UserID      int64           `json:"-"`
	Type        string          `json:"type"`
	Status      string          `json:"status"`
	Actor       string          `json:"actor"`
	Reason      *string         `json:"reason,omitempty"`
	PaymentID   *uuid.UUID      `json:"payment_id,omitempty"`
	RefundID    *string         `json:"refund_id,omitempty"`
	Detail      json.RawMessage `json:"detail,omitempty"`
	Traceparent string          `json:"traceparent,omitempty"`
	At          time.Time       `json:"at"`
}

// Note appends an event that does not change the order's status (a
// declined payment, a refund) to the locked order o.
func Note(ctx context.Context, tx pgx.Tx, o Order, typ string, c Cause) (Event, error) {
	evs := []Event{c.event(o, typ, o.Status)}
	err := Append(ctx, tx, evs)
	return evs[0], err
}

// Append inserts evs in one statement and fills in their ids and times.
func Append(ctx context.Context, tx pgx.Tx, evs []Event) error {
	rows, err := tx.Query(ctx, appendSQL+" RETURNING id, created_at", appendArgs(evs)...)
	if err != nil {
		return fmt.Errorf("append %d order events: %w", len(evs), err)
	}
	defer rows.Close()
	for i := 0; rows.Next() && i < len(evs); i++ {
		if err := rows.Scan(&evs[i].ID, &evs[i].At); err != nil {
			return err
		}
	}
	return rows.Err()
}

// QueueAppend adds Append's statement to b, for a caller that sends its
// transaction's statements in one round trip; the events' ids and times
// are not read back.
func QueueAppend(b *pgx.Batch, evs []Event) {
	b.Queue(appendSQL, appendArgs(evs)...).Exec(func(pgconn.CommandTag) error { return nil })
}

const appendSQL = `INSERT INTO order_events (order_id, type, status, actor, reason, refund_id, payment_id, detail, traceparent)
	SELECT o, t, s, a, r, f, p, d::jsonb, tp FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::text[], $9::text[])
		WITH ORDINALITY AS e(o, t, s, a, r, f, p, d, tp, n) ORDER BY n`

func appendArgs(evs []Event) []any {
	n := len(evs)
	orders, types, statuses, actors := make([]uuid.UUID, n), make([]string, n), make([]string, n), make([]string, n)
	reasons, refunds, details, traces := make([]*string, n), make([]*string, n), make([]string, n), make([]string, n)
	payments := make([]*uuid.UUID, n)
	for i, e := range evs {
		orders[i], types[i], statuses[i], actors[i] = e.OrderID, e.Type, e.Status, e.Actor
		reasons[i], refunds[i], payments[i], traces[i] = e.Reason, e.RefundID, e.PaymentID, e.Traceparent
		details[i] = string(e.Detail)
		if len(e.Detail) == 0 {
			details[i] = "{}"
		}
	}
	return []any{orders, types, statuses, actors, reasons, refunds, payments, details, traces}
}

// Timeline returns the events of order id, oldest first.
func Timeline(ctx context.Context, q Querier, ids []uuid.UUID) (map[uuid.UUID][]Event, error) {
	rows, err := q.Query(ctx, `SELECT id, order_id, type, status, actor, reason, payment_id, refund_id, detail, traceparent, created_at
		FROM order_events WHERE order_id = ANY($1) ORDER BY order_id, id`, ids)
	if err != nil {
		return nil, fmt.Errorf("read order timelines: %w", err)
	}
	defer rows.Close()
	out := map[uuid.UUID][]Event{}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.OrderID, &e.Type, &e.Status, &e.Actor, &e.Reason, &e.PaymentID, &e.RefundID,
			&e.Detail, &e.Traceparent, &e.At); err != nil {
			return nil, err
		}
		out[e.OrderID] = append(out[e.OrderID], e)
	}
	return out, rows.Err()
}

// Querier is a pool or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Hint is the live-status hint published for e once it is committed.
func (e Event) Hint() orderstream.StatusEvent {
	reason := ""
	if e.Reason != nil {
		reason = *e.Reason
	}
	return orderstream.StatusEvent{OrderID: e.OrderID, UserID: e.UserID, Status: e.Status, Reason: reason,
		DecidedAt: e.At, Traceparent: e.Traceparent}
}
