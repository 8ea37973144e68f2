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
func (c *Consumer) deadLetter(ctx context.Context, p int, msg redis.XMessage, m orderstream.Message, reason, detail string) {
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

// DeadLetter is one entry of a dead-letter stream (new_orders:dead, or
// one per partition).
type DeadLetter struct {
	ID        string
	Partition int
	Reason    string
	Error     string
	Fields    map[string]any
}

// ListDead returns up to count dead letters of each partition, oldest
// first within a partition.
func ListDead(ctx context.Context, rdb redis.UniversalClient, keys orderstream.Keyspace, count int64) ([]DeadLetter, error) {
	var out []DeadLetter
	for _, p := range keys.All() {
		msgs, err := rdb.XRangeN(ctx, keys.DeadLetters(p), "-", "+", count).Result()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", keys.DeadLetters(p), err)
		}
		for _, m := range msgs {
			r, _ := m.Values[fieldReason].(string)
			e, _ := m.Values[fieldError].(string)
			out = append(out, DeadLetter{ID: m.ID, Partition: p, Reason: r, Error: e, Fields: m.Values})
		}
	}
	return out, nil
}

// Replay puts dead letters back on their partition's stream with their
// original fields (marked as a replay, so an order recorded failed by the
// dead-letter path is processed afresh) and removes them from the dead
// letters, atomically per entry (one slot). ids empty means every dead
// letter; an id is looked up in every partition. It returns how many it moved.
func Replay(ctx context.Context, rdb redis.UniversalClient, keys orderstream.Keyspace, ids []string) (int, error) {
	found := make([][]redis.XMessage, len(keys.All()))
	total := 0
	for _, p := range keys.All() {
		msgs, err := deadOf(ctx, rdb, keys.DeadLetters(p), ids)
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", keys.DeadLetters(p), err)
		}
		found[p], total = msgs, total+len(msgs)
	}
	if len(ids) > 0 && total < len(ids) {
		return 0, fmt.Errorf("found %d of the %d dead letters %v; nothing replayed", total, len(ids), ids)
	}
	moved := 0
	for p, msgs := range found {
		for _, m := range msgs {
			if err := replayOne(ctx, rdb, keys, p, m); err != nil {
				return moved, err
			}
			moved++
		}
	}
	return moved, nil
}

// deadOf reads the entries of one dead-letter stream: all, or those of ids.
func deadOf(ctx context.Context, rdb redis.UniversalClient, stream string, ids []string) ([]redis.XMessage, error) {
	if len(ids) == 0 {
		return rdb.XRange(ctx, stream, "-", "+").Result()
	}
	var msgs []redis.XMessage
	for _, id := range ids {
		one, err := rdb.XRange(ctx, stream, id, id).Result()
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, one...)
	}
	return msgs, nil
}

func replayOne(ctx context.Context, rdb redis.UniversalClient, keys orderstream.Keyspace, p int, m redis.XMessage) error {
	fields := map[string]any{"replay": "1"}
	for k, v := range m.Values {
		switch k {
		case fieldReason, fieldError, fieldOriginalID, fieldConsumer, fieldDeadAt, "replay":
		default:
			fields[k] = v
		}
	}
	_, err := rdb.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		tx.XAdd(ctx, &redis.XAddArgs{Stream: keys.Stream(p), Values: fields})
		tx.XDel(ctx, keys.DeadLetters(p), m.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("replay %s: %w", m.ID, err)
	}
	return nil
}
