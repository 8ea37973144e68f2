package livestatus

import (
	"context"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/lifecycle"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

// Publisher tells every api replica's hub that orders changed, after the
// change committed. An event is only a hint (streams re-read the order),
// so a failed publish is logged, not retried: a stream that missed it
// catches up on its next wake-up or reconnect.
type Publisher struct {
	Redis redis.UniversalClient
	Log   *slog.Logger
}

// Changed publishes one status event per timeline event.
func (p Publisher) Changed(ctx context.Context, evs ...lifecycle.Event) {
	if len(evs) == 0 {
		return
	}
	_, err := p.Redis.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, e := range evs {
			pipe.Publish(ctx, orderstream.StatusChannel, orderstream.EncodeStatus(e.Hint()))
		}
		return nil
	})
	if err != nil {
		p.Log.WarnContext(ctx, "publishing order changes failed; live streams catch up on their next read", "err", err)
	}
}
