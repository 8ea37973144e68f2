package deadletter

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Resolve turns refs into entries, partition by partition; every ref must
// exist (nothing is done when one does not).
func (s Store) resolve(ctx context.Context, refs []string) (map[int][]redis.XMessage, error) {
	found := map[int][]redis.XMessage{}
	for _, ref := range refs {
		p, id, err := s.ParseRef(ref)
		if err != nil {
			return nil, err
		}
		msgs, err := s.RDB.XRange(ctx, s.Keys.DeadLetters(p), id, id).Result()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.Keys.DeadLetters(p), err)
		}
		if len(msgs) == 0 {
			return nil, fmt.Errorf("%w: %s; nothing was changed", ErrNotFound, ref)
		}
		found[p] = append(found[p], msgs[0])
	}
	return found, nil
}

// Matching returns the refs of every dead letter matching f.
func (s Store) Matching(ctx context.Context, f Filter) ([]string, error) {
	var refs []string
	now := time.Now()
	err := s.scan(ctx, false, func(l Letter) {
		if f.match(l, now) {
			refs = append(refs, l.Ref)
		}
	})
	return refs, err
}

// Replay puts dead letters back on their partition's stream with their
// original fields (marked as a replay) and removes them from the dead
// letters, atomically per entry (both keys share the partition's slot). It
// returns how many it moved; on an error, those moved before it stay moved.
func (s Store) Replay(ctx context.Context, refs []string) (int, error) {
	found, err := s.resolve(ctx, refs)
	if err != nil {
		return 0, err
	}
	moved := 0
	for p, msgs := range found {
		for _, m := range msgs {
			fields := original(m)
			fields[FieldReplay] = "1"
			_, err := s.RDB.TxPipelined(ctx, func(tx redis.Pipeliner) error {
				tx.XAdd(ctx, &redis.XAddArgs{Stream: s.Keys.Stream(p), Values: fields})
				tx.XDel(ctx, s.Keys.DeadLetters(p), m.ID)
				return nil
			})
			if err != nil {
				return moved, fmt.Errorf("replay %d:%s: %w", p, m.ID, err)
			}
			moved++
		}
	}
	return moved, nil
}

// Discard moves dead letters to the discarded stream with the reason, who
// discarded them and when, and trims discarded letters older than
// retention. It returns how many it moved.
func (s Store) Discard(ctx context.Context, refs []string, reason, by string, retention time.Duration) (int, error) {
	found, err := s.resolve(ctx, refs)
	if err != nil {
		return 0, err
	}
	now := time.Now().UTC()
	minID := strconv.FormatInt(now.Add(-retention).UnixMilli(), 10)
	moved := 0
	for p, msgs := range found {
		for _, m := range msgs {
			fields := map[string]any{}
			for k, v := range m.Values {
				fields[k] = v
			}
			fields[FieldDiscardReason], fields[FieldDiscardedBy] = reason, by
			fields[FieldDiscardedAt] = now.Format(time.RFC3339Nano)
			_, err := s.RDB.TxPipelined(ctx, func(tx redis.Pipeliner) error {
				tx.XAdd(ctx, &redis.XAddArgs{Stream: s.Keys.Discarded(p), MinID: minID, Values: fields})
				tx.XDel(ctx, s.Keys.DeadLetters(p), m.ID)
				return nil
			})
			if err != nil {
				return moved, fmt.Errorf("discard %d:%s: %w", p, m.ID, err)
			}
			moved++
		}
	}
	return moved, nil
}

// original is an entry's fields without those the dead-letter path added.
func original(m redis.XMessage) map[string]any {
	fields := map[string]any{}
	for k, v := range m.Values {
		if !isAdded(k) {
			fields[k] = v
		}
	}
	return fields
}

// RefsOf turns command-line arguments into refs: a ref is kept, a bare
// entry id is looked up in every partition's dead letters.
func (s Store) RefsOf(ctx context.Context, args []string) ([]string, error) {
	var refs []string
	for _, a := range args {
		if !entryID.MatchString(a) {
			refs = append(refs, a)
			continue
		}
		found := false
		for _, p := range s.Keys.All() {
			n, err := s.RDB.XRange(ctx, s.Keys.DeadLetters(p), a, a).Result()
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", s.Keys.DeadLetters(p), err)
			}
			if len(n) > 0 {
				refs, found = append(refs, strconv.Itoa(p)+":"+a), true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: %s; nothing was changed", ErrNotFound, a)
		}
	}
	return refs, nil
}
