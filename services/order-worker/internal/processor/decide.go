package processor

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/goshop-platform/shop/services/kernel/lifecycle"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/stock"
)

type productRow struct {
	price    int64
	currency string
	active   bool
	stock    int
}

// decide runs one transaction for msgs (distinct order ids): orders decided
// before are returned as duplicates; the others are checked in message
// order against the locked product rows, each confirmed order taking its
// stock before the next is checked, so the batch decides exactly as the
// same orders would one after another. Stock changes are summed per
// product: one conditional UPDATE and one catalogue event per product, not
// per order — the saving that makes batching pay off on a hot product.
func (p *Processor) decide(ctx context.Context, msgs []orderstream.Message) ([]Outcome, error) {
	outs := make([]Outcome, len(msgs))
	ctx, cancel := p.bounded(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, p.DB, func(tx pgx.Tx) error {
		clear(outs)
		decided, err := earlierDecisions(ctx, tx, msgs)
		if err != nil {
			return err
		}
		products, err := lockProducts(ctx, tx, msgs)
		if err != nil {
			return err
		}
		var fresh []int
		delta, traceparents := map[int64]int{}, map[int64]string{}
		for i, m := range msgs {
			if out, ok := decided[m.OrderID]; ok {
				outs[i] = out
				continue
			}
			fresh = append(fresh, i)
			if outs[i] = check(m.Items, products); outs[i].Status != orderstream.StatusConfirmed {
				continue
			}
			for _, it := range m.Items {
				r := products[it.ProductID]
				r.stock -= it.Quantity
				products[it.ProductID] = r
				delta[it.ProductID] -= it.Quantity
				if _, ok := traceparents[it.ProductID]; !ok {
					traceparents[it.ProductID] = m.Traceparent
				}
			}
		}
		if err := applyStock(ctx, tx, delta, traceparents); err != nil {
			return err
		}
		return p.insertOrders(ctx, tx, msgs, outs, fresh, products)
	})
	return outs, err
}

// earlierDecisions returns the orders of msgs that are already stored.
func earlierDecisions(ctx context.Context, tx pgx.Tx, msgs []orderstream.Message) (map[uuid.UUID]Outcome, error) {
	ids := make([]uuid.UUID, len(msgs))
	for i, m := range msgs {
		ids[i] = m.OrderID
	}
	rows, err := tx.Query(ctx, `SELECT id, status, coalesce(failure_reason, ''), coalesce(total_minor, 0), coalesce(currency, '')
		FROM orders WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("look up earlier decisions: %w", err)
	}
	defer rows.Close()
	out := map[uuid.UUID]Outcome{}
	for rows.Next() {
		var id uuid.UUID
		o := Outcome{Duplicate: true}
		if err := rows.Scan(&id, &o.Status, &o.Reason, &o.TotalMinor, &o.Currency); err != nil {
			return nil, err
		}
		out[id] = o
	}
	return out, rows.Err()
}

// lockProducts locks every product of every order, in ascending id order
// in one statement, so that concurrent transactions over the same products
// cannot deadlock.
func lockProducts(ctx context.Context, tx pgx.Tx, msgs []orderstream.Message) (map[int64]productRow, error) {
	var ids []int64
	for _, m := range msgs {
		for _, it := range m.Items {
			ids = append(ids, it.ProductID)
		}
	}
	slices.Sort(ids)
	rows, err := tx.Query(ctx, `SELECT id, price_minor, currency, active, stock FROM products
		WHERE id = ANY($1) ORDER BY id FOR UPDATE`, slices.Compact(ids))
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

// applyStock takes the summed stock of every product through the shared
// stock rule in one call, each product's catalogue event carrying the
// trace of the first order that took from it.
func applyStock(ctx context.Context, tx pgx.Tx, delta map[int64]int, traceparents map[int64]string) error {
	if len(delta) == 0 {
		return nil
	}
	changes := make([]stock.Change, 0, len(delta))
	for id, d := range delta {
		changes = append(changes, stock.Change{ProductID: id, Delta: d, Traceparent: traceparents[id]})
	}
	if _, err := stock.Apply(ctx, tx, changes); err != nil {
		return fmt.Errorf("apply stock: %w", err) // cannot happen under the row locks
	}
	return nil
}

// check decides an order from the locked rows: the first line that cannot
// be served (in line order) names the reason.
func check(items []orderstream.Item, products map[int64]productRow) Outcome {
	fail := func(reason, detail string) Outcome {
		return Outcome{Status: orderstream.StatusFailed, Reason: reason, ReasonDetail: detail}
	}
	out := Outcome{Status: orderstream.StatusConfirmed}
	need := map[int64]int{}
	for _, it := range items {
		p, ok := products[it.ProductID]
		need[it.ProductID] += it.Quantity
		switch {
		case !ok:
			return fail(orderstream.ReasonUnknownProduct, fmt.Sprintf("product %d does not exist", it.ProductID))
		case !p.active:
			return fail(orderstream.ReasonInactiveProduct, fmt.Sprintf("product %d is not for sale", it.ProductID))
		case p.stock < need[it.ProductID]:
			return fail(orderstream.ReasonInsufficientStock, fmt.Sprintf("product %d: %d requested, %d in stock", it.ProductID, need[it.ProductID], p.stock))
		case out.Currency != "" && p.currency != out.Currency:
			return fail(orderstream.ReasonMixedCurrency, fmt.Sprintf("product %d is priced in %s, the order in %s", it.ProductID, p.currency, out.Currency))
		}
		out.Currency = p.currency
		out.TotalMinor += p.price * int64(it.Quantity)
	}
	return out
}

// insertOrders stores the new decisions (msgs[i] for i in fresh) and their
// lines, two statements for the whole batch. Failed orders capture no
// prices.
func (p *Processor) insertOrders(ctx context.Context, tx pgx.Tx, msgs []orderstream.Message, outs []Outcome, fresh []int, products map[int64]productRow) error {
	if len(fresh) == 0 {
		return nil
	}
	var o orderColumns
	var l lineColumns
	now := time.Now()
	for _, i := range fresh {
		m, out := msgs[i], outs[i]
		o.add(m, out, now)
		for n, it := range m.Items {
			l.add(m.OrderID, n, it, out.Status == orderstream.StatusConfirmed, products[it.ProductID])
		}
	}
	// A confirmed order must be paid within the payment window or
	// order-worker's expiry gives its stock back.
	if _, err := tx.Exec(ctx, `INSERT INTO orders (id, user_id, status, failure_reason, failure_detail, total_minor, currency, accepted_at,
			processed_at, status_changed_at, payment_due_at)
		SELECT i, u, s, r, d, t, c, a, $9::timestamptz, $9::timestamptz, CASE WHEN s = 'confirmed' THEN $10::timestamptz END
		FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::timestamptz[]) AS o(i, u, s, r, d, t, c, a)`,
		o.id, o.user, o.status, o.reason, o.detail, o.total, o.currency, o.accepted, now, now.Add(p.window())); err != nil {
		return fmt.Errorf("insert %d orders: %w", len(fresh), err)
	}
	if err := lifecycle.Append(ctx, tx, o.events(msgs, fresh)); err != nil {
		return err
	}
	// One statement for all lines (COPY would first describe the table: an extra round trip).
	if _, err := tx.Exec(ctx, `INSERT INTO order_items (order_id, line, product_id, quantity, unit_price_minor, currency)
		SELECT * FROM unnest($1::uuid[], $2::int[], $3::bigint[], $4::int[], $5::bigint[], $6::text[])`,
		l.order, l.line, l.product, l.qty, l.price, l.currency); err != nil {
		return fmt.Errorf("insert lines of %d orders: %w", len(fresh), err)
	}
	return nil
}

type orderColumns struct {
	id             []uuid.UUID
	user           []int64
	status         []string
	reason, detail []*string
	currency       []*string
	total          []*int64
	accepted       []time.Time
}

func (c *orderColumns) add(m orderstream.Message, out Outcome, now time.Time) {
	var total *int64
	var currency, reason, detail *string
	if out.Status == orderstream.StatusConfirmed {
		total, currency = &out.TotalMinor, &out.Currency
	} else {
		reason, detail = &out.Reason, &out.ReasonDetail
	}
	c.id, c.user, c.status = append(c.id, m.OrderID), append(c.user, m.UserID), append(c.status, out.Status)
	c.reason, c.detail = append(c.reason, reason), append(c.detail, detail)
	c.total, c.currency, c.accepted = append(c.total, total), append(c.currency, currency), append(c.accepted, m.AcceptedAt)
}

// events are the timeline entries of the new decisions: who decided
// (order-worker), the failure reason, and the trace of the order request.
func (c *orderColumns) events(msgs []orderstream.Message, fresh []int) []lifecycle.Event {
	evs := make([]lifecycle.Event, len(fresh))
	for n, i := range fresh {
		evs[n] = lifecycle.Event{OrderID: c.id[n], Type: c.status[n], Status: c.status[n], Actor: lifecycle.ActorWorker,
			Reason: c.reason[n], Traceparent: msgs[i].Traceparent}
	}
	return evs
}

type lineColumns struct {
	order    []uuid.UUID
	line     []int32
	product  []int64
	qty      []int32
	price    []*int64
	currency []*string
}

func (c *lineColumns) add(order uuid.UUID, n int, it orderstream.Item, priced bool, p productRow) {
	var price *int64
	var currency *string
	if priced {
		price, currency = &p.price, &p.currency
	}
	c.order, c.line, c.product = append(c.order, order), append(c.line, int32(n)), append(c.product, it.ProductID)
	c.qty, c.price, c.currency = append(c.qty, int32(it.Quantity)), append(c.price, price), append(c.currency, currency)
}
