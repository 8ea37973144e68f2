package order

import (
	"context"
	"errors"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/kernel/lifecycle"
)

// Actor is who asks for a transition.
type Actor struct {
	UserID int64
	Admin  bool
}

func (a Actor) name() string {
	if a.Admin {
		return lifecycle.Admin(a.UserID)
	}
	return lifecycle.Customer(a.UserID)
}

// Actions a caller may take on an order in its current status.
const (
	ActionPay     = "pay"
	ActionCancel  = "cancel"
	ActionShip    = "ship"
	ActionDeliver = "deliver"
)

// Allowed lists what actor may do to an order in status now (owner: the
// order is the actor's own): owners pay their confirmed orders, customers
// cancel theirs before shipping; admins ship, deliver, and cancel until
// delivery.
func Allowed(a Actor, status string, owner bool) []string {
	out := []string{}
	if status == lifecycle.Confirmed && owner {
		out = append(out, ActionPay)
	}
	if lifecycle.Allowed(status, lifecycle.Cancelled) && (a.Admin || status != lifecycle.Shipped) {
		out = append(out, ActionCancel)
	}
	if a.Admin && lifecycle.Allowed(status, lifecycle.Shipped) {
		out = append(out, ActionShip)
	}
	if a.Admin && lifecycle.Allowed(status, lifecycle.Delivered) {
		out = append(out, ActionDeliver)
	}
	return out
}

// Refunds settles the refunds a cancellation marked (payment.Service).
type Refunds interface {
	CompleteRefund(ctx context.Context, paymentID uuid.UUID)
}

// Changed is told of committed timeline events (live status).
type Changed interface {
	Changed(ctx context.Context, evs ...lifecycle.Event)
}

// MarkRefund marks the payments of a cancelled order for refund inside
// the cancelling transaction (payment.MarkRefund).
type MarkRefund func(ctx context.Context, tx pgx.Tx, o lifecycle.Order) ([]uuid.UUID, error)

// Lifecycle moves decided orders: cancel, ship, deliver.
type Lifecycle struct {
	DB         *pgxpool.Pool
	Refunds    Refunds
	MarkRefund MarkRefund
	Changed    Changed
	Counted    func(to, by string)
}

// Shipment is what an admin says about a shipped parcel.
type Shipment struct {
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
}

// Cancel cancels order id for actor: the stock goes back and a paid order
// is refunded. A customer may cancel only their own order, before shipping.
func (l *Lifecycle) Cancel(ctx context.Context, id uuid.UUID, a Actor, reason, traceparent string) error {
	var refunds []uuid.UUID
	err := l.move(ctx, id, a, ActionCancel, lifecycle.Cancelled, func(tx pgx.Tx, o lifecycle.Order) (lifecycle.Cause, error) {
		var err error
		refunds, err = l.MarkRefund(ctx, tx, o)
		return lifecycle.Cause{Actor: a.name(), Reason: reason, Traceparent: traceparent}, err
	})
	for _, p := range refunds {
		l.Refunds.CompleteRefund(ctx, p)
	}
	return err
}

// Ship records the parcel of a paid order (admins).
func (l *Lifecycle) Ship(ctx context.Context, id uuid.UUID, a Actor, s Shipment, traceparent string) error {
	return l.move(ctx, id, a, ActionShip, lifecycle.Shipped, func(tx pgx.Tx, o lifecycle.Order) (lifecycle.Cause, error) {
		_, err := tx.Exec(ctx, "UPDATE orders SET carrier = $2, tracking_number = $3 WHERE id = $1", o.ID, s.Carrier, s.TrackingNumber)
		return lifecycle.Cause{Actor: a.name(), Traceparent: traceparent,
			Detail: map[string]any{"carrier": s.Carrier, "tracking_number": s.TrackingNumber}}, err
	})
}

// Deliver marks a shipped order delivered (admins).
func (l *Lifecycle) Deliver(ctx context.Context, id uuid.UUID, a Actor, traceparent string) error {
	return l.move(ctx, id, a, ActionDeliver, lifecycle.Delivered, func(pgx.Tx, lifecycle.Order) (lifecycle.Cause, error) {
		return lifecycle.Cause{Actor: a.name(), Traceparent: traceparent}, nil
	})
}

// ErrForbidden: the action needs the admin role.
var ErrForbidden = errors.New("this action needs the admin role")

// move locks the order, checks that a may take action on it now, lets
// prepare add its part to the transaction, and moves it to status to.
func (l *Lifecycle) move(ctx context.Context, id uuid.UUID, a Actor, action, to string,
	prepare func(pgx.Tx, lifecycle.Order) (lifecycle.Cause, error)) error {
	var ev lifecycle.Event
	err := pgx.BeginFunc(ctx, l.DB, func(tx pgx.Tx) error {
		o, err := lifecycle.Lock(ctx, tx, id)
		if errors.Is(err, lifecycle.ErrNotFound) || (err == nil && !a.Admin && o.UserID != a.UserID) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if !slices.Contains(Allowed(a, o.Status, o.UserID == a.UserID), action) {
			if !a.Admin && (action == ActionShip || action == ActionDeliver) {
				return ErrForbidden
			}
			return &lifecycle.StateError{Current: o.Status, Wanted: to}
		}
		c, err := prepare(tx, o)
		if err != nil {
			return err
		}
		ev, err = lifecycle.Move(ctx, tx, o, to, c)
		return err
	})
	if err != nil {
		return err
	}
	by := "customer"
	if a.Admin {
		by = "admin"
	}
	l.Counted(to, by)
	l.Changed.Changed(ctx, ev)
	return nil
}
