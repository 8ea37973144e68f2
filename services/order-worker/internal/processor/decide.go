package processor

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goshop-platform/shop/services/kernel/catalogevent"
	"github.com/goshop-platform/shop/services/kernel/lifecycle"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/stock"
)

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
	var changed bool
	err := pgx.BeginFunc(ctx, p.DB, func(tx pgx.Tx) error {
		clear(outs)
		decided, locked, err := read(ctx, tx, msgs)
		if err != nil {
			return err
		}
		products := maps.Clone(locked) // stock as the batch takes it
		var fresh []int
		var changes []stock.Change
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
				r.Stock -= it.Quantity
				products[it.ProductID] = r
				changes = append(changes, stock.Change{ProductID: it.ProductID, Delta: -it.Quantity, Traceparent: m.Traceparent})
			}
		}
		changed = len(changes) > 0
		return p.write(ctx, tx, msgs, outs, fresh, locked, changes)
	})
	if err == nil && changed && p.Waker != nil {
		p.Waker.Wake()
	}
	return outs, err
}

// write sends everything the decisions change in one round trip, while
// the transaction holds the product locks: the stock (one conditional
// UPDATE and one catalogue event per product, each event carrying the
// trace of the first order that took from it), the new orders, their
// timeline entries and their lines. A transaction that held its locks
// across one round trip per statement kept other workers' transactions
// waiting for those locks (docs/capacity.md).
func (p *Processor) write(ctx context.Context, tx pgx.Tx, msgs []orderstream.Message, outs []Outcome, fresh []int,
	locked map[int64]catalogevent.Product, changes []stock.Change) error {
	if len(fresh) == 0 {
		return nil
	}
	now := time.Now().Truncate(time.Microsecond) // what PostgreSQL stores
	b := &pgx.Batch{}
	if len(changes) > 0 {
		if p.Waker != nil { // the outbox trigger leaves the wake-up to the Waker
			b.Queue(`SELECT set_config('shop.catalog_notify', 'deferred', true)`).Exec(func(pgconn.CommandTag) error { return nil })
		}
		if _, err := stock.Queue(b, locked, changes, now); err != nil {
			return fmt.Errorf("apply stock: %w", err) // cannot happen: check took the stock from the locked rows
		}
	}
	p.queueOrders(b, msgs, outs, fresh, locked, now)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("store %d decisions: %w", len(fresh), err)
	}
	return nil
}

// read looks up which of msgs were decided before and locks every product
// of every order, in one round trip.
func read(ctx context.Context, tx pgx.Tx, msgs []orderstream.Message) (map[uuid.UUID]Outcome, map[int64]catalogevent.Product, error) {
	b := &pgx.Batch{}
	decided := queueEarlierDecisions(b, msgs)
	locked := queueLock(b, msgs)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, fmt.Errorf("read earlier decisions and lock products: %w", err)
	}
	return decided, locked, nil
}

// queueEarlierDecisions adds to b the look-up of the orders of msgs that
// are already stored; the map fills when b runs.
func queueEarlierDecisions(b *pgx.Batch, msgs []orderstream.Message) map[uuid.UUID]Outcome {
	ids := make([]uuid.UUID, len(msgs))
	for i, m := range msgs {
		ids[i] = m.OrderID
	}
	out := map[uuid.UUID]Outcome{}
	b.Queue(`SELECT id, status, coalesce(failure_reason, ''), coalesce(total_minor, 0), coalesce(currency, '')
		FROM orders WHERE id = ANY($1)`, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id uuid.UUID
			o := Outcome{Duplicate: true}
			if err := rows.Scan(&id, &o.Status, &o.Reason, &o.TotalMinor, &o.Currency); err != nil {
				return err
			}
			out[id] = o
		}
		return rows.Err()
	})
	return out
}

// queueLock adds to b the lock of every product of every order, in
// ascending id order in one statement, so that concurrent transactions
// over the same products cannot deadlock; the map fills when b runs.
func queueLock(b *pgx.Batch, msgs []orderstream.Message) map[int64]catalogevent.Product {
	var ids []int64
	for _, m := range msgs {
		for _, it := range m.Items {
			ids = append(ids, it.ProductID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make(map[int64]catalogevent.Product, len(ids))
	b.Queue(`SELECT `+catalogevent.Columns+` FROM products
		WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			r, err := catalogevent.Scan(rows)
			if err != nil {
				return err
			}
			out[r.ID] = r
		}
		return rows.Err()
	})
	return out
}

// check decides an order from the locked rows: the first line that cannot
// be served (in line order) names the reason.
func check(items []orderstream.Item, products map[int64]catalogevent.Product) Outcome {
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
		case !p.Active:
			return fail(orderstream.ReasonInactiveProduct, fmt.Sprintf("product %d is not for sale", it.ProductID))
		case p.Stock < need[it.ProductID]:
			return fail(orderstream.ReasonInsufficientStock, fmt.Sprintf("product %d: %d requested, %d in stock", it.ProductID, need[it.ProductID], p.Stock))
		case out.Currency != "" && p.Currency != out.Currency:
			return fail(orderstream.ReasonMixedCurrency, fmt.Sprintf("product %d is priced in %s, the order in %s", it.ProductID, p.Currency, out.Currency))
		}
		out.Currency = p.Currency
		out.TotalMinor += p.PriceMinor * int64(it.Quantity)
	}
	return out
}

// queueOrders adds the new decisions (msgs[i] for i in fresh), their
// timeline entries and their lines to b, one statement each for the whole
// batch. Failed orders capture no prices.
func (p *Processor) queueOrders(b *pgx.Batch, msgs []orderstream.Message, outs []Outcome, fresh []int, products map[int64]catalogevent.Product, now time.Time) {
	var o orderColumns
	var l lineColumns
	for _, i := range fresh {
		m, out := msgs[i], outs[i]
		o.add(m, out, now)
		for n, it := range m.Items {
			l.add(m.OrderID, n, it, out.Status == orderstream.StatusConfirmed, products[it.ProductID])
		}
	}
	ignore := func(pgconn.CommandTag) error { return nil }
	// A confirmed order must be paid within the payment window or
	// order-worker's expiry gives its stock back.
	b.Queue(`INSERT INTO orders (id, user_id, status, failure_reason, failure_detail, total_minor, currency, accepted_at,
			processed_at, status_changed_at, payment_due_at)
		SELECT i, u, s, r, d, t, c, a, $9::timestamptz, $9::timestamptz, CASE WHEN s = 'confirmed' THEN $10::timestamptz END
		FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::timestamptz[]) AS o(i, u, s, r, d, t, c, a)`,
		o.id, o.user, o.status, o.reason, o.detail, o.total, o.currency, o.accepted, now, now.Add(p.window())).Exec(ignore)
	lifecycle.QueueAppend(b, o.events(msgs, fresh))
	b.Queue(`INSERT INTO order_items (order_id, line, product_id, quantity, unit_price_minor, currency)
		SELECT * FROM unnest($1::uuid[], $2::int[], $3::bigint[], $4::int[], $5::bigint[], $6::text[])`,
		l.order, l.line, l.product, l.qty, l.price, l.currency).Exec(ignore)
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

func (c *lineColumns) add(order uuid.UUID, n int, it orderstream.Item, priced bool, p catalogevent.Product) {
	var price *int64
	var currency *string
	if priced {
		price, currency = &p.PriceMinor, &p.Currency
	}
	c.order, c.line, c.product = append(c.order, order), append(c.line, int32(n)), append(c.product, it.ProductID)
	c.qty, c.price, c.currency = append(c.qty, int32(it.Quantity)), append(c.price, price), append(c.currency, currency)
}
