package relay

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/kernel/catalogevent"
)

// event is one pending outbox row.
type event struct {
	id, version int64
	createdAt   time.Time
	attempts    int
	traceparent string
}

// product is one product of a batch: its pending events, oldest first, and
// the one whose snapshot is sent (the newest that decodes).
type product struct {
	id     int64
	events []event
	send   int // index in events; -1: none decodes
	ev     catalogevent.Event
	bad    map[int]error // events whose payload cannot be decoded
	result pushed
}

// pushed is what the target said about one product's snapshot.
type pushed struct {
	out         directus.Outcome
	err         error
	unavailable bool // the target is away: nobody's fault, nothing recorded
}

// selectHeads lists the oldest pending event of every product that has
// one, with a loose index scan over catalog_outbox_pending_product: one
// index probe per product, so its cost grows with the products that have
// pending events (at most the catalogue), not with the events, and no
// planner estimate can turn it into a scan per event.
const selectHeads = `
WITH RECURSIVE heads AS (
  (SELECT product_id, id FROM catalog_outbox
   WHERE processed_at IS NULL AND dead_at IS NULL
   ORDER BY product_id, id LIMIT 1)
  UNION ALL
  SELECT n.product_id, n.id FROM heads h, LATERAL (
    SELECT product_id, id FROM catalog_outbox
    WHERE processed_at IS NULL AND dead_at IS NULL AND product_id > h.product_id
    ORDER BY product_id, id LIMIT 1) n
)
SELECT h.id FROM heads h JOIN catalog_outbox o ON o.id = h.id
WHERE o.next_attempt_at IS NULL OR o.next_attempt_at <= now()
ORDER BY h.id
LIMIT 2 * $1::int`

// lockHeads locks up to $2 of the listed heads (twice as many are listed,
// so a second replica finds work past the first one's batch) that are
// still pending and that no other relay holds. A locked head is still its product's oldest pending event:
// events of one product are inserted under that product's row lock, so
// none with a lower id can commit later.
const lockHeads = `
SELECT product_id FROM catalog_outbox
WHERE id = ANY($1) AND processed_at IS NULL AND dead_at IS NULL
ORDER BY id
LIMIT $2
FOR UPDATE SKIP LOCKED`

// selectEvents reads every pending event of the locked products. Events
// inserted after this read stay pending for the next batch.
const selectEvents = `
SELECT id, product_id, product_version, created_at, attempts, traceparent
FROM catalog_outbox
WHERE product_id = ANY($1) AND processed_at IS NULL AND dead_at IS NULL
ORDER BY product_id, id`

// Batch takes up to BatchSize products with eligible events, sends each
// one's newest snapshot and records the outcome of all their events in one
// transaction. It returns how many products it settled and whether the
// batch was full (more may be waiting). When Directus is unavailable, the
// products it could not confirm stay pending, the rest is committed, and
// the error is returned.
func (r *Relay) Batch(ctx context.Context) (settled int, full bool, err error) {
	began := time.Now()
	tx, err := r.db.Begin(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("begin relay transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, PushLockKey); err != nil {
		return 0, false, fmt.Errorf("take push lock: %w", err)
	}
	rows, err := tx.Query(ctx, selectHeads, r.cfg.BatchSize)
	if err != nil {
		return 0, false, fmt.Errorf("select outbox batch: %w", err)
	}
	heads, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(heads) == 0 {
		return 0, false, err
	}
	if rows, err = tx.Query(ctx, lockHeads, heads, r.cfg.BatchSize); err != nil {
		return 0, false, fmt.Errorf("lock outbox batch: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	full = len(heads) > r.cfg.BatchSize
	if err != nil || len(ids) == 0 {
		return 0, full, err
	}
	locked := time.Now()
	products, err := r.load(ctx, tx, ids)
	if err != nil {
		return 0, false, err
	}
	loaded := time.Now()
	r.push(ctx, products)
	pushed := time.Now()
	settled, pause, err := r.record(ctx, tx, products)
	if err != nil {
		return 0, false, err // a database error: roll back, nothing is marked
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, false, fmt.Errorf("commit relay batch: %w", err)
	}
	r.metrics.BatchDuration.Observe(time.Since(began).Seconds())
	r.log.Debug("batch settled", "products", len(products), "settled", settled, "lock", locked.Sub(began),
		"load", loaded.Sub(locked), "push", pushed.Sub(loaded), "record", time.Since(pushed))
	return settled, full, pause
}

// load reads the pending events of the products and decodes the snapshot
// each will send: the newest event (highest version) whose payload
// decodes. Only the candidates' payloads are read.
func (r *Relay) load(ctx context.Context, tx pgx.Tx, ids []int64) ([]*product, error) {
	rows, err := tx.Query(ctx, selectEvents, ids)
	if err != nil {
		return nil, fmt.Errorf("read pending events: %w", err)
	}
	var products []*product
	var cur *product
	var e event
	var pid int64
	_, err = pgx.ForEachRow(rows, []any{&e.id, &pid, &e.version, &e.createdAt, &e.attempts, &e.traceparent}, func() error {
		if cur == nil || cur.id != pid {
			cur = &product{id: pid, send: -1, bad: map[int]error{}}
			products = append(products, cur)
		}
		cur.events = append(cur.events, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read pending events: %w", err)
	}
	// Candidates newest first; a product whose candidate does not decode
	// tries its next newest event in the next round.
	for undecided := products; len(undecided) > 0; {
		want := map[int64]*product{}
		var eventIDs []int64
		for _, p := range undecided {
			if i := p.nextCandidate(); i >= 0 {
				want[p.events[i].id] = p
				eventIDs = append(eventIDs, p.events[i].id)
			}
		}
		if len(eventIDs) == 0 {
			break
		}
		undecided = undecided[:0:0]
		rows, err := tx.Query(ctx, `SELECT id, payload FROM catalog_outbox WHERE id = ANY($1)`, eventIDs)
		if err != nil {
			return nil, fmt.Errorf("read payloads: %w", err)
		}
		var id int64
		var payload []byte
		_, err = pgx.ForEachRow(rows, []any{&id, &payload}, func() error {
			p := want[id]
			i := p.indexOf(id)
			ev, err := catalogevent.Decode(payload)
			if err != nil {
				p.bad[i] = err
				undecided = append(undecided, p)
				return nil
			}
			p.send, p.ev = i, ev
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read payloads: %w", err)
		}
	}
	return products, nil
}

// nextCandidate is the index of the newest event (by version, then id)
// not yet found undecodable, or -1.
func (p *product) nextCandidate() int {
	best := -1
	for i, e := range p.events {
		if _, bad := p.bad[i]; bad {
			continue
		}
		if best < 0 || cmp.Or(cmp.Compare(e.version, p.events[best].version), cmp.Compare(e.id, p.events[best].id)) > 0 {
			best = i
		}
	}
	return best
}

func (p *product) indexOf(eventID int64) int {
	return slices.IndexFunc(p.events, func(e event) bool { return e.id == eventID })
}
