// Package relay moves catalogue change events from the catalog_outbox table
// to Directus. It wakes on NOTIFY catalog_outbox (polling as a fallback),
// locks a batch of pending rows, pushes each event with a version-guarded
// upsert and marks the row processed in the same transaction, only after
// Directus confirmed. Events Directus refuses are retried with backoff and
// dead-lettered after MaxAttempts; Directus being away is waited out
// without blaming any event.
//
// Ordering rule: a row is eligible only while it is the oldest pending row
// of its product, and rows are locked with FOR UPDATE SKIP LOCKED. So while
// one replica pushes a product's event, no replica can take that product's
// next event (it is not the oldest) — events of one product are applied one
// at a time in outbox order, and different products proceed in parallel.
// Dead rows no longer block their product: every event is a full snapshot,
// so the next one supersedes it.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/platform/catalogevent"
)

// PushLockKey is the advisory lock the relay holds shared while pushing and
// the reconcile takes exclusively while fixing a page, so a reconcile never
// overwrites a version the relay wrote a moment earlier.
const PushLockKey int64 = 0x5e0b_0c57

// Target is where events go (a *directus.Client).
type Target interface {
	Upsert(ctx context.Context, it directus.Item) (directus.Outcome, error)
	Ping(ctx context.Context) error
}

// Config tunes the relay.
type Config struct {
	BatchSize int
	// Concurrency is how many events of a batch are pushed at once.
	Concurrency  int
	PollInterval time.Duration
	RetryInitial time.Duration
	RetryMax     time.Duration
	MaxAttempts  int
	// Applied, when set, is called after Directus confirmed an event and
	// before the row is marked processed (tests record the order).
	Applied func(ev catalogevent.Event, out directus.Outcome)
}

// Relay is one relay instance; run any number of them.
type Relay struct {
	db      *pgxpool.Pool
	target  Target
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	tracer  trace.Tracer
}

// New builds a relay.
func New(db *pgxpool.Pool, target Target, cfg Config, log *slog.Logger, m *Metrics) *Relay {
	return &Relay{db: db, target: target, cfg: cfg, log: log, metrics: m, tracer: otel.Tracer("catalog-sync/relay")}
}

// Run relays until ctx ends. A batch in flight when ctx ends is finished
// (bounded by the Directus timeout per event), so nothing pushed is left
// unmarked.
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

// Drain pushes batches until none is eligible, stop is closed, or Directus
// is unavailable (returned as the error).
func (r *Relay) Drain(ctx context.Context, stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		n, err := r.Batch(ctx)
		if err != nil || n == 0 {
			return err
		}
	}
}

type row struct {
	id, productID, version int64
	eventType              string
	payload                []byte
	createdAt              time.Time
	attempts               int
}

// eligible: pending, not waiting for a retry, and the oldest pending row of
// its product (see the package comment).
const selectBatch = `
SELECT o.id, o.product_id, o.product_version, o.event_type, o.payload, o.created_at, o.attempts
FROM catalog_outbox o
WHERE o.processed_at IS NULL AND o.dead_at IS NULL
  AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= now())
  AND NOT EXISTS (SELECT 1 FROM catalog_outbox e
                  WHERE e.product_id = o.product_id AND e.id < o.id
                    AND e.processed_at IS NULL AND e.dead_at IS NULL)
ORDER BY o.id
LIMIT $1
FOR UPDATE OF o SKIP LOCKED`

// Batch locks up to BatchSize eligible rows, pushes them (Concurrency at
// once: the rows are of distinct products, so their order does not matter)
// and records each result. It returns how many rows it settled; when
// Directus is unavailable, the rows it could not push stay pending, the
// rest is committed, and the error is returned.
func (r *Relay) Batch(ctx context.Context) (int, error) {
	tx, err := r.db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin relay transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, PushLockKey); err != nil {
		return 0, fmt.Errorf("take push lock: %w", err)
	}
	rows, err := tx.Query(ctx, selectBatch, r.cfg.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("select outbox batch: %w", err)
	}
	batch, err := pgx.CollectRows(rows, func(rw pgx.CollectableRow) (row, error) {
		var x row
		err := rw.Scan(&x.id, &x.productID, &x.version, &x.eventType, &x.payload, &x.createdAt, &x.attempts)
		return x, err
	})
	if err != nil {
		return 0, fmt.Errorf("read outbox batch: %w", err)
	}
	results := make([]pushed, len(batch))
	sem := make(chan struct{}, max(r.cfg.Concurrency, 1))
	var wg sync.WaitGroup
	for i, x := range batch {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = r.push(ctx, x)
		}()
	}
	wg.Wait()
	handled := 0
	var pause error
	for i, x := range batch {
		if err := r.record(ctx, tx, x, results[i]); err != nil {
			if directus.IsUnavailable(err) {
				pause = err
				continue
			}
			return 0, err // a database error: roll back, nothing is marked
		}
		handled++
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit relay batch: %w", err)
	}
	return handled, pause
}

// pushed is the result of pushing one row.
type pushed struct {
	ev          catalogevent.Event
	out         directus.Outcome
	err         error
	undecodable bool
	unavailable bool
}

// push sends one event to Directus; it touches no database state.
func (r *Relay) push(ctx context.Context, x row) pushed {
	ev, err := catalogevent.Decode(x.payload)
	if err != nil {
		return pushed{err: err, undecodable: true}
	}
	// The push continues the trace of the product write that queued the
	// event (each event is pushed on its own, so it has exactly one parent):
	// one trace then shows api → outbox → catalog-sync → Directus.
	parent := propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": ev.Traceparent})
	sctx, span := r.tracer.Start(parent, "catalog-sync push", trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
		attribute.Int64("product.id", x.productID), attribute.Int64("product.version", x.version),
		attribute.String("event.type", ev.Type), attribute.Int64("outbox.id", x.id)))
	defer span.End()
	p := ev.Product
	if ev.Type == catalogevent.TypeArchived {
		p.Active = false // archived products stay in Directus, inactive
	}
	out, err := r.target.Upsert(sctx, directus.ItemFrom(p))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "push failed")
		// A 5xx can also be this event's fault (Directus answers 500 for a
		// value its database rejects): only when Directus does not answer
		// its ping either is it an outage that blames no event.
		unavailable := directus.IsUnavailable(err) && r.target.Ping(ctx) != nil
		return pushed{ev: ev, err: err, unavailable: unavailable}
	}
	span.SetAttributes(attribute.String("result", string(out)))
	if r.cfg.Applied != nil {
		r.cfg.Applied(ev, out)
	}
	r.log.DebugContext(sctx, "event pushed", "outbox_id", x.id, "product_id", x.productID, "version", x.version, "result", string(out))
	return pushed{ev: ev, out: out}
}

// record stores the result of one push in tx. Only database errors and
// Directus being unavailable are returned.
func (r *Relay) record(ctx context.Context, tx pgx.Tx, x row, p pushed) error {
	switch {
	case p.undecodable:
		// No retry can fix an unreadable payload.
		r.metrics.Failed.WithLabelValues("undecodable").Inc()
		return r.dead(ctx, tx, x, p.err)
	case p.unavailable:
		r.metrics.Failed.WithLabelValues("unavailable").Inc()
		return p.err
	case p.err != nil:
		r.metrics.Failed.WithLabelValues("refused").Inc()
		return r.retryLater(ctx, tx, x, p.err)
	}
	if _, err := tx.Exec(ctx, `UPDATE catalog_outbox SET processed_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1`, x.id); err != nil {
		return fmt.Errorf("mark outbox row %d processed: %w", x.id, err)
	}
	r.metrics.Relayed.WithLabelValues(string(p.out)).Inc()
	r.metrics.Lag.Observe(time.Since(x.createdAt).Seconds())
	return nil
}

func (r *Relay) retryLater(ctx context.Context, tx pgx.Tx, x row, cause error) error {
	attempts := x.attempts + 1
	if attempts >= r.cfg.MaxAttempts {
		r.metrics.Failed.WithLabelValues("dead").Inc()
		return r.dead(ctx, tx, x, cause)
	}
	wait := backoff(r.cfg.RetryInitial, r.cfg.RetryMax, attempts)
	r.log.Warn("event refused, will retry", "outbox_id", x.id, "product_id", x.productID, "attempts", attempts, "retry_in", wait, "error", cause)
	_, err := tx.Exec(ctx, `UPDATE catalog_outbox SET attempts = $2, last_error = $3, next_attempt_at = now() + $4::interval WHERE id = $1`,
		x.id, attempts, cause.Error(), wait.String())
	if err != nil {
		return fmt.Errorf("record failure of outbox row %d: %w", x.id, err)
	}
	return nil
}

func (r *Relay) dead(ctx context.Context, tx pgx.Tx, x row, cause error) error {
	r.log.Error("event dead-lettered", "outbox_id", x.id, "product_id", x.productID, "version", x.version, "error", cause)
	_, err := tx.Exec(ctx, `UPDATE catalog_outbox SET attempts = attempts + 1, last_error = $2, dead_at = now() WHERE id = $1`, x.id, cause.Error())
	if err != nil {
		return fmt.Errorf("dead-letter outbox row %d: %w", x.id, err)
	}
	return nil
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
