package operations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Catalog is the catalogue sync as an operator sees it.
type Catalog struct {
	// Pending events wait for catalog-sync (including those backing off).
	Pending                 int64      `json:"pending"`
	OldestPendingAgeSeconds float64    `json:"oldest_pending_age_seconds"`
	Dead                    int64      `json:"dead"`
	LastReconcile           *Reconcile `json:"last_reconcile"`
}

// DeadEvent is a catalogue outbox event the relay gave up on.
type DeadEvent struct {
	ID             int64           `json:"id"`
	ProductID      int64           `json:"product_id"`
	ProductVersion int64           `json:"product_version"`
	EventType      string          `json:"event_type"`
	Attempts       int             `json:"attempts"`
	LastError      string          `json:"last_error"`
	CreatedAt      time.Time       `json:"created_at"`
	DeadAt         time.Time       `json:"dead_at"`
	Payload        json.RawMessage `json:"payload,omitempty"`
}

// Reconcile is a full reconcile an admin asked for.
type Reconcile struct {
	ID          int64      `json:"id"`
	Status      string     `json:"status"` // requested, running, done, failed
	Reason      string     `json:"reason"`
	RequestedAt time.Time  `json:"requested_at"`
	RequestedBy int64      `json:"requested_by"`
	StartedAt   *time.Time `json:"started_at"`
	StartedBy   *string    `json:"started_by"`
	FinishedAt  *time.Time `json:"finished_at"`
	// What the reconcile found and fixed: products read from PostgreSQL,
	// missing from Directus, stale there, extra there.
	Products *int    `json:"products"`
	Missing  *int    `json:"missing"`
	Stale    *int    `json:"stale"`
	Extra    *int    `json:"extra"`
	Error    *string `json:"error"`
}

// Catalog reads the outbox's state and the latest reconcile request.
func (s *Service) Catalog(ctx context.Context) (Catalog, error) {
	var c Catalog
	var oldest *time.Time
	err := s.DB.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM catalog_outbox WHERE processed_at IS NULL AND dead_at IS NULL),
		(SELECT min(created_at) FROM catalog_outbox WHERE processed_at IS NULL AND dead_at IS NULL),
		(SELECT count(*) FROM catalog_outbox WHERE dead_at IS NOT NULL)`).Scan(&c.Pending, &oldest, &c.Dead)
	if err != nil {
		return c, fmt.Errorf("read catalogue outbox: %w", err)
	}
	if oldest != nil {
		c.OldestPendingAgeSeconds = max(time.Since(*oldest).Seconds(), 0)
	}
	r, err := s.reconcile(ctx, `ORDER BY id DESC LIMIT 1`)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return c, err
	default:
		c.LastReconcile = &r
	}
	return c, nil
}

const deadEventColumns = `id, product_id, product_version, event_type, attempts, coalesce(last_error, ''), created_at, dead_at`

// DeadEvents lists dead catalogue events, newest first, and how many there are.
func (s *Service) DeadEvents(ctx context.Context, limit, offset int) ([]DeadEvent, int, error) {
	rows, err := s.DB.Query(ctx, `SELECT `+deadEventColumns+`, count(*) OVER () FROM catalog_outbox
		WHERE dead_at IS NOT NULL ORDER BY id DESC LIMIT $1 OFFSET $2`, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list dead catalogue events: %w", err)
	}
	defer rows.Close()
	out, total := []DeadEvent{}, 0
	for rows.Next() {
		var e DeadEvent
		if err := rows.Scan(&e.ID, &e.ProductID, &e.ProductVersion, &e.EventType, &e.Attempts, &e.LastError, &e.CreatedAt, &e.DeadAt, &total); err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil || len(out) > 0 || offset == 0 {
		return out, total, err
	}
	_, total, err = s.DeadEvents(ctx, 1, 0) // past the end: the count comes with the rows
	return out, total, err
}

// DeadEvent returns one dead event with its payload.
func (s *Service) DeadEvent(ctx context.Context, id int64) (DeadEvent, error) {
	var e DeadEvent
	err := s.DB.QueryRow(ctx, `SELECT `+deadEventColumns+`, payload FROM catalog_outbox WHERE id = $1 AND dead_at IS NOT NULL`, id).
		Scan(&e.ID, &e.ProductID, &e.ProductVersion, &e.EventType, &e.Attempts, &e.LastError, &e.CreatedAt, &e.DeadAt, &e.Payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, fmt.Errorf("%w: no dead catalogue event %d", ErrNotFound, id)
	}
	return e, err
}

// RetryDeadEvents makes dead events pending again (attempts from zero) and
// wakes catalog-sync; ids empty with all set retries every dead event.
func (s *Service) RetryDeadEvents(ctx context.Context, who Actor, ids []int64, all bool, reason string) (int, error) {
	tgt := "all"
	if !all {
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = strconv.FormatInt(id, 10)
		}
		tgt = strings.Join(parts, ",")
	}
	if !all {
		var dead int
		if err := s.DB.QueryRow(ctx, `SELECT count(*) FROM catalog_outbox WHERE id = ANY($1) AND dead_at IS NOT NULL`, ids).Scan(&dead); err != nil {
			return 0, fmt.Errorf("look up dead catalogue events: %w", err)
		}
		if dead < len(ids) {
			return 0, fmt.Errorf("%w: %d of the %d events are not dead (or do not exist); nothing was retried", ErrNotFound, len(ids)-dead, len(ids))
		}
	}
	n := 0
	_, err := s.audited(ctx, who, "retry_catalog_events", tgt, reason, map[string]any{"ids": ids, "all": all}, func() (map[string]any, error) {
		err := s.DB.QueryRow(ctx, `WITH retried AS (
			UPDATE catalog_outbox SET dead_at = NULL, attempts = 0, next_attempt_at = NULL, last_error = NULL
			WHERE dead_at IS NOT NULL AND ($2 OR id = ANY($1)) RETURNING id)
			SELECT count(*) FROM retried`, ids, all).Scan(&n)
		if err != nil {
			return nil, fmt.Errorf("retry dead catalogue events: %w", err)
		}
		if n > 0 {
			_, err = s.DB.Exec(ctx, `SELECT pg_notify('catalog_outbox', '')`)
		}
		return map[string]any{"retried": n}, err
	})
	return n, err
}

// RequestReconcile asks catalog-sync for a full reconcile now: a replica
// polling the requests takes it within a second or two (the row is its
// lock) and records the outcome.
func (s *Service) RequestReconcile(ctx context.Context, who Actor, reason string) (Reconcile, error) {
	var id int64
	_, err := s.audited(ctx, who, "request_catalog_reconcile", "catalog", reason, nil, func() (map[string]any, error) {
		err := s.DB.QueryRow(ctx, `INSERT INTO catalog_reconcile_requests (requested_by, reason) VALUES ($1, $2) RETURNING id`,
			who.UserID, reason).Scan(&id)
		return map[string]any{"reconcile_id": id}, err
	})
	if err != nil {
		return Reconcile{}, err
	}
	return s.Reconcile(ctx, id)
}

// Reconcile returns one reconcile request.
func (s *Service) Reconcile(ctx context.Context, id int64) (Reconcile, error) {
	return s.reconcile(ctx, `WHERE id = `+strconv.FormatInt(id, 10))
}

func (s *Service) reconcile(ctx context.Context, where string) (Reconcile, error) {
	var r Reconcile
	err := s.DB.QueryRow(ctx, `SELECT id, reason, requested_at, requested_by, started_at, started_by, finished_at, products, missing, stale, extra, error
		FROM catalog_reconcile_requests `+where).Scan(&r.ID, &r.Reason, &r.RequestedAt, &r.RequestedBy, &r.StartedAt, &r.StartedBy,
		&r.FinishedAt, &r.Products, &r.Missing, &r.Stale, &r.Extra, &r.Error)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("%w: no such reconcile request", ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read reconcile request: %w", err)
	}
	switch {
	case r.FinishedAt != nil && r.Error != nil:
		r.Status = "failed"
	case r.FinishedAt != nil:
		r.Status = "done"
	case r.StartedAt != nil:
		r.Status = "running"
	default:
		r.Status = "requested"
	}
	return r, nil
}
