// Package processor decides one order in one PostgreSQL transaction: it
// locks the order's product rows in ascending id order, checks every line,
// and either takes the stock (through the shared stock rule) and stores the
// order confirmed with unit prices captured now and the total, or stores it
// failed with a reason and changes no stock. The order id is the primary
// key, so a redelivered order is recognised and has no second effect.
package processor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/kernel/lifecycle"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/platform/postgres"
)

// Outcome is the decided status of an order.
type Outcome struct {
	Status       string // confirmed or failed
	Reason       string
	ReasonDetail string
	TotalMinor   int64
	Currency     string
	// Duplicate is true when the order had been decided before (a redelivery).
	Duplicate bool
}

// ErrRejected wraps errors the database will repeat however often the order
// is retried (a constraint the message violates); the caller dead-letters it.
var ErrRejected = errors.New("rejected by the database")

// Processor runs the order transaction.
type Processor struct {
	DB *pgxpool.Pool
	// PaymentWindow is how long a confirmed order may stay unpaid before it
	// expires (default 15 minutes).
	PaymentWindow time.Duration
	// Timeout bounds each transaction (0: none); see
	// workerconfig.Consumer.TransactionTimeout.
	Timeout time.Duration
	// Waker, when set, wakes catalog-sync after a transaction that changed
	// stock has committed, and the transaction tells the outbox trigger not
	// to (nil: the trigger notifies inside the transaction).
	Waker *Waker
}

// bounded gives a transaction its deadline.
func (p *Processor) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.Timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, p.Timeout)
}

func (p *Processor) window() time.Duration {
	if p.PaymentWindow <= 0 {
		return 15 * time.Minute
	}
	return p.PaymentWindow
}

// Process decides m alone. Serialization failures, deadlocks and a
// concurrent decision of the same order are retried here; other errors are
// returned: wrapped in ErrRejected when retrying cannot help, otherwise
// transient (the database is unreachable) for the caller to retry with
// backoff. Batcher decides many orders per transaction with the same rules.
func (p *Processor) Process(ctx context.Context, m orderstream.Message) (Outcome, error) {
	outs, err := p.decideWithRetry(ctx, []orderstream.Message{m})
	if err != nil {
		return Outcome{}, err
	}
	return outs[0], nil
}

func (p *Processor) decideWithRetry(ctx context.Context, msgs []orderstream.Message) ([]Outcome, error) {
	for attempt := 1; ; attempt++ {
		outs, err := p.decide(ctx, msgs)
		if err == nil || attempt >= 5 || !(postgres.IsRetryable(err) || postgres.IsUniqueViolation(err, "orders_pkey")) {
			return outs, classify(err)
		}
	}
}

func classify(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code[:2] == "22" || pgErr.Code[:2] == "23") {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	return err
}

// RecordFailed stores a failed order for a message that cannot be processed
// (poison), unless the order was decided already. It reports whether it
// stored a new decision.
func (p *Processor) RecordFailed(ctx context.Context, m orderstream.Message, reason, detail string) (bool, error) {
	var stored bool
	if m.AcceptedAt.IsZero() {
		m.AcceptedAt = time.Now() // unreadable in the message: the best we know
	}
	ctx, cancel := p.bounded(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, p.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO orders (id, user_id, status, failure_reason, failure_detail, accepted_at)
			VALUES ($1, $2, 'failed', $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
			m.OrderID, m.UserID, reason, detail, m.AcceptedAt)
		if stored = err == nil && tag.RowsAffected() == 1; !stored {
			return err
		}
		return lifecycle.Append(ctx, tx, []lifecycle.Event{{OrderID: m.OrderID, Type: orderstream.StatusFailed,
			Status: orderstream.StatusFailed, Actor: lifecycle.ActorWorker, Reason: &reason, Traceparent: m.Traceparent}})
	})
	return stored, classify(err)
}

// ReopenForReplay removes a failed decision that came from the dead-letter
// path, so that a replayed message is processed afresh. Confirmed orders and
// ordinary failures (insufficient stock ...) are never reopened.
func (p *Processor) ReopenForReplay(ctx context.Context, id [16]byte) error {
	ctx, cancel := p.bounded(ctx)
	defer cancel()
	_, err := p.DB.Exec(ctx, `DELETE FROM orders WHERE id = $1 AND status = 'failed' AND failure_reason = ANY($2)`,
		id, []string{orderstream.ReasonPoison, orderstream.ReasonTooManyDeliveries})
	return err
}
