package relay

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// settlement collects the rows one batch marks processed, by outcome.
type settlement map[string][]int64

func (s settlement) add(id int64, outcome string) { s[outcome] = append(s[outcome], id) }

// mark settles the rows in one UPDATE per outcome (id = ANY: the primary
// key, whatever the planner thinks of the table's size). The sent row
// counts an attempt; superseded rows were never tried.
func (s settlement) mark(ctx context.Context, tx pgx.Tx) error {
	for outcome, ids := range s {
		tried := 1
		if outcome == "superseded" {
			tried = 0
		}
		_, err := tx.Exec(ctx, `UPDATE catalog_outbox SET processed_at = clock_timestamp(), outcome = $2,
			attempts = attempts + $3, last_error = NULL WHERE id = ANY($1)`, ids, outcome, tried)
		if err != nil {
			return fmt.Errorf("mark %d outbox rows %s: %w", len(ids), outcome, err)
		}
	}
	return nil
}

// record stores what happened to each product of a batch in tx. It returns
// how many products it settled and, when the target was unavailable for
// some, that error; a returned err is a database error.
func (r *Relay) record(ctx context.Context, tx pgx.Tx, products []*product) (settled int, pause, err error) {
	done := settlement{}
	now := time.Now()
	for _, p := range products {
		for i, cause := range p.bad {
			// No retry can fix an unreadable payload.
			r.metrics.Failed.WithLabelValues("undecodable").Inc()
			if err := r.dead(ctx, tx, p.id, p.events[i], cause); err != nil {
				return 0, nil, err
			}
		}
		if p.send < 0 {
			settled++
			continue
		}
		switch res := p.result; {
		case res.unavailable:
			r.metrics.Failed.WithLabelValues("unavailable").Inc()
			pause = res.err
			continue
		case res.err != nil:
			r.metrics.Failed.WithLabelValues("refused").Inc()
			dead, err := r.retryLater(ctx, tx, p, res.err)
			if err != nil {
				return 0, nil, err
			}
			if dead {
				// The newest snapshot is refused for good: the older ones
				// would show the shop an older product, so they are
				// settled as superseded and the product waits for its
				// next change (and the reconcile).
				r.supersede(p, done, now)
			}
		default:
			done.add(p.events[p.send].id, string(res.out))
			r.metrics.Relayed.WithLabelValues(string(res.out)).Inc()
			r.metrics.Lag.Observe(now.Sub(p.events[p.send].createdAt).Seconds())
			r.supersede(p, done, now)
		}
		settled++
	}
	if err := done.mark(ctx, tx); err != nil {
		return 0, nil, err
	}
	return settled, pause, nil
}

// supersede settles every decodable event of p older than the one sent.
// Their changes reach Directus inside the newer snapshot, so their lag
// ends with it too.
func (r *Relay) supersede(p *product, done settlement, now time.Time) {
	for i, e := range p.events {
		if _, bad := p.bad[i]; bad || i == p.send {
			continue
		}
		done.add(e.id, "superseded")
		r.metrics.Relayed.WithLabelValues("superseded").Inc()
		r.metrics.Lag.Observe(now.Sub(e.createdAt).Seconds())
	}
}

// retryLater counts a refusal against the sent event and holds the whole
// product back until the backoff has passed; at MaxAttempts it
// dead-letters the sent event instead and reports dead.
func (r *Relay) retryLater(ctx context.Context, tx pgx.Tx, p *product, cause error) (dead bool, err error) {
	sent := p.events[p.send]
	attempts := sent.attempts + 1
	if attempts >= r.cfg.MaxAttempts {
		r.metrics.Failed.WithLabelValues("dead").Inc()
		return true, r.dead(ctx, tx, p.id, sent, cause)
	}
	wait := backoff(r.cfg.RetryInitial, r.cfg.RetryMax, attempts)
	r.log.Warn("event refused, will retry", "outbox_id", sent.id, "product_id", p.id, "version", sent.version,
		"attempts", attempts, "retry_in", wait, "error", cause)
	ids := make([]int64, len(p.events))
	for i, e := range p.events {
		ids[i] = e.id
	}
	_, err = tx.Exec(ctx, `UPDATE catalog_outbox SET next_attempt_at = now() + $2::interval,
			attempts = CASE WHEN id = $3 THEN $4 ELSE attempts END,
			last_error = CASE WHEN id = $3 THEN $5 ELSE last_error END
		WHERE id = ANY($1) AND processed_at IS NULL AND dead_at IS NULL`,
		ids, wait.String(), sent.id, attempts, cause.Error())
	if err != nil {
		return false, fmt.Errorf("record failure of outbox row %d: %w", sent.id, err)
	}
	return false, nil
}

func (r *Relay) dead(ctx context.Context, tx pgx.Tx, productID int64, e event, cause error) error {
	r.log.Error("event dead-lettered", "outbox_id", e.id, "product_id", productID, "version", e.version, "error", cause)
	_, err := tx.Exec(ctx, `UPDATE catalog_outbox SET attempts = attempts + 1, last_error = $2, dead_at = now() WHERE id = $1`, e.id, cause.Error())
	if err != nil {
		return fmt.Errorf("dead-letter outbox row %d: %w", e.id, err)
	}
	return nil
}
