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
	settled, err := s.settleRefund(ctx, p, "failed", lifecycle.RefundFailed,
		lifecycle.Cause{Actor: lifecycle.ActorStripe, PaymentID: &p.ID, RefundID: u.Refund, Reason: u.Reason})
	if settled {
		s.Metrics.refund(s.Provider.Name(), false)
	}
	return err
}
