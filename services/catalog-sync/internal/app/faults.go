package app

import (
	"context"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/relay"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/syncconfig"
	"github.com/goshop-platform/shop/services/platform/faults"
)

// FlagTargetFailureRatio is catalog-sync's fault-injection flag
// (docs/fault-injection.md).
const FlagTargetFailureRatio = "catalog-target-failure-ratio"

// ApplyFaults sets the fault-injection flags to f (at start and on every
// configuration reload).
func (s *Syncer) ApplyFaults(f syncconfig.Faults) error {
	return s.Faults.Update(faults.Values{FlagTargetFailureRatio: f.TargetFailureRatio})
}

// faultyTarget is the relay's target with spec.faults.targetFailureRatio
// applied: that share of pushes fails before anything is sent, which the
// relay treats as a refusal (retry with backoff, dead event after
// maxAttempts). Ping is passed through: the target itself is healthy.
type faultyTarget struct {
	relay.Target
	failure faults.RatioFlag
}

func (t faultyTarget) WriteBatch(ctx context.Context, items []directus.Item) ([]directus.Outcome, error) {
	if err := t.failure.Fail(ctx); err != nil {
		return nil, err
	}
	return t.Target.WriteBatch(ctx, items)
}

func (t faultyTarget) Upsert(ctx context.Context, it directus.Item) (directus.Outcome, error) {
	if err := t.failure.Fail(ctx); err != nil {
		return "", err
	}
	return t.Target.Upsert(ctx, it)
}
