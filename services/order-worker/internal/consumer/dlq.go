package consumer

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

// Dead-letter entry fields besides the original ones.
const (
	fieldReason     = "dead_reason"
	fieldError      = "dead_error"
	fieldOriginalID = "dead_original_id"
	fieldConsumer   = "dead_consumer"
	fieldDeadAt     = "dead_at"
)

// deadLetter moves an entry that can never be processed to the dead-letter
// stream with the reason and its original fields, records the order failed
// when its id and user are readable (so the customer gets an answer), and
// acks the original. Each step is retried until it succeeds or the drain
// deadline passes.
func (c *Consumer) deadLetter(ctx context.Context, msg redis.XMessage, m orderstream.Message, reason, detail string) {
	c.log.WarnContext(ctx, "dead-lettering order stream entry", "entry_id", msg.ID, "reason", reason, "err", detail)
	fields := map[string]any{}
	for k, v := range msg.Values {
		fields[k] = v
	}
	fields[fieldReason], fields[fieldError], fields[fieldOriginalID] = reason, detail, msg.ID
	fields[fieldConsumer], fields[fieldDeadAt] = c.cfg.Name, time.Now().UTC().Format(time.RFC3339Nano)
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
		_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.XAdd(ctx, &redis.XAddArgs{Stream: orderstream.DeadLetters, Values: fields})
			p.XAck(ctx, orderstream.Stream, orderstream.Group, msg.ID)
			if m.OrderID != uuid.Nil && m.UserID > 0 {
				p.Del(ctx, orderstream.PendingKey(m.OrderID))
				p.ZRem(ctx, orderstream.UserPendingKey(m.UserID), m.OrderID.String())
				p.Publish(ctx, orderstream.StatusChannel, orderstream.EncodeStatus(ev))
			}
			return nil
		})
		return err
	})
	if err == nil {
		c.metrics.dead.WithLabelValues(reason).Inc()
	}
}

// DeadLetter is one entry of new_orders:dead.
type DeadLetter struct {
	ID     string
	Reason string
	Error  string
	Fields map[string]any
}

// ListDead returns up to count dead letters, oldest first.
func ListDead(ctx context.Context, rdb *redis.Client, count int64) ([]DeadLetter, error) {
	msgs, err := rdb.XRangeN(ctx, orderstream.DeadLetters, "-", "+", count).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", orderstream.DeadLetters, err)
	}
	out := make([]DeadLetter, len(msgs))
	for i, m := range msgs {
		r, _ := m.Values[fieldReason].(string)
		e, _ := m.Values[fieldError].(string)
		out[i] = DeadLetter{ID: m.ID, Reason: r, Error: e, Fields: m.Values}
	}
	return out, nil
}

// Replay puts dead letters back on new_orders with their original fields
// (marked as a replay, so an order recorded failed by the dead-letter path
// is processed afresh) and removes them from the dead letters, atomically
// per entry. ids empty means every dead letter. It returns how many it moved.
func Replay(ctx context.Context, rdb *redis.Client, ids []string) (int, error) {
	var msgs []redis.XMessage
	var err error
	if len(ids) == 0 {
		msgs, err = rdb.XRange(ctx, orderstream.DeadLetters, "-", "+").Result()
	} else {
		for _, id := range ids {
			one, e := rdb.XRange(ctx, orderstream.DeadLetters, id, id).Result()
			if e != nil {
				return 0, e
			}
			if len(one) == 0 {
				return 0, fmt.Errorf("no dead letter with id %s", id)
			}
			msgs = append(msgs, one...)
		}
	}
	if err != nil {
		return 0, err
	}
	for i, m := range msgs {
		fields := map[string]any{"replay": "1"}
		for k, v := range m.Values {
			switch k {
			case fieldReason, fieldError, fieldOriginalID, fieldConsumer, fieldDeadAt, "replay":
			default:
				fields[k] = v
			}
		}
		_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.XAdd(ctx, &redis.XAddArgs{Stream: orderstream.Stream, Values: fields})
			p.XDel(ctx, orderstream.DeadLetters, m.ID)
			return nil
		})
		if err != nil {
			return i, fmt.Errorf("replay %s: %w", m.ID, err)
		}
	}
	return len(msgs), nil
}
