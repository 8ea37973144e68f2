package operations

import (
	"context"
	"strings"

	"github.com/goshop-platform/shop/services/kernel/deadletter"
)

// Selection names dead letters: by ref, or every one matching Filter when
// All is set.
type Selection struct {
	Refs   []string
	All    bool
	Filter deadletter.Filter
}

func (s *Service) refs(ctx context.Context, sel Selection) ([]string, error) {
	if sel.All {
		return s.DeadLetters().Matching(ctx, sel.Filter)
	}
	return sel.Refs, nil
}

// target describes a selection in the audit record.
func target(sel Selection, refs []string) string {
	if sel.All {
		return "all matching"
	}
	return strings.Join(refs, ",")
}

// ReplayDeadLetters puts the selected dead letters back on the order stream.
func (s *Service) ReplayDeadLetters(ctx context.Context, who Actor, sel Selection, reason string) (int, error) {
	refs, err := s.refs(ctx, sel)
	if err != nil {
		return 0, err
	}
	n := 0
	_, err = s.audited(ctx, who, "replay_dead_letters", target(sel, refs), reason, map[string]any{"ids": refs, "filter": sel.Filter.Describe()},
		func() (map[string]any, error) {
			var err error
			n, err = s.DeadLetters().Replay(ctx, refs)
			return map[string]any{"replayed": n}, err
		})
	return n, err
}

// DiscardDeadLetters moves the selected dead letters to the discarded
// stream, kept for the retention period with the reason.
func (s *Service) DiscardDeadLetters(ctx context.Context, who Actor, sel Selection, reason string) (int, error) {
	refs, err := s.refs(ctx, sel)
	if err != nil {
		return 0, err
	}
	n := 0
	_, err = s.audited(ctx, who, "discard_dead_letters", target(sel, refs), reason, map[string]any{"ids": refs, "filter": sel.Filter.Describe()},
		func() (map[string]any, error) {
			var err error
			n, err = s.DeadLetters().Discard(ctx, refs, reason, s.adminName(ctx, who), s.Retention)
			return map[string]any{"discarded": n}, err
		})
	return n, err
}
