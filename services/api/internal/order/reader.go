package order

import (
	"context"
	"errors"

	"github.com/google/uuid"
)

// Reader answers status questions across both places an order can be.
type Reader struct {
	Store Store
	Queue Queue
}

// Get returns the order wherever it is: decided in PostgreSQL or pending in Redis.
func (r Reader) Get(ctx context.Context, id uuid.UUID) (Order, error) {
	o, err := r.Store.Get(ctx, id)
	if !errors.Is(err, ErrNotFound) {
		return o, err
	}
	p, err := r.Queue.Pending(ctx, id)
	if errors.Is(err, ErrNotFound) {
		// The worker may have committed the decision and dropped the pending
		// record between the two reads: the database has it now.
		return r.Store.Get(ctx, id)
	}
	if err != nil {
		return Order{}, err
	}
	return *p, nil
}

// List pages through orders. For one user the still-pending orders come
// first (newest first), then the decided ones; for every user (UserID 0,
// admins) only decided orders are listed, since pending ones are still on
// the stream. Status "pending" lists only pending orders.
func (r Reader) List(ctx context.Context, q ListQuery) ([]Order, int, error) {
	var pending []Order
	if q.UserID != 0 && (q.Status == "" || q.Status == StatusPending) {
		all, err := r.Queue.PendingOfUser(ctx, q.UserID)
		if err != nil {
			return nil, 0, err
		}
		pending, err = r.undecided(ctx, all)
		if err != nil {
			return nil, 0, err
		}
	}
	if q.Status == StatusPending {
		return window(pending, q.Offset, q.Limit), len(pending), nil
	}
	out := window(pending, q.Offset, q.Limit)
	dq := q
	dq.Offset = max(0, q.Offset-len(pending))
	dq.Limit = q.Limit - len(out)
	if dq.Limit == 0 {
		dq.Limit = 1 // still count the decided total; the row is dropped below
	}
	decided, total, err := r.Store.List(ctx, dq)
	if err != nil {
		return nil, 0, err
	}
	for _, o := range decided {
		if len(out) < q.Limit {
			out = append(out, o)
		}
	}
	return out, total + len(pending), nil
}

func (r Reader) undecided(ctx context.Context, pending []Order) ([]Order, error) {
	if len(pending) == 0 {
		return pending, nil
	}
	ids := make([]uuid.UUID, len(pending))
	for i, o := range pending {
		ids[i] = o.ID
	}
	done, err := r.Store.Decided(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := []Order{}
	for _, o := range pending {
		if !done[o.ID] {
			out = append(out, o)
		}
	}
	return out, nil
}

func window(list []Order, offset, limit int) []Order {
	if offset >= len(list) {
		return []Order{}
	}
	end := min(len(list), offset+limit)
	return append([]Order{}, list[offset:end]...)
}
