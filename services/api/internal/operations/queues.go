package operations

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/pause"
)

// Queues is the order queue as an operator sees it.
type Queues struct {
	Stream      string      `json:"stream"`
	Group       string      `json:"group"`
	Intake      pause.State `json:"intake"`
	Consumption pause.State `json:"consumption"`
	Partitions  []Partition `json:"partitions"`
	Totals      Totals      `json:"totals"`
}

// Partition is one stream of the queue.
type Partition struct {
	Partition int    `json:"partition"`
	Stream    string `json:"stream"`
	Length    int64  `json:"length"`
	// Lag is how many entries no consumer has read yet.
	Lag int64 `json:"lag"`
	// Pending entries were read but not acknowledged (being decided, or
	// held by a consumer that died: claimed after consumer.claimIdle).
	Pending                 int64      `json:"pending"`
	OldestPendingAgeSeconds float64    `json:"oldest_pending_age_seconds"`
	DeadLetters             int64      `json:"dead_letters"`
	Consumers               []Consumer `json:"consumers"`
}

// Consumer is one member of the group on one partition.
type Consumer struct {
	Name        string  `json:"name"`
	Pending     int64   `json:"pending"`
	IdleSeconds float64 `json:"idle_seconds"`
}

// Totals sum the partitions; Consumers counts distinct names.
type Totals struct {
	Length      int64 `json:"length"`
	Lag         int64 `json:"lag"`
	Pending     int64 `json:"pending"`
	DeadLetters int64 `json:"dead_letters"`
	Consumers   int   `json:"consumers"`
}

// maxCountedLag bounds the entries read to count the lag when Redis cannot.
const maxCountedLag = 10000

// Queues reads the state of every partition and both pause switches.
func (s *Service) Queues(ctx context.Context) (Queues, error) {
	q := Queues{Stream: orderstream.Stream, Group: orderstream.Group, Partitions: []Partition{}}
	var err error
	if q.Intake, err = pause.Read(ctx, s.RDB, pause.Intake); err != nil {
		return q, err
	}
	if q.Consumption, err = pause.Read(ctx, s.RDB, pause.Consumption); err != nil {
		return q, err
	}
	dead, err := s.DeadLetters().Counts(ctx)
	if err != nil {
		return q, err
	}
	names := map[string]bool{}
	for _, p := range s.Keys.All() {
		part, err := s.partition(ctx, p)
		if err != nil {
			return q, err
		}
		part.DeadLetters = dead[p]
		for _, c := range part.Consumers {
			names[c.Name] = true
		}
		q.Partitions = append(q.Partitions, part)
		q.Totals.Length += part.Length
		q.Totals.Lag += part.Lag
		q.Totals.Pending += part.Pending
		q.Totals.DeadLetters += part.DeadLetters
	}
	q.Totals.Consumers = len(names)
	return q, nil
}

func (s *Service) partition(ctx context.Context, p int) (Partition, error) {
	stream := s.Keys.Stream(p)
	part := Partition{Partition: p, Stream: stream, Consumers: []Consumer{}}
	n, err := s.RDB.XLen(ctx, stream).Result()
	if err != nil {
		return part, fmt.Errorf("length of %s: %w", stream, err)
	}
	part.Length = n
	groups, err := s.RDB.XInfoGroups(ctx, stream).Result()
	if err != nil && !isNoStream(err) {
		return part, fmt.Errorf("groups of %s: %w", stream, err)
	}
	for _, g := range groups {
		if g.Name != orderstream.Group {
			continue
		}
		part.Lag, part.Pending = max(g.Lag, 0), g.Pending
		if g.Lag < 0 {
			// Redis cannot tell after deletions inside the range: count what
			// lies past the last delivered id, up to a bound.
			after, err := s.RDB.XRangeN(ctx, stream, "("+g.LastDeliveredID, "+", maxCountedLag).Result()
			if err != nil {
				return part, fmt.Errorf("entries of %s after %s: %w", stream, g.LastDeliveredID, err)
			}
			part.Lag = int64(len(after))
		}
	}
	if part.Pending > 0 {
		sum, err := s.RDB.XPending(ctx, stream, orderstream.Group).Result()
		if err != nil {
			return part, fmt.Errorf("pending of %s: %w", stream, err)
		}
		part.OldestPendingAgeSeconds = ageOf(sum.Lower)
	}
	consumers, err := s.RDB.XInfoConsumers(ctx, stream, orderstream.Group).Result()
	if err != nil && !isNoStream(err) {
		return part, fmt.Errorf("consumers of %s: %w", stream, err)
	}
	for _, c := range consumers {
		part.Consumers = append(part.Consumers, Consumer{Name: c.Name, Pending: c.Pending, IdleSeconds: c.Idle.Seconds()})
	}
	return part, nil
}

// ageOf is how long ago a stream entry id was generated (its milliseconds).
func ageOf(id string) float64 {
	ms, _, _ := strings.Cut(id, "-")
	t, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return 0
	}
	return max(time.Since(time.UnixMilli(t)).Seconds(), 0)
}

func isNoStream(err error) bool {
	return err == redis.Nil || strings.HasPrefix(err.Error(), "ERR no such key") || strings.HasPrefix(err.Error(), "NOGROUP")
}
