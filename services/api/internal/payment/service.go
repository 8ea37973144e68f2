// Package payment takes an order's payment through a provider (mock or
// Stripe) with the lifecycle's guarantees: an attempt is recorded before
// the provider is asked (so a crash between the two is recovered by the
// sweep or the provider's webhook), the order becomes paid at most once,
// a payment that succeeds for an order that was cancelled or expired in
// the meantime is refunded, and no payment is refunded twice.
package payment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/kernel/lifecycle"
)

// Errors mapped to HTTP status at the edge.
var (
	ErrInProgress = errors.New("another payment of this order is in progress")
	// ErrUnknownOutcome: the provider did not answer; retrying with the same
	// Idempotency-Key asks it again without charging twice.
	ErrUnknownOutcome = errors.New("the payment provider did not answer")
)

// DeclinedError is a charge the provider refused.
type DeclinedError struct {
	Payment Payment
}

func (e *DeclinedError) Error() string { return "payment declined: " + e.Payment.Reason }

// Payment is the view of one attempt.
type Payment struct {
	ID          uuid.UUID `json:"id"`
	OrderID     uuid.UUID `json:"order_id"`
	Status      string    `json:"status"` // pending, processing, succeeded, failed
	Reason      string    `json:"reason,omitempty"`
	AmountMinor int64     `json:"amount_minor"`
	Currency    string    `json:"currency"`
	OrderStatus string    `json:"order_status"`
	ref         string
	refund      string // refund_state
}

// Changed is told of timeline events after they are committed (live status).
type Changed interface {
	Changed(ctx context.Context, evs ...lifecycle.Event)
}

// Service runs payments of one provider.
type Service struct {
	DB       *pgxpool.Pool
	Provider Provider
	Changed  Changed
	Metrics  *Metrics
	// Counted counts an order transition (to, by whom: customer or provider).
	Counted func(to, by string)
	// DeclineFault, when it hits, declines an attempt without asking the
	// provider (fault injection: spec.faults.paymentDeclineRatio); nil
	// never does.
	DeclineFault Fault
}

// Fault decides whether one attempt fails on purpose (fault injection,
// docs/fault-injection.md).
type Fault interface {
	Hit(ctx context.Context) bool
}

// Pay is a customer's request to pay an order.
type Pay struct {
	OrderID     uuid.UUID
	UserID      int64
	Key         string // the client's Idempotency-Key ("" = a new attempt)
	Method      string
	Traceparent string
}

// Pay records the attempt, asks the provider and settles the answer. A
// retry with the same key continues the same attempt.
func (s *Service) Pay(ctx context.Context, req Pay) (Payment, error) {
	if req.Key == "" {
		req.Key = uuid.NewString()
	}
	if c, ok := s.Provider.(interface{ CheckMethod(string) error }); ok {
		if err := c.CheckMethod(req.Method); err != nil {
			return Payment{}, err
		}
	}
	p, created, err := s.begin(ctx, req)
	if err != nil || (p.Status != Pending) {
		return p, s.outcome(p, err)
	}
	cause := lifecycle.Cause{Actor: lifecycle.Customer(req.UserID), Traceparent: req.Traceparent}
	// Only an attempt this request created can be declined on purpose: a
	// pending one found under the same key may have reached the provider.
	if created && s.DeclineFault != nil && s.DeclineFault.Hit(ctx) {
		// Recorded and never charged: the attempt settles as a declined
		// card does (timeline, metrics), with a reason that says why.
		p, err = s.Settle(ctx, p.ID, Result{Status: Failed, Reason: ReasonInjected}, cause)
		return p, s.outcome(p, err)
	}
	res, err := s.Provider.Charge(ctx, Charge{Key: p.ID.String(), OrderID: p.OrderID, AmountMinor: p.AmountMinor,
		Currency: p.Currency, Method: req.Method})
	if errors.Is(err, ErrInvalidMethod) {
		res, err = Result{Status: Failed, Reason: ReasonInvalidMethod}, nil
	}
	if err != nil {
		return p, fmt.Errorf("%w: %v", ErrUnknownOutcome, err)
	}
	p, err = s.Settle(ctx, p.ID, res, cause)
	return p, s.outcome(p, err)
}

// Pending is the status of an attempt recorded but not answered yet.
const Pending = "pending"

func (s *Service) outcome(p Payment, err error) error {
	if err == nil && p.Status == Failed {
		return &DeclinedError{Payment: p}
	}
	return err
}

// begin records a new attempt (created), or returns the attempt of the
// same key.
func (s *Service) begin(ctx context.Context, req Pay) (p Payment, created bool, err error) {
	err = pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		o, err := lifecycle.Lock(ctx, tx, req.OrderID)
		if errors.Is(err, lifecycle.ErrNotFound) || (err == nil && o.UserID != req.UserID) {
			return lifecycle.ErrNotFound
		}
		if err != nil {
			return err
		}
		p, err = scanPayment(tx.QueryRow(ctx, selectPayment+" WHERE p.order_id = $1 AND p.idempotency_key = $2", o.ID, req.Key))
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return err // the same request again: continue or report that attempt
		}
		if o.Status != lifecycle.Confirmed {
			return &lifecycle.StateError{Current: o.Status, Wanted: lifecycle.Paid}
		}
		var busy bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM payments WHERE order_id = $1 AND status IN ('pending', 'processing'))`,
			o.ID).Scan(&busy); err != nil {
			return err
		}
		if busy {
			return ErrInProgress
		}
		p = Payment{ID: uuid.New(), OrderID: o.ID, Status: Pending, AmountMinor: o.TotalMinor, Currency: o.Currency, OrderStatus: o.Status}
		_, err = tx.Exec(ctx, `INSERT INTO payments (id, order_id, provider, idempotency_key, status, amount_minor, currency, method_ref)
			VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7)`,
			p.ID, p.OrderID, s.Provider.Name(), req.Key, p.AmountMinor, p.Currency, s.Provider.Retainable(req.Method))
		created = err == nil
		return err
	})
	return p, created && err == nil, err
}

const selectPayment = `SELECT p.id, p.order_id, p.status, coalesce(p.failure_reason, ''), p.amount_minor, p.currency,
	o.status, coalesce(p.provider_ref, ''), coalesce(p.refund_state, '') FROM payments p JOIN orders o ON o.id = p.order_id`

func scanPayment(row pgx.Row) (Payment, error) {
	var p Payment
	err := row.Scan(&p.ID, &p.OrderID, &p.Status, &p.Reason, &p.AmountMinor, &p.Currency, &p.OrderStatus, &p.ref, &p.refund)
	return p, err
}

// Settle applies a provider's answer about attempt id. It is idempotent
// and tolerates answers out of order: a final status is never replaced,
// except that a success after a failure wins (the money did move). A
// success for an order no longer awaiting payment is refunded.
func (s *Service) Settle(ctx context.Context, id uuid.UUID, res Result, c lifecycle.Cause) (Payment, error) {
	var p Payment
	var evs []lifecycle.Event
	refund, changed := false, false
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		evs, refund, changed = nil, false, false
		var orderID uuid.UUID
		if err := tx.QueryRow(ctx, "SELECT order_id FROM payments WHERE id = $1", id).Scan(&orderID); err != nil {
			return fmt.Errorf("find payment %s: %w", id, err)
		}
		o, err := lifecycle.Lock(ctx, tx, orderID) // the order first, as every lifecycle move does
		if err != nil {
			return err
		}
		if p, err = scanPayment(tx.QueryRow(ctx, selectPayment+" WHERE p.id = $1 FOR UPDATE OF p", id)); err != nil {
			return err
		}
		if changed = changes(p.Status, res.Status); !changed {
			return nil
		}
		c.PaymentID = &p.ID
		if res.Ref == "" {
			res.Ref = p.ref
		}
		refund = res.Status == Succeeded && o.Status != lifecycle.Confirmed
		if _, err := tx.Exec(ctx, `UPDATE payments SET status = $2, provider_ref = nullif($3, ''), failure_reason = nullif($4, ''),
				refund_state = CASE WHEN $5 THEN 'pending' ELSE refund_state END, updated_at = now() WHERE id = $1`,
			p.ID, res.Status, res.Ref, res.Reason, refund); err != nil {
			return fmt.Errorf("settle payment %s: %w", p.ID, err)
		}
		p.Status, p.Reason, p.ref = res.Status, res.Reason, res.Ref
		switch {
		case res.Status == Failed:
			c.Reason = res.Reason
			ev, err := lifecycle.Note(ctx, tx, o, lifecycle.PaymentFailed, c)
			evs = append(evs, ev)
			return err
		case res.Status == Succeeded && !refund:
			ev, err := lifecycle.Move(ctx, tx, o, lifecycle.Paid, c)
			evs, p.OrderStatus = append(evs, ev), lifecycle.Paid
			return err
		}
		return nil
	})
	if err != nil {
		return p, err
	}
	if changed {
		s.Metrics.settled(s.Provider.Name(), res)
	}
	if p.OrderStatus == lifecycle.Paid && len(evs) > 0 {
		by := "provider"
		if strings.HasPrefix(c.Actor, "user:") {
			by = "customer"
		}
		s.Counted(lifecycle.Paid, by)
		if d, err := sinceConfirmed(ctx, s.DB, p.OrderID); err == nil {
			s.Metrics.timeToPay.Observe(d.Seconds())
		}
	}
	s.Changed.Changed(ctx, evs...)
	if refund {
		s.CompleteRefund(ctx, p.ID)
	}
	return p, nil
}

// changes reports whether an attempt in status from takes the answer to.
func changes(from, to string) bool {
	switch from {
	case Pending:
		return to != Pending
	case Processing:
		return to == Succeeded || to == Failed
	case Failed:
		return to == Succeeded
	}
	return false
}

// MarkRefund, inside the transaction that cancels the locked order o,
// marks the order's successful payments to be refunded (once: a payment
// already marked is left alone) and returns their ids for CompleteRefund
// after the commit.
func MarkRefund(ctx context.Context, tx pgx.Tx, o lifecycle.Order) ([]uuid.UUID, error) {
	rows, err := tx.Query(ctx, `UPDATE payments SET refund_state = 'pending', updated_at = now()
		WHERE order_id = $1 AND status = 'succeeded' AND refund_state IS NULL RETURNING id`, o.ID)
	if err != nil {
		return nil, fmt.Errorf("mark refunds of order %s: %w", o.ID, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// CompleteRefund asks the provider to refund payment id if it is marked
// for a refund, and records the refund in the order's timeline. A provider
// failure leaves the mark for the sweep to retry with the same key.
func (s *Service) CompleteRefund(ctx context.Context, id uuid.UUID) {
	p, err := scanPayment(s.DB.QueryRow(ctx, selectPayment+" WHERE p.id = $1", id))
	if err != nil || p.refund != "pending" {
		return
	}
	ref, err := s.Provider.Refund(ctx, Refund{Key: "refund-" + p.ID.String(), ChargeRef: p.ref, AmountMinor: p.AmountMinor})
	if err != nil {
		s.refundRefused(ctx, p, err)
		return
	}
	s.recordRefund(ctx, p, ref, lifecycle.ActorPayments)
}

// MaxRefundAttempts is how often a refund is asked for before it is given
// up as refund_failed (for an operator, alerted by ShopRefundsFailing).
// The sweep waits twice as long after each refusal, up to 64 times
// payments.recheckAfter: with the default 5 s the last attempt comes about
// 80 minutes after the first — long enough to ride out a provider outage,
// short enough not to hammer a refusal that will not change.
const MaxRefundAttempts = 20

// refundRefused counts a refused refund request; the sweep retries it
// later, until MaxRefundAttempts.
func (s *Service) refundRefused(ctx context.Context, p Payment, cause error) {
	s.Metrics.refund(s.Provider.Name(), false)
	var attempts int
	if err := s.DB.QueryRow(ctx, `UPDATE payments SET refund_attempts = refund_attempts + 1, updated_at = now()
		WHERE id = $1 RETURNING refund_attempts`, p.ID).Scan(&attempts); err != nil || attempts < MaxRefundAttempts {
		return
	}
	_, _ = s.settleRefund(ctx, p, "failed", lifecycle.RefundFailed, lifecycle.Cause{Actor: lifecycle.ActorPayments, PaymentID: &p.ID,
		Reason: "provider_refused", Detail: map[string]any{"attempts": attempts, "error": cause.Error()}})
}

// recordRefund settles a pending refund of p as done, once.
func (s *Service) recordRefund(ctx context.Context, p Payment, ref, actor string) {
	settled, _ := s.settleRefund(ctx, p, "succeeded", lifecycle.Refunded, lifecycle.Cause{Actor: actor, PaymentID: &p.ID, RefundID: ref,
		Detail: map[string]any{"amount_minor": p.AmountMinor, "currency": p.Currency}}) // on failure still pending: the sweep retries
	if settled {
		s.Metrics.refund(s.Provider.Name(), true)
	}
}

// settleRefund moves p's refund from pending to state (succeeded or
// failed) and appends event typ, once: a refund already settled is left
// alone (settled false).
func (s *Service) settleRefund(ctx context.Context, p Payment, state, typ string, c lifecycle.Cause) (settled bool, err error) {
	var evs []lifecycle.Event
	err = pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		evs = nil
		o, err := lifecycle.Lock(ctx, tx, p.OrderID)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE payments SET refund_state = $2, refund_ref = $3, updated_at = now()
			WHERE id = $1 AND refund_state = 'pending'`, p.ID, state, c.RefundID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		ev, err := lifecycle.Note(ctx, tx, o, typ, c)
		evs = append(evs, ev)
		return err
	})
	if err == nil && len(evs) > 0 {
		s.Changed.Changed(ctx, evs...)
	}
	return err == nil && len(evs) > 0, err
}

// sinceConfirmed is how long ago the order was confirmed (for the
// time-to-pay histogram).
func sinceConfirmed(ctx context.Context, db *pgxpool.Pool, orderID uuid.UUID) (time.Duration, error) {
	var at time.Time
	err := db.QueryRow(ctx, "SELECT processed_at FROM orders WHERE id = $1", orderID).Scan(&at)
	return time.Since(at), err
}
