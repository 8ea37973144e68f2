package notify

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/kernel/lifecycle"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

// Notifier tells one customer about one timeline event of their order.
type Notifier interface {
	Notify(ctx context.Context, ev orderstream.StatusEvent) error
}

// Told lists the timeline events a customer hears about.
var Told = []string{lifecycle.Confirmed, lifecycle.Failed, lifecycle.Paid, lifecycle.Shipped,
	lifecycle.Cancelled, lifecycle.Expired, lifecycle.Refunded}

// Relay reads the order timeline (order_events) and tells the notifier of
// every event not yet marked notified, whichever service appended it (api
// for payments, cancellations and shipments, order-worker for decisions
// and expiries). Rows are taken FOR UPDATE SKIP LOCKED, so replicas share
// the work; a crash before the mark repeats a notification rather than
// losing it.
type Relay struct {
	DB       *pgxpool.Pool
	Notifier Notifier // nil: events are only marked
	Log      *slog.Logger
	Every    time.Duration
	Batch    int
}

// Run relays until ctx ends.
func (r *Relay) Run(ctx context.Context) {
	t := time.NewTicker(r.Every)
	defer t.Stop()
	for {
		n, err := r.Once(ctx)
		if err != nil && ctx.Err() == nil {
			r.Log.WarnContext(ctx, "notification relay failed; retrying", "err", err)
		}
		if n == r.Batch {
			continue // more are waiting
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type pending struct {
	id int64
	ev orderstream.StatusEvent
}

// Once relays one batch and reports how many events it settled.
func (r *Relay) Once(ctx context.Context) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, r.DB, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT e.id, e.order_id, o.user_id, e.type, coalesce(e.reason, ''), e.traceparent, e.created_at
			FROM order_events e JOIN orders o ON o.id = e.order_id
			WHERE e.notified_at IS NULL ORDER BY e.id LIMIT $1 FOR UPDATE OF e SKIP LOCKED`, r.Batch)
		if err != nil {
			return fmt.Errorf("read unnotified order events: %w", err)
		}
		evs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pending, error) {
			var p pending
			err := row.Scan(&p.id, &p.ev.OrderID, &p.ev.UserID, &p.ev.Status, &p.ev.Reason, &p.ev.Traceparent, &p.ev.DecidedAt)
			return p, err
		})
		if err != nil {
			return err
		}
		ids := make([]int64, len(evs))
		for i, p := range evs {
			ids[i] = p.id
			if r.Notifier == nil || !slices.Contains(Told, p.ev.Status) {
				continue
			}
			if err := r.Notifier.Notify(ctx, p.ev); err != nil {
				// A mail relay that refuses one message must not hold up the
				// others: the event is marked and the failure logged.
				r.Log.WarnContext(ctx, "customer notification failed", "order_id", p.ev.OrderID.String(), "event", p.ev.Status, "err", err)
			}
		}
		n = len(ids)
		_, err = tx.Exec(ctx, `UPDATE order_events SET notified_at = now() WHERE id = ANY($1)`, ids)
		return err
	})
	return n, err
}
