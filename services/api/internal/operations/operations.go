// Package operations is what an operator can do from the admin console:
// look at the order queue (lag, pending, consumers per partition), pause
// and resume consumption or intake, inspect, replay and discard dead
// letters, retry dead catalogue events and ask catalog-sync for a full
// reconcile. Every action is audited: it is recorded in admin_actions with
// the admin, the target and the reason before it runs, and its outcome is
// added when it ends.
package operations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/deadletter"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/pause"
)

// Service runs the console's reads and actions.
type Service struct {
	DB   *pgxpool.Pool
	RDB  redis.UniversalClient
	Keys orderstream.Keyspace
	// Retention is how long discarded dead letters are kept.
	Retention time.Duration
	Log       *slog.Logger
	// Accounts disables accounts and ends their sessions.
	Accounts Accounts
}

// ErrNotFound: the dead letter, catalogue event or reconcile does not exist.
var ErrNotFound = errors.New("not found")

// Actor is the admin acting, taken from the access token.
type Actor struct{ UserID int64 }

// Action is one audit record.
type Action struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	AdminID    int64           `json:"admin_id"`
	AdminEmail string          `json:"admin_email"`
	Action     string          `json:"action"`
	Target     string          `json:"target"`
	Reason     string          `json:"reason"`
	Detail     json.RawMessage `json:"detail"`
}

// DeadLetters is the dead-letter store of the order queue.
func (s *Service) DeadLetters() deadletter.Store { return deadletter.Store{RDB: s.RDB, Keys: s.Keys} }

// audited records the action, runs do and adds its outcome (or error) to
// the record. The record is written first, so an action that runs always
// has one, even if the process dies before the outcome is added.
func (s *Service) audited(ctx context.Context, who Actor, action, target, reason string, detail map[string]any,
	do func() (map[string]any, error)) (map[string]any, error) {
	if detail == nil {
		detail = map[string]any{}
	}
	var id int64
	err := s.DB.QueryRow(ctx, `INSERT INTO admin_actions (admin_id, admin_email, action, target, reason, detail)
		SELECT id, email, $2, $3, $4, $5 FROM users WHERE id = $1 RETURNING id`,
		who.UserID, action, target, reason, detail).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("audit %s: admin %d does not exist", action, who.UserID)
	}
	if err != nil {
		return nil, fmt.Errorf("audit %s: %w", action, err)
	}
	out, doErr := do()
	outcome := map[string]any{"outcome": "done"}
	for k, v := range out {
		outcome[k] = v
	}
	if doErr != nil {
		outcome["outcome"], outcome["error"] = "failed", doErr.Error()
	}
	// The action has run: its outcome is added even if the request ended.
	if _, err := s.DB.Exec(context.WithoutCancel(ctx), `UPDATE admin_actions SET detail = detail || $2 WHERE id = $1`, id, outcome); err != nil {
		s.Log.ErrorContext(ctx, "cannot add the outcome to an admin action record", "id", id, "err", err)
	}
	s.Log.InfoContext(ctx, "admin action", "audit_id", id, "admin_id", who.UserID, "action", action, "target", target,
		"reason", reason, "outcome", outcome["outcome"])
	return out, doErr
}

// ActionQuery filters the audit log.
type ActionQuery struct {
	Action string
	Limit  int
	Offset int
}

// Actions lists audit records, newest first, and how many match.
func (s *Service) Actions(ctx context.Context, q ActionQuery) ([]Action, int, error) {
	rows, err := s.DB.Query(ctx, `SELECT id, at, admin_id, admin_email, action, target, reason, detail, count(*) OVER ()
		FROM admin_actions WHERE $1 = '' OR action = $1 ORDER BY id DESC LIMIT $2 OFFSET $3`, q.Action, q.Limit, q.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list admin actions: %w", err)
	}
	defer rows.Close()
	out, total := []Action{}, 0
	for rows.Next() {
		var a Action
		if err := rows.Scan(&a.ID, &a.At, &a.AdminID, &a.AdminEmail, &a.Action, &a.Target, &a.Reason, &a.Detail, &total); err != nil {
			return nil, 0, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil || len(out) > 0 || q.Offset == 0 {
		return out, total, err
	}
	_, total, err = s.Actions(ctx, ActionQuery{Action: q.Action, Limit: 1}) // past the end: the count comes with the rows
	return out, total, err
}

// SetPause switches intake or consumption (pause.Intake, pause.Consumption).
func (s *Service) SetPause(ctx context.Context, who Actor, name string, st pause.State, reason string) (pause.State, error) {
	action := "resume_" + name
	if st.Paused {
		action = "pause_" + name
		st.Reason, st.By, st.Since = reason, s.adminName(ctx, who), time.Now().UTC()
	}
	_, err := s.audited(ctx, who, action, name, reason, map[string]any{"paused": st.Paused}, func() (map[string]any, error) {
		return nil, pause.Write(ctx, s.RDB, name, st)
	})
	if err != nil {
		return pause.State{}, err
	}
	return pause.Read(ctx, s.RDB, name)
}

// adminName is the admin's email for records kept outside PostgreSQL.
func (s *Service) adminName(ctx context.Context, who Actor) string {
	var email string
	if err := s.DB.QueryRow(ctx, `SELECT email FROM users WHERE id = $1`, who.UserID).Scan(&email); err != nil {
		return fmt.Sprintf("admin %d", who.UserID)
	}
	return email
}
