// Package stock owns the one rule by which stock ever changes: inside the
// caller's transaction, rows are changed in ascending product id order (so
// concurrent transactions cannot deadlock on each other) with a conditional
// UPDATE that refuses to take stock below zero, and every change bumps the
// product's version and enqueues a catalogue event. order-worker (orders)
// and api (admin adjustments) both go through Apply.
package stock

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/goshop-platform/shop/services/platform/catalogevent"
)

// Change adds Delta (negative to take stock) to one product.
type Change struct {
	ProductID int64
	Delta     int
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

// Apply makes all changes or returns the first that cannot be made; the
// caller must then roll back tx, since earlier changes may have been applied.
// It returns the products after the change, in ascending id order.
func Apply(ctx context.Context, tx pgx.Tx, changes []Change, traceparent string) ([]catalogevent.Product, error) {
	sorted := append([]Change(nil), changes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ProductID < sorted[j].ProductID })
	out := make([]catalogevent.Product, 0, len(sorted))
	for _, c := range sorted {
		p, err := catalogevent.Scan(tx.QueryRow(ctx, `UPDATE products
			SET stock = stock + $2, version = version + 1, updated_at = now()
			WHERE id = $1 AND stock + $2 >= 0
			RETURNING `+catalogevent.Columns, c.ProductID, c.Delta))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, explain(ctx, tx, c.ProductID)
		}
		if err != nil {
			return nil, fmt.Errorf("change stock of product %d: %w", c.ProductID, err)
		}
		if err := catalogevent.Enqueue(ctx, tx, catalogevent.TypeUpserted, p, traceparent); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
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
