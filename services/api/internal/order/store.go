package order

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/kernel/lifecycle"
)

// Store reads decided orders from PostgreSQL (order-worker writes them).
type Store struct{ DB *pgxpool.Pool }

const orderColumns = `id, user_id, status, failure_reason, failure_detail, total_minor, currency, accepted_at, processed_at,
	status_changed_at, CASE WHEN status = 'confirmed' THEN payment_due_at END, carrier, tracking_number`

func scanOrder(row pgx.Row) (Order, error) {
	var o Order
	err := row.Scan(&o.ID, &o.UserID, &o.Status, &o.Reason, &o.ReasonDetail, &o.TotalMinor, &o.Currency, &o.AcceptedAt, &o.ProcessedAt,
		&o.StatusChangedAt, &o.PaymentDueAt, &o.Carrier, &o.TrackingNumber)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, ErrNotFound
	}
	return o, err
}

// Get returns a decided order with its lines.
func (s Store) Get(ctx context.Context, id uuid.UUID) (Order, error) {
	o, err := scanOrder(s.DB.QueryRow(ctx, "SELECT "+orderColumns+" FROM orders WHERE id = $1", id))
	if err != nil {
		return o, err
	}
	lines, err := s.lines(ctx, []uuid.UUID{id})
	if err != nil {
		return o, err
	}
	o.Items = lines[id]
	if o.Items == nil {
		o.Items = []Line{}
	}
	events, err := lifecycle.Timeline(ctx, s.DB, []uuid.UUID{id})
	o.Events = events[id]
	return o, err
}

// ListQuery filters decided orders.
type ListQuery struct {
	UserID int64 // 0: every user (admins only)
	Status string
	Limit  int
	Offset int
}

// List returns decided orders, newest first, with their lines.
func (s Store) List(ctx context.Context, q ListQuery) ([]Order, int, error) {
	where, args := []string{"true"}, []any{}
	if q.UserID != 0 {
		args = append(args, q.UserID)
		where = append(where, fmt.Sprintf("user_id = $%d", len(args)))
	}
	if q.Status != "" {
		args = append(args, q.Status)
		where = append(where, fmt.Sprintf("status = $%d", len(args)))
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.DB.QueryRow(ctx, "SELECT count(*) FROM orders WHERE "+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count orders: %w", err)
	}
	args = append(args, q.Limit, q.Offset)
	rows, err := s.DB.Query(ctx, fmt.Sprintf("SELECT %s FROM orders WHERE %s ORDER BY accepted_at DESC, id LIMIT $%d OFFSET $%d",
		orderColumns, cond, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list orders: %w", err)
	}
	defer rows.Close()
	out, ids := []Order{}, []uuid.UUID{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, o)
		ids = append(ids, o.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	lines, err := s.lines(ctx, ids)
	for i := range out {
		out[i].Items = lines[out[i].ID]
		if out[i].Items == nil {
			out[i].Items = []Line{}
		}
	}
	return out, total, err
}

// Decided reports which of ids are in PostgreSQL already.
func (s Store) Decided(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	out := map[uuid.UUID]bool{}
	rows, err := s.DB.Query(ctx, "SELECT id FROM orders WHERE id = ANY($1)", ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

func (s Store) lines(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]Line, error) {
	out := map[uuid.UUID][]Line{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.DB.Query(ctx, `SELECT order_id, product_id, quantity, unit_price_minor, currency
		FROM order_items WHERE order_id = ANY($1) ORDER BY order_id, line`, ids)
	if err != nil {
		return nil, fmt.Errorf("read order lines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var l Line
		if err := rows.Scan(&id, &l.ProductID, &l.Quantity, &l.UnitPriceMinor, &l.Currency); err != nil {
			return nil, err
		}
		out[id] = append(out[id], l)
	}
	return out, rows.Err()
}
