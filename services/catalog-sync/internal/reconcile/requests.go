package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Requests runs the full reconciles admins ask for through the api
// (catalog_reconcile_requests). Every replica polls; one takes all open
// requests at once (FOR UPDATE SKIP LOCKED), runs one reconcile for them
// and records what it found. A request whose replica died while running it
// is taken again after StaleAfter.
type Requests struct {
	DB   *pgxpool.Pool
	Name string // this replica, recorded as started_by
	// Run reconciles (serialised with the periodic reconcile by the caller).
	Run        func(context.Context) (Result, error)
	Poll       time.Duration
	StaleAfter time.Duration
	Log        *slog.Logger
}

// Serve polls until ctx ends.
func (q *Requests) Serve(ctx context.Context) {
	t := time.NewTicker(q.Poll)
	defer t.Stop()
	for {
		if err := q.once(ctx); err != nil && ctx.Err() == nil {
			q.Log.Warn("on-demand reconcile failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (q *Requests) once(ctx context.Context) error {
	rows, err := q.DB.Query(ctx, `UPDATE catalog_reconcile_requests SET started_at = now(), started_by = $1
		WHERE id IN (SELECT id FROM catalog_reconcile_requests
			WHERE finished_at IS NULL AND (started_at IS NULL OR started_at < now() - $2::interval)
			ORDER BY id FOR UPDATE SKIP LOCKED)
		RETURNING id`, q.Name, q.StaleAfter.String())
	if err != nil {
		return fmt.Errorf("take reconcile requests: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return err
	}
	q.Log.Info("running the reconcile an admin asked for", "requests", ids)
	res, runErr := q.Run(ctx)
	var msg *string
	if runErr != nil {
		s := runErr.Error()
		msg = &s
	}
	_, err = q.DB.Exec(context.WithoutCancel(ctx), `UPDATE catalog_reconcile_requests SET finished_at = now(),
		products = $2, missing = $3, stale = $4, extra = $5, error = $6 WHERE id = ANY($1)`,
		ids, res.Products, res.Missing, res.Stale, res.Extra, msg)
	if err != nil {
		return fmt.Errorf("record reconcile requests %v: %w", ids, err)
	}
	return runErr
}
