// Package processor decides one order in one PostgreSQL transaction: it
// locks the order's product rows in ascending id order, checks every line,
// and either takes the stock (through the shared stock rule) and stores the
// order confirmed with unit prices captured now and the total, or stores it
// failed with a reason and changes no stock. The order id is the primary
// key, so a redelivered order is recognised and has no second effect.
package processor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/platform/orderstream"
	"github.com/goshop-platform/shop/services/platform/postgres"
	"github.com/goshop-platform/shop/services/platform/stock"
)

// Outcome is the decided status of an order.
type Outcome struct {
	Status       string // confirmed or failed
	Reason       string
	ReasonDetail string
	TotalMinor   int64
	Currency     string
	// Duplicate is true when the order had been decided before (a redelivery).
	Duplicate bool
}

// ErrRejected wraps errors the database will repeat however often the order
// is retried (a constraint the message violates); the caller dead-letters it.
var ErrRejected = errors.New("rejected by the database")

// Processor runs the order transaction.
type Processor struct {
	DB *pgxpool.Pool
}

// Process decides m. Serialization failures, deadlocks and a concurrent
// decision of the same order are retried here; other errors are returned:
// wrapped in ErrRejected when retrying cannot help, otherwise transient
// (the database is unreachable) for the caller to retry with backoff.
func (p *Processor) Process(ctx context.Context, m orderstream.Message) (Outcome, error) {
	for attempt := 1; ; attempt++ {
		out, err := p.once(ctx, m)
		if err == nil || attempt >= 5 || !(postgres.IsRetryable(err) || postgres.IsUniqueViolation(err, "orders_pkey")) {
			return out, classify(err)
		}
	}
}

func classify(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code[:2] == "22" || pgErr.Code[:2] == "23") {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	return err
}

type productRow struct {
	price    int64
	currency string
	active   bool
	stock    int
}

func (p *Processor) once(ctx context.Context, m orderstream.Message) (Outcome, error) {
	var out Outcome
	err := pgx.BeginFunc(ctx, p.DB, func(tx pgx.Tx) error {
		var reason *string
		err := tx.QueryRow(ctx, "SELECT status, failure_reason, coalesce(total_minor, 0), coalesce(currency, '') FROM orders WHERE id = $1", m.OrderID).
			Scan(&out.Status, &reason, &out.TotalMinor, &out.Currency)
		if err == nil {
			out.Duplicate = true
			if reason != nil {
				out.Reason = *reason
			}
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		products, err := lockProducts(ctx, tx, m.Items)
		if err != nil {
			return err
		}
		out = check(m.Items, products)
		if out.Status == orderstream.StatusFailed {
			return insertOrder(ctx, tx, m, out, nil)
		}
		changes := make([]stock.Change, len(m.Items))
		for i, it := range m.Items {
			changes[i] = stock.Change{ProductID: it.ProductID, Delta: -it.Quantity}
		}
		if _, err := stock.Apply(ctx, tx, changes, m.Traceparent); err != nil {
			return fmt.Errorf("apply stock for order %s: %w", m.OrderID, err) // cannot happen under the row locks
		}
		return insertOrder(ctx, tx, m, out, products)
	})
	return out, err
}

// lockProducts locks every product of the order, in ascending id order so
// that concurrent orders over the same products cannot deadlock.
func lockProducts(ctx context.Context, tx pgx.Tx, items []orderstream.Item) (map[int64]productRow, error) {
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ProductID
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	rows, err := tx.Query(ctx, `SELECT id, price_minor, currency, active, stock FROM products
		WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return nil, fmt.Errorf("lock products: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]productRow, len(ids))
	for rows.Next() {
		var id int64
		var r productRow
		if err := rows.Scan(&id, &r.price, &r.currency, &r.active, &r.stock); err != nil {
			return nil, err
		}
		out[id] = r
	}
	return out, rows.Err()
}

// check decides the order from the locked rows: the first line that
// cannot be served (in line order) names the reason.
func check(items []orderstream.Item, products map[int64]productRow) Outcome {
	fail := func(reason, detail string) Outcome {
		return Outcome{Status: orderstream.StatusFailed, Reason: reason, ReasonDetail: detail}
	}
	out := Outcome{Status: orderstream.StatusConfirmed}
	for _, it := range items {
		p, ok := products[it.ProductID]
		switch {
		case !ok:
			return fail(orderstream.ReasonUnknownProduct, fmt.Sprintf("product %d does not exist", it.ProductID))
		case !p.active:
			return fail(orderstream.ReasonInactiveProduct, fmt.Sprintf("product %d is not for sale", it.ProductID))
		case p.stock < it.Quantity:
			return fail(orderstream.ReasonInsufficientStock, fmt.Sprintf("product %d: %d requested, %d in stock", it.ProductID, it.Quantity, p.stock))
		case out.Currency != "" && p.currency != out.Currency:
			return fail(orderstream.ReasonMixedCurrency, fmt.Sprintf("product %d is priced in %s, the order in %s", it.ProductID, p.currency, out.Currency))
		}
		out.Currency = p.currency
		out.TotalMinor += p.price * int64(it.Quantity)
	}
	return out
}

// insertOrder stores the decision with its lines; products is nil for a
// failed order (no prices are captured).
func insertOrder(ctx context.Context, tx pgx.Tx, m orderstream.Message, out Outcome, products map[int64]productRow) error {
	var total *int64
	var currency, reason, detail *string
	if out.Status == orderstream.StatusConfirmed {
		total, currency = &out.TotalMinor, &out.Currency
	} else {
		reason, detail = &out.Reason, &out.ReasonDetail
	}
	if _, err := tx.Exec(ctx, `INSERT INTO orders (id, user_id, status, failure_reason, failure_detail, total_minor, currency, accepted_at, processed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		m.OrderID, m.UserID, out.Status, reason, detail, total, currency, m.AcceptedAt, time.Now()); err != nil {
		return fmt.Errorf("insert order %s: %w", m.OrderID, err)
	}
	n := len(m.Items)
	lines, ids, qty := make([]int32, n), make([]int64, n), make([]int32, n)
	prices, currencies := make([]*int64, n), make([]*string, n)
	for i, it := range m.Items {
		lines[i], ids[i], qty[i] = int32(i), it.ProductID, int32(it.Quantity)
		if p, ok := products[it.ProductID]; ok && products != nil {
			prices[i], currencies[i] = &p.price, &p.currency
		}
	}
	// One statement for all lines (COPY would first describe the table: an extra round trip).
	_, err := tx.Exec(ctx, `INSERT INTO order_items (order_id, line, product_id, quantity, unit_price_minor, currency)
		SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::int[], $5::bigint[], $6::text[])`,
		m.OrderID, lines, ids, qty, prices, currencies)
	if err != nil {
		return fmt.Errorf("insert lines of order %s: %w", m.OrderID, err)
	}
	return nil
}

// RecordFailed stores a failed order for a message that cannot be processed
// (poison), unless the order was decided already. It reports whether it
// stored a new decision.
func (p *Processor) RecordFailed(ctx context.Context, m orderstream.Message, reason, detail string) (bool, error) {
	var stored bool
	if m.AcceptedAt.IsZero() {
		m.AcceptedAt = time.Now() // unreadable in the message: the best we know
	}
	err := pgx.BeginFunc(ctx, p.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO orders (id, user_id, status, failure_reason, failure_detail, accepted_at)
			VALUES ($1, $2, 'failed', $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
			m.OrderID, m.UserID, reason, detail, m.AcceptedAt)
		stored = err == nil && tag.RowsAffected() == 1
		return err
	})
	return stored, classify(err)
}

// ReopenForReplay removes a failed decision that came from the dead-letter
// path, so that a replayed message is processed afresh. Confirmed orders and
// ordinary failures (insufficient stock ...) are never reopened.
func (p *Processor) ReopenForReplay(ctx context.Context, id [16]byte) error {
	_, err := p.DB.Exec(ctx, `DELETE FROM orders WHERE id = $1 AND status = 'failed' AND failure_reason = ANY($2)`,
		id, []string{orderstream.ReasonPoison, orderstream.ReasonTooManyDeliveries})
	return err
}
