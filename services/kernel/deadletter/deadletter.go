// Package deadletter is the contract of the order queue's dead letters:
// the fields order-worker adds when it moves an entry that can never be
// processed to new_orders:dead, and the operations both the worker's CLI
// and the api's admin console run on them — list with filters, inspect,
// replay onto the order stream, and discard with a reason into
// new_orders:discarded, where discarded letters are kept for a retention
// period instead of being deleted.
package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

// Fields order-worker adds to a dead letter besides the original entry's,
// and those a discard adds.
const (
	FieldReason        = "dead_reason"
	FieldError         = "dead_error"
	FieldOriginalID    = "dead_original_id"
	FieldConsumer      = "dead_consumer"
	FieldDeadAt        = "dead_at"
	FieldDiscardReason = "discard_reason"
	FieldDiscardedBy   = "discarded_by"
	FieldDiscardedAt   = "discarded_at"
	// FieldReplay marks an entry put back by a replay, so an order that the
	// dead-letter path recorded failed is processed afresh.
	FieldReplay = "replay"
)

var added = []string{FieldReason, FieldError, FieldOriginalID, FieldConsumer, FieldDeadAt,
	FieldDiscardReason, FieldDiscardedBy, FieldDiscardedAt, FieldReplay}

// Errors callers map to client errors.
var (
	ErrNotFound = errors.New("dead letter not found")
	ErrBadRef   = errors.New(`must be "<partition>:<entry id>", e.g. "0:1733400000000-0"`)
)

// Letter is one dead (or discarded) entry.
type Letter struct {
	// Ref names the letter across partitions: "<partition>:<entry id>".
	Ref       string    `json:"id"`
	Partition int       `json:"partition"`
	Reason    string    `json:"reason"`
	Error     string    `json:"error"`
	Consumer  string    `json:"consumer,omitempty"`
	DeadAt    time.Time `json:"dead_at"`
	OrderID   string    `json:"order_id,omitempty"`
	UserID    int64     `json:"user_id,omitempty"`
	// ProductIDs are read from the original items when they decode.
	ProductIDs []int64 `json:"product_ids"`
	// Fields are the original entry's fields, as the api wrote them.
	Fields        map[string]string `json:"fields"`
	DiscardReason string            `json:"discard_reason,omitempty"`
	DiscardedBy   string            `json:"discarded_by,omitempty"`
	DiscardedAt   *time.Time        `json:"discarded_at,omitempty"`
}

// Filter selects letters; zero fields match everything.
type Filter struct {
	Reason    string
	ProductID int64
	UserID    int64
	// OlderThan keeps letters dead at least this long.
	OlderThan time.Duration
}

// Describe is the filter for an audit record, zero fields left out.
func (f Filter) Describe() map[string]any {
	d := map[string]any{}
	if f.Reason != "" {
		d["reason"] = f.Reason
	}
	if f.ProductID != 0 {
		d["product_id"] = f.ProductID
	}
	if f.UserID != 0 {
		d["user_id"] = f.UserID
	}
	if f.OlderThan != 0 {
		d["older_than"] = f.OlderThan.String()
	}
	return d
}

func (f Filter) match(l Letter, now time.Time) bool {
	switch {
	case f.Reason != "" && l.Reason != f.Reason:
		return false
	case f.UserID != 0 && l.UserID != f.UserID:
		return false
	case f.OlderThan > 0 && now.Sub(l.DeadAt) < f.OlderThan:
		return false
	case f.ProductID != 0:
		for _, id := range l.ProductIDs {
			if id == f.ProductID {
				return true
			}
		}
		return false
	}
	return true
}

// Store reads and changes the dead letters of every partition.
type Store struct {
	RDB  redis.UniversalClient
	Keys orderstream.Keyspace
}

// scanPage is how many entries one XRANGE reads while scanning.
const scanPage = 500

// List returns the letters matching f (dead ones, or discarded ones),
// oldest first within a partition, at most limit of them after skipping
// offset, and how many match in all. It reads the whole stream: dead letters are expected to
// number thousands, not millions (an alert fires on the first one).
func (s Store) List(ctx context.Context, f Filter, discarded bool, limit, offset int) ([]Letter, int, error) {
	out := []Letter{}
	total := 0
	now := time.Now()
	err := s.scan(ctx, discarded, func(l Letter) {
		if f.match(l, now) {
			total++
			if total > offset && len(out) < limit {
				out = append(out, l)
			}
		}
	})
	return out, total, err
}

// Counts returns the number of dead letters per partition.
func (s Store) Counts(ctx context.Context) ([]int64, error) {
	out := make([]int64, len(s.Keys.All()))
	for _, p := range s.Keys.All() {
		n, err := s.RDB.XLen(ctx, s.Keys.DeadLetters(p)).Result()
		if err != nil {
			return nil, fmt.Errorf("count %s: %w", s.Keys.DeadLetters(p), err)
		}
		out[p] = n
	}
	return out, nil
}

func (s Store) scan(ctx context.Context, discarded bool, each func(Letter)) error {
	for _, p := range s.Keys.All() {
		stream := s.stream(p, discarded)
		start := "-"
		for {
			msgs, err := s.RDB.XRangeN(ctx, stream, start, "+", scanPage).Result()
			if err != nil {
				return fmt.Errorf("read %s: %w", stream, err)
			}
			for _, m := range msgs {
				each(parse(p, m))
			}
			if len(msgs) < scanPage {
				break
			}
			start = "(" + msgs[len(msgs)-1].ID
		}
	}
	return nil
}

func (s Store) stream(p int, discarded bool) string {
	if discarded {
		return s.Keys.Discarded(p)
	}
	return s.Keys.DeadLetters(p)
}

// Get returns one dead (or discarded) letter.
func (s Store) Get(ctx context.Context, ref string, discarded bool) (Letter, error) {
	p, id, err := s.ParseRef(ref)
	if err != nil {
		return Letter{}, err
	}
	msgs, err := s.RDB.XRange(ctx, s.stream(p, discarded), id, id).Result()
	if err != nil {
		return Letter{}, fmt.Errorf("read %s: %w", s.stream(p, discarded), err)
	}
	if len(msgs) == 0 {
		return Letter{}, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	return parse(p, msgs[0]), nil
}

var entryID = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// ParseRef splits "<partition>:<entry id>" and checks both parts.
func (s Store) ParseRef(ref string) (int, string, error) {
	ps, id, ok := strings.Cut(ref, ":")
	p, err := strconv.Atoi(ps)
	if !ok || err != nil || p < 0 || p >= len(s.Keys.All()) || !entryID.MatchString(id) {
		return 0, "", fmt.Errorf("%w (partitions 0..%d)", ErrBadRef, len(s.Keys.All())-1)
	}
	return p, id, nil
}

func parse(p int, m redis.XMessage) Letter {
	get := func(k string) string { v, _ := m.Values[k].(string); return v }
	l := Letter{Ref: strconv.Itoa(p) + ":" + m.ID, Partition: p, Reason: get(FieldReason), Error: get(FieldError),
		Consumer: get(FieldConsumer), OrderID: get("order_id"), ProductIDs: []int64{}, Fields: map[string]string{},
		DiscardReason: get(FieldDiscardReason), DiscardedBy: get(FieldDiscardedBy)}
	l.DeadAt, _ = time.Parse(time.RFC3339Nano, get(FieldDeadAt))
	if at, err := time.Parse(time.RFC3339Nano, get(FieldDiscardedAt)); err == nil {
		l.DiscardedAt = &at
	}
	for k, v := range m.Values {
		if !isAdded(k) {
			l.Fields[k], _ = v.(string)
		}
	}
	// Poison entries may not decode (Decode stops at an unknown version);
	// what can be read still feeds the filters.
	msg, _ := orderstream.Decode(m.Values)
	l.UserID = msg.UserID
	if len(msg.Items) == 0 {
		_ = json.Unmarshal([]byte(get("items")), &msg.Items)
	}
	for _, it := range msg.Items {
		l.ProductIDs = append(l.ProductIDs, it.ProductID)
	}
	return l
}

func isAdded(k string) bool {
	for _, a := range added {
		if k == a {
			return true
		}
	}
	return false
}
