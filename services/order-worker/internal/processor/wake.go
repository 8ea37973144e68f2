package processor

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Waker wakes catalog-sync (NOTIFY catalog_outbox) after order
// transactions have committed, instead of the outbox trigger inside them:
// PostgreSQL holds one database-wide lock from the commit of a transaction
// that notified until its commit is flushed (and acknowledged by a
// synchronous standby), so notifying order transactions would commit one
// at a time (docs/capacity.md). A wake that arrives while a NOTIFY is
// being sent is folded into one more, so the last commit of a burst always
// gets its own.
type Waker struct {
	db  *pgxpool.Pool
	log *slog.Logger
	ch  chan struct{}
}

// NewWaker returns a Waker; Run sends its notifications.
func NewWaker(db *pgxpool.Pool, log *slog.Logger) *Waker {
	return &Waker{db: db, log: log, ch: make(chan struct{}, 1)}
}

// Wake asks for a notification; it never blocks.
func (w *Waker) Wake() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// Run sends one NOTIFY per batch of wakes until ctx ends. A failed one is
// only logged: catalog-sync also polls (relay.pollInterval).
func (w *Waker) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.ch:
			if _, err := w.db.Exec(ctx, "SELECT pg_notify('catalog_outbox', '')"); err != nil && ctx.Err() == nil {
				w.log.WarnContext(ctx, "waking catalog-sync failed; it finds the events at its next poll", "err", err)
			}
		}
	}
}
