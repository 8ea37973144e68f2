package payment

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/goshop-platform/shop/services/kernel/lifecycle"
)

// ErrUnknownPayment: a webhook names a charge this shop has no attempt for.
var ErrUnknownPayment = errors.New("no payment attempt has this provider reference")

// Apply settles what a provider's webhook reports. Settling is idempotent
// and ignores answers that come after a final one, so duplicate and
// out-of-order deliveries change nothing a second time.
func (s *Service) Apply(ctx context.Context, u Update) error {
	p, err := scanPayment(s.DB.QueryRow(ctx, selectPayment+" WHERE p.provider = $1 AND p.provider_ref = $2", s.Provider.Name(), u.Ref))
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %s", ErrUnknownPayment, u.Ref)
	}
	if err != nil {
		return err
	}
	if u.Refund != "" && u.Status == Failed {
		return s.refundFailed(ctx, p, u)
	}
	if u.Refund != "" {
		s.recordRefund(ctx, p, u.Refund, lifecycle.ActorStripe)
		return nil
	}
	if u.Status == "" {
		return nil
	}
	_, err = s.Settle(ctx, p.ID, Result{Status: u.Status, Ref: u.Ref, Reason: u.Reason},
		lifecycle.Cause{Actor: lifecycle.ActorStripe, Detail: map[string]any{"event_id": u.EventID}})
	return err
}

// refundFailed records that the provider gave up on a refund this shop
// asked for: the payment's refund needs an operator now (the
// ShopRefundsFailing alert fires on the metric).
func (s *Service) refundFailed(ctx context.Context, p Payment, u Update) error {
	var evs []lifecycle.Event
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		evs = nil
		o, err := lifecycle.Lock(ctx, tx, p.OrderID)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE payments SET refund_state = 'failed', refund_ref = $2, updated_at = now()
			WHERE id = $1 AND refund_state = 'pending'`, p.ID, u.Refund)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		ev, err := lifecycle.Note(ctx, tx, o, lifecycle.RefundFailed, lifecycle.Cause{Actor: lifecycle.ActorStripe,
			PaymentID: &p.ID, RefundID: u.Refund, Reason: u.Reason})
		evs = append(evs, ev)
		return err
	})
	if err == nil && len(evs) > 0 {
		s.Metrics.refund(s.Provider.Name(), false)
		s.Changed.Changed(ctx, evs...)
	}
	return err
}
