package consumer

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/order-worker/internal/processor"
)

func isRejected(err error) bool { return errors.Is(err, processor.ErrRejected) }

// tidy removes consumers that have been gone long enough (nothing pending,
// idle past ConsumerGCAfter) and trims stream entries that every group has
// both delivered and acknowledged, so the stream does not grow forever.
func (c *Consumer) tidy(ctx context.Context, p int) {
	stream := c.keys.Stream(p)
	consumers, err := c.rdb.XInfoConsumers(ctx, stream, orderstream.Group).Result()
	if err != nil {
		return
	}
	for _, k := range consumers {
		if k.Name != c.cfg.Name && k.Pending == 0 && k.Idle > c.cfg.ConsumerGCAfter {
			if err := c.rdb.XGroupDelConsumer(ctx, stream, orderstream.Group, k.Name).Err(); err == nil {
				c.log.Info("removed departed consumer from the group", "stream", stream, "consumer", k.Name, "idle", k.Idle.String())
			}
		}
	}
	if min, ok := c.trimPoint(ctx, stream); ok {
		_ = c.rdb.XTrimMinIDApprox(ctx, stream, min, 0).Err()
	}
}

// trimPoint is the lowest id any group still needs: its oldest pending
// entry, or the entry after its last delivered one.
func (c *Consumer) trimPoint(ctx context.Context, stream string) (string, bool) {
	groups, err := c.rdb.XInfoGroups(ctx, stream).Result()
	if err != nil || len(groups) == 0 {
		return "", false
	}
	var lowest string
	for _, g := range groups {
		need := g.LastDeliveredID
		if g.Pending > 0 {
			p, err := c.rdb.XPending(ctx, stream, g.Name).Result()
			if err != nil {
				return "", false
			}
			need = p.Lower
		}
		if lowest == "" || idLess(need, lowest) {
			lowest = need
		}
	}
	return lowest, lowest != "" && lowest != "0-0"
}

// idLess compares stream ids "ms-seq".
func idLess(a, b string) bool {
	am, as := splitID(a)
	bm, bs := splitID(b)
	return am < bm || (am == bm && as < bs)
}

func splitID(id string) (uint64, uint64) {
	ms, seq, _ := strings.Cut(id, "-")
	m, _ := strconv.ParseUint(ms, 10, 64)
	s, _ := strconv.ParseUint(seq, 10, 64)
	return m, s
}
