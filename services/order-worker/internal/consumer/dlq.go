package consumer

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/deadletter"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

// deadLetter moves an entry that can never be processed to the dead-letter
// stream with the reason and its original fields, records the order failed
// when its id and user are readable (so the customer gets an answer), and
// acks the original. Each step is retried until it succeeds or the drain
// deadline passes.
func (c *Consumer) deadLetter(ctx context.Context, p int, msg redis.XMessage, m orderstream.Message, reason, detail string) {
	c.log.WarnContext(ctx, "dead-lettering order stream entry", "entry_id", msg.ID, "reason", reason, "err", detail)
	fields := map[string]any{}
	for k, v := range msg.Values {
		fields[k] = v
	}
	fields[deadletter.FieldReason], fields[deadletter.FieldError], fields[deadletter.FieldOriginalID] = reason, detail, msg.ID
	fields[deadletter.FieldConsumer], fields[deadletter.FieldDeadAt] = c.cfg.Name, time.Now().UTC().Format(time.RFC3339Nano)
	if m.OrderID != uuid.Nil && m.UserID > 0 {
		err := c.retry(ctx, "record dead-lettered order as failed", func() error {
			_, err := c.proc.RecordFailed(ctx, m, reason, detail)
			if err != nil && isRejected(err) {
				return nil // e.g. the user no longer exists: the dead letter is all we can keep
			}
			return err
		})
		if err != nil {
			return
		}
	}
	ev := orderstream.StatusEvent{OrderID: m.OrderID, UserID: m.UserID, Status: orderstream.StatusFailed, Reason: reason,
		ReasonDetail: detail, DecidedAt: time.Now().UTC(), Traceparent: m.Traceparent}
	err := c.retry(ctx, "move entry to dead letters", func() error {
		_, err := c.rdb.TxPipelined(ctx, func(tx redis.Pipeliner) error {
			tx.XAdd(ctx, &redis.XAddArgs{Stream: c.keys.DeadLetters(p), Values: fields})
			tx.XAck(ctx, c.keys.Stream(p), orderstream.Group, msg.ID)
			if m.OrderID != uuid.Nil && m.UserID > 0 {
				tx.Del(ctx, c.keys.PendingKey(p, m.OrderID))
				tx.ZRem(ctx, c.keys.UserPendingKey(p, m.UserID), m.OrderID.String())
				tx.Publish(ctx, orderstream.StatusChannel, orderstream.EncodeStatus(ev))
			}
			return nil
		})
		return err
	})
	if err == nil {
		c.metrics.dead.WithLabelValues(reason).Inc()
	}
}
