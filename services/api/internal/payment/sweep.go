package payment

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/goshop-platform/shop/services/kernel/lifecycle"
)

// Sweep settles what a crash or a silent provider left open: attempts
// still pending or processing and refunds still pending, untouched for
// After (doubled after each refused refund request, up to 64 times). Each row is claimed by bumping its updated_at under FOR UPDATE
// SKIP LOCKED, so api replicas share the sweep without asking the
// provider twice at once.
type Sweep struct {
	Service *Service
	Log     *slog.Logger
	Every   time.Duration
	After   time.Duration
}

// Run sweeps until ctx ends.
func (w *Sweep) Run(ctx context.Context) {
	t := time.NewTicker(w.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := w.Once(ctx); err != nil && ctx.Err() == nil {
			w.Log.WarnContext(ctx, "payment sweep failed; retrying", "err", err)
		}
	}
}

type stale struct {
	id                uuid.UUID
	status, ref, meth string
	refund            string
	amount            int64
	currency          string
	order             uuid.UUID
}

// Once sweeps one round.
func (w *Sweep) Once(ctx context.Context) error {
	rows, err := w.Service.DB.Query(ctx, `UPDATE payments SET updated_at = now() WHERE id IN (
			SELECT id FROM payments WHERE (status IN ('pending', 'processing') OR refund_state = 'pending')
			AND updated_at < now() - $1::interval * power(2, least(refund_attempts, 6)) ORDER BY updated_at LIMIT 50 FOR UPDATE SKIP LOCKED)
		RETURNING id, status, coalesce(provider_ref, ''), method_ref, coalesce(refund_state, ''), amount_minor, currency, order_id`, w.After)
	if err != nil {
		return err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stale, error) {
		var s stale
		return s, r.Scan(&s.id, &s.status, &s.ref, &s.meth, &s.refund, &s.amount, &s.currency, &s.order)
	})
	if err != nil {
		return err
	}
	for _, s := range list {
		w.settle(ctx, s)
	}
	return nil
}

func (w *Sweep) settle(ctx context.Context, s stale) {
	svc := w.Service
	if s.refund == "pending" {
		svc.CompleteRefund(ctx, s.id)
		return
	}
	if s.status != Pending && s.status != Processing {
		return
	}
	var res Result
	var err error
	switch {
	case s.ref != "":
		res, err = svc.Provider.Lookup(ctx, s.ref)
	case s.meth != "":
		res, err = svc.Provider.Charge(ctx, Charge{Key: s.id.String(), OrderID: s.order, AmountMinor: s.amount, Currency: s.currency, Method: s.meth})
	default:
		// Nothing may be kept to ask again (card numbers are never stored).
		res = Result{Status: Failed, Reason: ReasonAbandoned}
	}
	if err != nil {
		w.Log.WarnContext(ctx, "payment provider did not answer the sweep", "payment_id", s.id.String(), "err", err)
		return
	}
	if _, err := svc.Settle(ctx, s.id, res, lifecycle.Cause{Actor: lifecycle.ActorPayments}); err != nil {
		w.Log.WarnContext(ctx, "settling a swept payment failed", "payment_id", s.id.String(), "err", err)
	}
}
