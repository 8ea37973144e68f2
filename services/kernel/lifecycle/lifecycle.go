// Package lifecycle owns the one rule by which a decided order changes
// status after order-worker confirmed it: inside the caller's transaction
// the order row is locked, the move is checked against the transition
// table, stock held by the order goes back through the shared stock rule
// when the order is cancelled or expires, and every move appends to the
// order's timeline (order_events). Because the status is checked under the
// row lock, racing cancel, pay, expire and ship on one order end in exactly
// one outcome, and stock comes back at most once. api (pay, cancel, ship,
// deliver) and order-worker (expiry) both go through here.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/stock"
)

// Statuses of a stored order (pending orders live in Redis until decided).
const (
	Confirmed = orderstream.StatusConfirmed
	Failed    = orderstream.StatusFailed
	Paid      = "paid"
	Shipped   = "shipped"
	Delivered = "delivered"
	Cancelled = "cancelled"
	Expired   = "expired"
)

// Event types that are not a status of their own.
const (
	PaymentFailed = "payment_failed"
	Refunded      = "refunded"
	RefundFailed  = "refund_failed"
)

// next lists the statuses each status may move to.
var next = map[string][]string{
	Confirmed: {Paid, Cancelled, Expired},
	Paid:      {Shipped, Cancelled},
	Shipped:   {Delivered, Cancelled},
}

// Allowed reports whether an order in status from may move to status to.
func Allowed(from, to string) bool { return slices.Contains(next[from], to) }

// Final reports whether nothing can happen to an order in status s any more.
func Final(s string) bool { return s != orderstream.StatusPending && len(next[s]) == 0 }

// HoldsStock reports whether an order in status s holds the stock it took.
func HoldsStock(s string) bool {
	return s == Confirmed || s == Paid || s == Shipped || s == Delivered
}

// ErrNotFound: no decided order has the id.
var ErrNotFound = errors.New("order not found")

// StateError refuses a move the order's current status does not allow.
type StateError struct {
	Current string
	Wanted  string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("the order is %s and cannot become %s", e.Current, e.Wanted)
}

// Order is an order's row as locked for a transition.
type Order struct {
	ID         uuid.UUID
	UserID     int64
	Status     string
	TotalMinor int64
	Currency   string
}

const lockedColumns = "id, user_id, status, coalesce(total_minor, 0), coalesce(currency, '')"

func scanOrder(row pgx.Row) (Order, error) {
	var o Order
	err := row.Scan(&o.ID, &o.UserID, &o.Status, &o.TotalMinor, &o.Currency)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, ErrNotFound
	}
	return o, err
}

// Lock locks the order row for the rest of tx and returns it.
func Lock(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Order, error) {
	o, err := scanOrder(tx.QueryRow(ctx, "SELECT "+lockedColumns+" FROM orders WHERE id = $1 FOR UPDATE", id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("lock order %s: %w", id, err)
	}
	return o, err
}

// LockDue locks up to limit confirmed orders whose payment window has
// passed, skipping rows another transaction holds: any number of
// order-worker replicas share the expiry work with no leader. An order
// with a payment in flight (asked of the provider less than grace ago) is
// left for later: a payment that succeeds after all would only be refunded.
func LockDue(ctx context.Context, tx pgx.Tx, limit int, grace time.Duration) ([]Order, error) {
	rows, err := tx.Query(ctx, "SELECT "+lockedColumns+` FROM orders
		WHERE status = 'confirmed' AND payment_due_at <= now()
		  AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = orders.id
		                  AND p.status IN ('pending', 'processing') AND p.updated_at > now() - $2::interval)
		ORDER BY payment_due_at LIMIT $1 FOR UPDATE SKIP LOCKED`, limit, grace)
	if err != nil {
		return nil, fmt.Errorf("lock due orders: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Order, error) { return scanOrder(r) })
}

// Move changes the locked order o to status to, caused by c, and returns
// the timeline event it appended. Cancelled and expired orders give their
// stock back. The caller commits tx.
func Move(ctx context.Context, tx pgx.Tx, o Order, to string, c Cause) (Event, error) {
	evs, err := MoveAll(ctx, tx, []Order{o}, to, c)
	if err != nil {
		return Event{}, err
	}
	return evs[0], nil
}

// MoveAll moves every locked order of os to status to with one stock
// change for all of them (so that a batch locks each product once, in
// ascending order), one status update and one timeline insert.
func MoveAll(ctx context.Context, tx pgx.Tx, os []Order, to string, c Cause) ([]Event, error) {
	ids := make([]uuid.UUID, len(os))
	for i, o := range os {
		if !Allowed(o.Status, to) {
			return nil, &StateError{Current: o.Status, Wanted: to}
		}
		ids[i] = o.ID
	}
	if to == Cancelled || to == Expired {
		if err := giveBack(ctx, tx, ids, c.Traceparent); err != nil {
			return nil, err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE orders SET status = $2, status_changed_at = now() WHERE id = ANY($1)`, ids, to); err != nil {
		return nil, fmt.Errorf("move %d orders to %s: %w", len(ids), to, err)
	}
	evs := make([]Event, len(os))
	for i, o := range os {
		evs[i] = c.event(o, to, to)
	}
	return evs, Append(ctx, tx, evs)
}

// giveBack returns the stock the orders took, summed per product, through
// the shared stock rule.
func giveBack(ctx context.Context, tx pgx.Tx, ids []uuid.UUID, traceparent string) error {
	rows, err := tx.Query(ctx, `SELECT product_id, sum(quantity)::int FROM order_items
		WHERE order_id = ANY($1) GROUP BY product_id`, ids)
	if err != nil {
		return fmt.Errorf("read lines to give stock back: %w", err)
	}
	changes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stock.Change, error) {
		c := stock.Change{Traceparent: traceparent}
		return c, r.Scan(&c.ProductID, &c.Delta)
	})
	if err != nil || len(changes) == 0 {
		return err
	}
	if _, err := stock.Apply(ctx, tx, changes); err != nil {
		return fmt.Errorf("give stock back: %w", err)
	}
	return nil
}
