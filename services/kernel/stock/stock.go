// Package stock owns the one rule by which stock ever changes: inside the
// caller's transaction, rows are locked in ascending product id order (so
// concurrent transactions cannot deadlock on each other) and changed with a
// conditional UPDATE that refuses to take stock below zero, and every change bumps the
// product's version and enqueues a catalogue event. order-worker (orders)
// and api (admin adjustments) both go through Apply, or through Queue when
// the caller holds the locks already and sends its writes in one round trip
// (order-worker's decisions).
package stock

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goshop-platform/shop/services/kernel/catalogevent"
)

// Change adds Delta (negative to take stock) to one product; the product's
// catalogue event carries Traceparent (the trace of the request or order
// that caused it).
type Change struct {
	ProductID   int64
	Delta       int
	Traceparent string
}

// ErrUnknownProduct and ErrInsufficient are wrapped in *Error.
var (
	ErrUnknownProduct = errors.New("unknown_product")
	ErrInsufficient   = errors.New("insufficient_stock")
)

// Error names the product that stopped a change.
type Error struct {
	Reason    error
	ProductID int64
	Available int
}

func (e *Error) Error() string {
	if errors.Is(e.Reason, ErrInsufficient) {
		return fmt.Sprintf("%v: product %d has %d in stock", e.Reason, e.ProductID, e.Available)
	}
	return fmt.Sprintf("%v: product %d", e.Reason, e.ProductID)
}

func (e *Error) Unwrap() error { return e.Reason }

// Apply makes all changes or returns the first (by product id) that cannot
// be made; the caller must then roll back tx. Three statements whatever
// the number of products: lock the rows in ascending id order, change them
// all with one conditional UPDATE, enqueue their events. Changes of the
// same product are summed. It returns the products after the change, in
// ascending id order.
func Apply(ctx context.Context, tx pgx.Tx, changes []Change) ([]catalogevent.Product, error) {
	ids, deltas, traces := summed(changes)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM products WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids); err != nil {
		return nil, fmt.Errorf("lock products: %w", err)
	}
	rows, err := tx.Query(ctx, `UPDATE products SET stock = stock + c.delta, version = version + 1, updated_at = now()
		FROM unnest($1::bigint[], $2::int[]) AS c(cid, delta)
		WHERE id = c.cid AND stock + c.delta >= 0
		RETURNING `+catalogevent.Columns, ids, deltas)
	if err != nil {
		return nil, fmt.Errorf("change stock: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalogevent.Product, error) { return catalogevent.Scan(r) })
	if err != nil {
		return nil, fmt.Errorf("change stock: %w", err)
	}
	if len(out) < len(ids) {
		return nil, explain(ctx, tx, firstMissing(ids, out))
	}
	slices.SortFunc(out, func(a, b catalogevent.Product) int { return cmp.Compare(a.ID, b.ID) })
	if err := catalogevent.EnqueueAll(ctx, tx, catalogevent.TypeUpserted, out, traces); err != nil {
		return nil, err
	}
	return out, nil
}

// Queue is Apply for a caller that holds the products' row locks already
// (it selected catalogevent.Columns ... ORDER BY id FOR UPDATE, as Apply
// does) and sends the rest of its transaction in one round trip: Queue
// computes the products after the change from the locked rows, refuses a
// change that would take stock below zero, and adds to b the same
// conditional UPDATE (bumping versions; updated_at becomes at) and the
// catalogue events. The UPDATE fails the batch unless it changed every
// product at the version that was locked, so a caller that did not hold
// the locks cannot write a stale snapshot. It returns the products after
// the change, in ascending id order.
func Queue(b *pgx.Batch, locked map[int64]catalogevent.Product, changes []Change, at time.Time) ([]catalogevent.Product, error) {
	ids, deltas, traces := summed(changes)
	out, seen := make([]catalogevent.Product, len(ids)), make([]int64, len(ids))
	for i, id := range ids {
		p, ok := locked[id]
		switch {
		case !ok:
			return nil, &Error{Reason: ErrUnknownProduct, ProductID: id}
		case p.Stock+int(deltas[i]) < 0:
			return nil, &Error{Reason: ErrInsufficient, ProductID: id, Available: p.Stock}
		}
		seen[i] = p.Version
		p.Stock, p.Version, p.UpdatedAt = p.Stock+int(deltas[i]), p.Version+1, at
		out[i] = p
	}
	b.Queue(`UPDATE products SET stock = stock + c.delta, version = version + 1, updated_at = $4
		FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS c(cid, delta, seen)
		WHERE id = c.cid AND version = c.seen AND stock + c.delta >= 0`, ids, deltas, seen, at).
		Exec(func(ct pgconn.CommandTag) error {
			if n := ct.RowsAffected(); n != int64(len(ids)) {
				return fmt.Errorf("change stock: %d of %d products changed (their rows were not locked at the versions read)", n, len(ids))
			}
			return nil
		})
	return out, catalogevent.QueueAll(b, catalogevent.TypeUpserted, out, traces)
}

// summed adds up the changes per product: ids ascending, with each
// product's delta and the traceparent of its first change.
func summed(changes []Change) (ids []int64, deltas []int32, traces []string) {
	sum := map[int64]int{}
	trace := map[int64]string{}
	for _, c := range changes {
		if _, seen := sum[c.ProductID]; !seen {
			trace[c.ProductID] = c.Traceparent
		}
		sum[c.ProductID] += c.Delta
	}
	ids = make([]int64, 0, len(sum))
	for id := range sum {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	deltas, traces = make([]int32, len(ids)), make([]string, len(ids))
	for i, id := range ids {
		deltas[i], traces[i] = int32(sum[id]), trace[id]
	}
	return ids, deltas, traces
}

func firstMissing(ids []int64, changed []catalogevent.Product) int64 {
	done := map[int64]bool{}
	for _, p := range changed {
		done[p.ID] = true
	}
	for _, id := range ids {
		if !done[id] {
			return id
		}
	}
	return 0
}

func explain(ctx context.Context, tx pgx.Tx, id int64) error {
	var have int
	err := tx.QueryRow(ctx, "SELECT stock FROM products WHERE id = $1", id).Scan(&have)
	if errors.Is(err, pgx.ErrNoRows) {
		return &Error{Reason: ErrUnknownProduct, ProductID: id}
	}
	if err != nil {
		return fmt.Errorf("read stock of product %d: %w", id, err)
	}
	return &Error{Reason: ErrInsufficient, ProductID: id, Available: have}
}
