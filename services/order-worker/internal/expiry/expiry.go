// Package expiry ends confirmed orders that were not paid within the
// payment window: it moves them to expired through the shared lifecycle
// rule, which gives their stock back in the same transaction. Orders are
// taken FOR UPDATE SKIP LOCKED, so any number of order-worker replicas
// share the sweep with no leader, and an order a customer is paying or
// cancelling right now is simply skipped until the next round.
package expiry

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/lifecycle"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/platform/postgres"
)

// ReasonWindowElapsed is the timeline reason of an expiry.
const ReasonWindowElapsed = "payment_window_elapsed"

// Sweeper expires due orders.
type Sweeper struct {
	DB    *pgxpool.Pool
	Redis redis.UniversalClient // status hints for the api's live streams
	Log   *slog.Logger
	Every time.Duration
	Batch int
	// PaymentGrace: an order with a payment asked of the provider less
	// than this long ago is not expired yet.
	PaymentGrace time.Duration
	Expired      prometheus.Counter
	// Timeout bounds one sweep's transaction (0: none), as the order
	// transactions' consumer.transactionTimeout: a frozen primary ends the
	// sweep instead of holding it until the kernel gives up.
	Timeout time.Duration
}

// Run sweeps until ctx ends.
func (s *Sweeper) Run(ctx context.Context) {
	t := time.NewTicker(s.Every)
	defer t.Stop()
	for {
		n, err := s.Once(ctx)
		if err != nil && ctx.Err() == nil {
			s.Log.WarnContext(ctx, "order expiry failed; retrying", "err", err)
		}
		if n == s.Batch {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once expires one batch of due orders and reports how many.
func (s *Sweeper) Once(ctx context.Context) (int, error) {
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	var evs []lifecycle.Event
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		due, err := lifecycle.LockDue(ctx, tx, s.Batch, s.PaymentGrace)
		if err != nil || len(due) == 0 {
			return err
		}
		evs, err = lifecycle.MoveAll(ctx, tx, due, lifecycle.Expired,
			lifecycle.Cause{Actor: lifecycle.ActorWorker, Reason: ReasonWindowElapsed})
		return err
	})
	if err != nil {
		if postgres.IsRetryable(err) {
			s.Log.DebugContext(ctx, "order expiry conflicted; the next round retries", "err", err)
			return 0, nil
		}
		return 0, fmt.Errorf("expire orders: %w", err)
	}
	if len(evs) == 0 {
		return 0, nil
	}
	s.Expired.Add(float64(len(evs)))
	s.publish(ctx, evs)
	s.Log.InfoContext(ctx, "orders expired", "count", len(evs))
	return len(evs), nil
}

// publish wakes the live status streams of the expired orders. Pub/sub is
// only a hint (streams re-read the order), so a failure is logged, not retried.
func (s *Sweeper) publish(ctx context.Context, evs []lifecycle.Event) {
	_, err := s.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, e := range evs {
			p.Publish(ctx, orderstream.StatusChannel, orderstream.EncodeStatus(e.Hint()))
		}
		return nil
	})
	if err != nil {
		s.Log.WarnContext(ctx, "publishing expiries failed; live streams learn on their next read", "err", err)
	}
}
