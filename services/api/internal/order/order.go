// Package order is the api's side of ordering: intake (validate the shape,
// enqueue on the new_orders stream, answer at once, honour Idempotency-Key)
// and status reads, which combine orders order-worker has decided
// (PostgreSQL) with orders still pending (a short-lived Redis record).
package order

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/goshop-platform/shop/services/kernel/lifecycle"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

// Statuses (the shared contract's names).
const (
	StatusPending   = orderstream.StatusPending
	StatusConfirmed = orderstream.StatusConfirmed
	StatusFailed    = orderstream.StatusFailed
)

// Statuses lists every status an order can be in, for filters.
var Statuses = []string{StatusPending, lifecycle.Confirmed, lifecycle.Paid, lifecycle.Shipped, lifecycle.Delivered,
	lifecycle.Failed, lifecycle.Cancelled, lifecycle.Expired}

// Domain errors, mapped to HTTP status at the edge.
var (
	ErrNotFound          = errors.New("order not found")
	ErrIdempotencyReused = errors.New("Idempotency-Key was already used with a different request body")
	ErrQueueUnavailable  = errors.New("order queue unavailable")
)

// RateLimitedError refuses an order because its user placed too many
// orders in the current window.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many orders; retry after %s", e.RetryAfter)
}

// Line is one order line as stored.
type Line struct {
	ProductID      int64   `json:"product_id"`
	Quantity       int     `json:"quantity"`
	UnitPriceMinor *int64  `json:"unit_price_minor,omitempty"`
	Currency       *string `json:"currency,omitempty"`
}

// Order is the status view of an order.
type Order struct {
	ID           uuid.UUID  `json:"id"`
	UserID       int64      `json:"user_id"`
	Status       string     `json:"status"`
	Reason       *string    `json:"reason,omitempty"`
	ReasonDetail *string    `json:"reason_detail,omitempty"`
	Items        []Line     `json:"items"`
	TotalMinor   *int64     `json:"total_minor,omitempty"`
	Currency     *string    `json:"currency,omitempty"`
	AcceptedAt   time.Time  `json:"accepted_at"`
	ProcessedAt  *time.Time `json:"processed_at,omitempty"`
	// StatusChangedAt is when the order entered its current status.
	StatusChangedAt *time.Time `json:"status_changed_at,omitempty"`
	// PaymentDueAt: a confirmed order not paid by then expires.
	PaymentDueAt   *time.Time `json:"payment_due_at,omitempty"`
	Carrier        *string    `json:"carrier,omitempty"`
	TrackingNumber *string    `json:"tracking_number,omitempty"`
	// Actions the caller may take now (set at the edge, per caller).
	Actions []string `json:"actions"`
	// Events is the timeline, oldest first (read for one order, not in lists).
	Events []lifecycle.Event `json:"events,omitempty"`
}

// Request is the body of POST /orders.
type Request struct {
	Items []orderstream.Item `json:"items"`
}

// Accepted is the answer to an intake.
type Accepted struct {
	ID         uuid.UUID
	AcceptedAt time.Time
	Replayed   bool // an earlier request with the same Idempotency-Key
}

// Queue puts accepted orders on the stream (Redis in production).
type Queue interface {
	// Enqueue adds msg; with a non-empty idemKey it does so only if the key
	// is new, and otherwise returns the order stored under it and its body hash.
	Enqueue(ctx context.Context, msg orderstream.Message, idemKey, bodyHash string) (existing *Accepted, existingHash string, err error)
	Pending(ctx context.Context, id uuid.UUID) (*Order, error)
	PendingOfUser(ctx context.Context, userID int64) ([]Order, error)
}

// Intake accepts orders.
type Intake struct {
	queue Queue
	now   func() time.Time
}

// NewIntake returns an intake over queue.
func NewIntake(q Queue) *Intake { return &Intake{queue: q, now: time.Now} }

// Place enqueues the order of userID. The caller has validated req.
func (in *Intake) Place(ctx context.Context, userID int64, req Request, idemKey, traceparent string) (Accepted, error) {
	// Milliseconds, as the idempotency record and the user's pending index
	// keep it: the first answer, a replay, the pending record and the
	// decided order all give the same instant.
	msg := orderstream.Message{OrderID: orderstream.NewOrderID(userID), UserID: userID, Items: req.Items,
		AcceptedAt: in.now().UTC().Truncate(time.Millisecond), Traceparent: traceparent}
	hash := ""
	if idemKey != "" {
		hash = bodyHash(req)
	}
	existing, existingHash, err := in.queue.Enqueue(ctx, msg, idemKey, hash)
	if err != nil {
		return Accepted{}, refused(err)
	}
	if existing != nil {
		if existingHash != hash {
			return Accepted{}, ErrIdempotencyReused
		}
		existing.Replayed = true
		return *existing, nil
	}
	return Accepted{ID: msg.OrderID, AcceptedAt: msg.AcceptedAt}, nil
}

// refused is the error of an order the queue did not take: a limit or
// durability answer as it is, anything else the queue being unavailable.
func refused(err error) error {
	var limited *RateLimitedError
	var notDurable *NotDurableError
	if errors.As(err, &limited) || errors.As(err, &notDurable) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrQueueUnavailable, err)
}

// bodyHash identifies the request's meaning (canonical JSON of the lines),
// so that whitespace or key order do not make a retry look different.
func bodyHash(req Request) string {
	b, _ := json.Marshal(req.Items)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
