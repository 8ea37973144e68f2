// Package relay moves catalogue change events from the catalog_outbox table
// to Directus. It wakes on NOTIFY catalog_outbox (polling as a fallback),
// takes a batch of products that have pending events, and for each product
// sends only its newest snapshot: every event carries the whole product,
// so the older ones are settled as superseded in the same transaction. The
// snapshots of the batch go to Directus in one version-guarded batch write
// (directus.Client.WriteBatch), so the work grows with the number of
// products that changed, not with the number of orders that changed them.
// Rows are marked processed only after Directus confirmed. When the batch
// write fails and Directus still answers its ping, the batch falls back to
// one upsert per product, so a refused snapshot is blamed on its product
// alone: it is retried with backoff and dead-lettered after MaxAttempts.
// Directus being away is waited out without blaming any event.
//
// Ordering rule: a product is taken only through its oldest pending row,
// locked with FOR UPDATE SKIP LOCKED. So while one replica pushes a
// product, no replica can take that product (its oldest row is locked, and
// its later rows are not the oldest) — a product's versions reach Directus
// in order, and different products proceed in parallel on any number of
// replicas. A dead row does not block its product: the next change brings
// a newer snapshot.
//
// Pacing: a batch starts at once when the relay was idle for FlushInterval
// (an admin's edit is pushed immediately); under a steady stream of
// changes, batches start at most every FlushInterval, so Directus sees a
// bounded request rate and each batch coalesces what arrived meanwhile. A
// full batch means a backlog: the next one starts at once.
package relay

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/kernel/catalogevent"
)

// PushLockKey is the advisory lock the relay holds shared while pushing and
// the reconcile takes exclusively while fixing a page, so a reconcile never
// overwrites a version the relay wrote a moment earlier.
const PushLockKey int64 = 0x5e0b_0c57

// Target is where snapshots go: a *directus.Client, or an *n8n.Client that
// hands them to the shipped workflow.
type Target interface {
	// WriteBatch writes items of distinct products, each only if the target
	// holds an older version, and returns one outcome per item. An error
	// says nothing about any single item.
	WriteBatch(ctx context.Context, items []directus.Item) ([]directus.Outcome, error)
	// Upsert writes one item with the same guard.
	Upsert(ctx context.Context, it directus.Item) (directus.Outcome, error)
	Ping(ctx context.Context) error
}

// Config tunes the relay.
type Config struct {
	// BatchSize is how many products one batch takes (with all their
	// pending events).
	BatchSize int
	// FlushInterval is the least time between the starts of two batches
	// while changes keep coming (see Pacing in the package comment).
	FlushInterval time.Duration
	// Concurrency is how many upserts run at once when a batch falls back
	// to one request per product.
	Concurrency  int
	PollInterval time.Duration
	RetryInitial time.Duration
	RetryMax     time.Duration
	MaxAttempts  int
	// Applied, when set, is called after the target confirmed a snapshot
	// and before its rows are marked processed (tests record the order).
	Applied func(ev catalogevent.Event, out directus.Outcome)
}

// Relay is one relay instance; run any number of them.
type Relay struct {
	db        *pgxpool.Pool
	target    Target
	cfg       Config
	log       *slog.Logger
	metrics   *Metrics
	tracer    trace.Tracer
	flush     atomic.Int64 // FlushInterval, changed by SetFlushInterval
	lastStart time.Time    // of the last batch that was not full
}

// New builds a relay.
func New(db *pgxpool.Pool, target Target, cfg Config, log *slog.Logger, m *Metrics) *Relay {
	r := &Relay{db: db, target: target, cfg: cfg, log: log, metrics: m, tracer: otel.Tracer("catalog-sync/relay")}
	r.flush.Store(int64(cfg.FlushInterval))
	return r
}

// SetFlushInterval changes FlushInterval while the relay runs (hot reload).
func (r *Relay) SetFlushInterval(d time.Duration) { r.flush.Store(int64(d)) }

// Run relays until ctx ends. A batch in flight when ctx ends is finished
// (bounded by the Directus timeout), so nothing pushed is left unmarked.
func (r *Relay) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	go r.listen(ctx, wake)
	var failures int
	for ctx.Err() == nil {
		err := r.Drain(context.WithoutCancel(ctx), ctx.Done())
		wait := r.cfg.PollInterval
		if err != nil {
			failures++
			wait = backoff(r.cfg.RetryInitial, r.cfg.RetryMax, failures)
			r.log.Warn("relay paused", "error", err, "retry_in", wait)
		} else {
			failures = 0
		}
		r.refreshGauges(ctx)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-wake:
			if err != nil {
				// Directus is away: a NOTIFY must not cut the backoff short.
				select {
				case <-ctx.Done():
				case <-t.C:
				}
			}
		case <-t.C:
		}
		t.Stop()
	}
	return nil
}

// Drain pushes batches until no product has an eligible event, stop is
// closed, or Directus is unavailable (returned as the error).
func (r *Relay) Drain(ctx context.Context, stop <-chan struct{}) error {
	for {
		if wait := time.Duration(r.flush.Load()) - time.Since(r.lastStart); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-stop:
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		select {
		case <-stop:
			return nil
		default:
		}
		started := time.Now()
		n, full, err := r.Batch(ctx)
		if n > 0 && !full {
			r.lastStart = started
		}
		if err != nil || n == 0 {
			return err
		}
	}
}

func (r *Relay) refreshGauges(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var pending, dead int64
	err := r.db.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM catalog_outbox WHERE processed_at IS NULL AND dead_at IS NULL),
		(SELECT count(*) FROM catalog_outbox WHERE dead_at IS NOT NULL)`).Scan(&pending, &dead)
	if err != nil {
		return
	}
	r.metrics.Pending.Set(float64(pending))
	r.metrics.Dead.Set(float64(dead))
}

// listen holds one connection LISTENing on catalog_outbox and signals wake
// on every notification; it reconnects with backoff when the connection
// breaks. The poll interval covers the gaps.
func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	failures := 0
	for ctx.Err() == nil {
		err := r.listenOnce(ctx, wake, &failures)
		if ctx.Err() != nil {
			return
		}
		failures++
		wait := backoff(r.cfg.RetryInitial, r.cfg.RetryMax, failures)
		r.log.Warn("outbox listener lost, polling meanwhile", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

func (r *Relay) listenOnce(ctx context.Context, wake chan<- struct{}, failures *int) error {
	conn, err := r.db.Acquire(ctx)
	if err != nil {
		return err
	}
	// The session's LISTEN must not go back to the pool.
	pc := conn.Hijack()
	defer pc.Close(context.WithoutCancel(ctx)) //nolint:errcheck
	if _, err := pc.Exec(ctx, "LISTEN catalog_outbox"); err != nil {
		return err
	}
	*failures = 0
	for {
		if _, err := pc.WaitForNotification(ctx); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// backoff is capped exponential backoff with jitter (50-100 %).
func backoff(initial, maxWait time.Duration, failures int) time.Duration {
	d := initial
	for i := 1; i < failures && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return d/2 + rand.N(d/2+1)
}
