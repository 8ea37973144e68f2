package consumer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/order-worker/internal/processor"
)

var tracer = otel.Tracer("github.com/goshop-platform/shop/services/order-worker/internal/consumer")

// Faults is the fault injection that handle applies to each order
// (spec.faults, docs/fault-injection.md). A Processor that also implements
// it gets its orders slowed down and its attempts failed on purpose; app
// wires one.
type Faults interface {
	// Slowdown waits before an order is decided; it returns ctx's error
	// when the drain deadline passes first.
	Slowdown(ctx context.Context) error
	// FailAttempt returns a transient error for the configured share of
	// attempts, nil for the others.
	FailAttempt(ctx context.Context) error
}

// handle turns one stream entry into a decided order, then acks it. It
// returns without acking only when the drain deadline cancelled the work:
// the entry then stays pending and another consumer claims it.
func (c *Consumer) handle(ctx context.Context, p int, msg redis.XMessage, claimed bool) {
	start := time.Now()
	tp, _ := msg.Values["traceparent"].(string)
	ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier{"traceparent": tp})
	ctx, span := tracer.Start(ctx, "order-worker process", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("messaging.system", "redis"), attribute.String("messaging.destination.name", c.keys.Stream(p)),
			attribute.String("messaging.message.id", msg.ID)))
	defer span.End()

	m, err := orderstream.Decode(msg.Values)
	if err != nil {
		c.deadLetter(ctx, p, msg, m, orderstream.ReasonPoison, err.Error())
		return
	}
	span.SetAttributes(attribute.String("order.id", m.OrderID.String()))
	if claimed {
		if n := c.deliveries(ctx, p, msg.ID); n > int64(c.cfg.MaxDeliveries) {
			c.deadLetter(ctx, p, msg, m, orderstream.ReasonTooManyDeliveries, fmt.Sprintf("delivered %d times (limit %d)", n, c.cfg.MaxDeliveries))
			return
		}
	}
	if replay, _ := msg.Values["replay"].(string); replay == "1" {
		if err := c.retry(ctx, "reopen replayed order", func() error { return c.proc.ReopenForReplay(ctx, m.OrderID) }); err != nil {
			return
		}
	}
	faults, _ := c.proc.(Faults)
	if faults != nil {
		if err := faults.Slowdown(ctx); err != nil {
			span.SetStatus(codes.Error, "drain deadline reached before the order was decided")
			return
		}
	}
	var out processor.Outcome
	var rejected error
	err = c.retry(ctx, "process order", func() error {
		// Injected failures stop once the order has waited half of
		// ClaimIdle: they must never let another consumer claim the entry,
		// which would count towards MaxDeliveries and the dead letters.
		if faults != nil && time.Since(start) < c.cfg.ClaimIdle/2 {
			if err := faults.FailAttempt(ctx); err != nil {
				c.metrics.transient.WithLabelValues("injected").Inc()
				return err
			}
		}
		var err error
		out, err = c.proc.Process(ctx, m)
		if errors.Is(err, processor.ErrRejected) {
			rejected = err
			return nil
		}
		if err != nil {
			c.metrics.transient.WithLabelValues("postgres").Inc()
		}
		return err
	})
	if err != nil {
		span.SetStatus(codes.Error, "drain deadline reached before the order was decided")
		return
	}
	if rejected != nil {
		c.deadLetter(ctx, p, msg, m, "rejected_by_database", rejected.Error())
		return
	}
	c.finish(ctx, p, msg, m, out)
	c.metrics.observe(ctx, out, time.Since(start), time.Since(m.AcceptedAt))
	span.SetAttributes(attribute.String("order.status", out.Status), attribute.Bool("order.duplicate", out.Duplicate))
}

// finish acks the entry, drops the pending-status record, publishes the
// status (also for a redelivered, already decided order: the first delivery
// may have crashed before publishing). The customer is told by the
// notifier relay, from the order's timeline.
func (c *Consumer) finish(ctx context.Context, p int, msg redis.XMessage, m orderstream.Message, out processor.Outcome) {
	ev := orderstream.StatusEvent{OrderID: m.OrderID, UserID: m.UserID, Status: out.Status, Reason: out.Reason,
		ReasonDetail: out.ReasonDetail, DecidedAt: time.Now().UTC(), Traceparent: m.Traceparent}
	err := c.retry(ctx, "ack order", func() error {
		// One slot (the partition's tag): one MULTI, also in a cluster.
		_, err := c.rdb.TxPipelined(ctx, func(tx redis.Pipeliner) error {
			tx.XAck(ctx, c.keys.Stream(p), orderstream.Group, msg.ID)
			tx.Del(ctx, c.keys.PendingKey(p, m.OrderID))
			tx.ZRem(ctx, c.keys.UserPendingKey(p, m.UserID), m.OrderID.String())
			tx.Publish(ctx, orderstream.StatusChannel, orderstream.EncodeStatus(ev))
			return nil
		})
		return err
	})
	if err != nil {
		return // draining: the entry is redelivered and recognised as decided
	}
	c.log.DebugContext(ctx, "order decided", "order_id", m.OrderID.String(), "status", out.Status, "reason", out.Reason, "duplicate", out.Duplicate)
}

// deliveries is how often the entry has been delivered (1 = first time).
func (c *Consumer) deliveries(ctx context.Context, p int, id string) int64 {
	res, err := c.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: c.keys.Stream(p), Group: orderstream.Group, Start: id, End: id, Count: 1,
	}).Result()
	if err != nil || len(res) == 0 {
		return 1
	}
	return res[0].RetryCount
}
