// Package consumer reads the new_orders stream as a member of the
// order-worker consumer group and turns each entry into exactly one decided
// order: at-least-once delivery (ack only after the decision committed),
// takeover of entries left pending by dead consumers, retries with capped
// exponential backoff while the database is away, dead letters for poison
// messages, and a graceful drain on shutdown.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/pause"
	"github.com/goshop-platform/shop/services/order-worker/internal/processor"
)

// Processor decides orders (PostgreSQL in production).
type Processor interface {
	Process(ctx context.Context, m orderstream.Message) (processor.Outcome, error)
	RecordFailed(ctx context.Context, m orderstream.Message, reason, detail string) (bool, error)
	ReopenForReplay(ctx context.Context, id [16]byte) error
}

// Config tunes the consumer (see workerconfig.Consumer).
type Config struct {
	Name            string
	Concurrency     int
	BatchSize       int
	Block           time.Duration
	ClaimIdle       time.Duration
	ClaimInterval   time.Duration
	MaxDeliveries   int
	ConsumerGCAfter time.Duration
	DrainTimeout    time.Duration
	RetryInitial    time.Duration
	RetryMax        time.Duration
	// Keys names the streams; every partition is read (the zero value is
	// orderstream.Single).
	Keys orderstream.Keyspace
	// PauseRefresh is how often the operator's consumption switch is read
	// (default 1s).
	PauseRefresh time.Duration
}

// Consumer is one member of the group.
type Consumer struct {
	rdb     redis.UniversalClient
	keys    orderstream.Keyspace
	proc    Processor
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	slots   *slots
	pause   *pause.Watcher
}

// New builds a consumer.
func New(rdb redis.UniversalClient, proc Processor, cfg Config, log *slog.Logger, m *Metrics) *Consumer {
	keys := cfg.Keys
	if keys.Partitions == 0 {
		keys = orderstream.Single
	}
	if cfg.PauseRefresh <= 0 {
		cfg.PauseRefresh = time.Second
	}
	c := &Consumer{rdb: rdb, keys: keys, proc: proc, cfg: cfg, log: log, metrics: m, slots: newSlots(cfg.Concurrency),
		pause: pause.NewWatcher(rdb, pause.Consumption, cfg.PauseRefresh, log)}
	c.pause.OnChange = func(s pause.State) {
		if s.Paused {
			m.paused.Set(1)
		} else {
			m.paused.Set(0)
		}
	}
	return c
}

// SetConcurrency changes how many orders are processed at once (hot reload).
func (c *Consumer) SetConcurrency(n int) { c.slots.resize(n) }

// Run consumes until ctx ends, then stops reading and lets in-flight orders
// finish within DrainTimeout; what does not finish stays pending in the
// group and is claimed by a surviving consumer. It returns nil after a clean
// drain.
func (c *Consumer) Run(ctx context.Context) error {
	// Work outlives ctx by the drain timeout so in-flight orders can commit and ack.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var inflight sync.WaitGroup
	dispatch := func(p int, msgs []redis.XMessage, claimed bool) {
		// Entries already read belong to this consumer: finish them during a
		// drain too (at most one batch), rather than leave them to a claim.
		for _, msg := range msgs {
			if !c.slots.acquire(work) {
				return // drain deadline passed: the rest stays pending for others
			}
			inflight.Add(1)
			go func() {
				defer inflight.Done()
				defer c.slots.release()
				c.handle(work, p, msg, claimed)
			}()
		}
	}
	if err := c.ensureGroup(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	// Read the switch before the first read, so a worker started during a
	// pause takes nothing.
	if err := c.pause.Load(ctx); err != nil {
		c.log.Warn("cannot read the consumption switch; starting unpaused", "err", err)
	}
	go c.pause.Run(ctx)
	// One reader per partition, sharing the slots: whichever partition has
	// entries gets the next free slot, so consumers serve them all fairly.
	var loops sync.WaitGroup
	for _, p := range c.keys.All() {
		loops.Add(1)
		go func() { defer loops.Done(); c.readLoop(ctx, p, dispatch) }()
	}
	loops.Add(1)
	go func() { defer loops.Done(); c.claimLoop(ctx, dispatch) }()
	loops.Wait()

	c.log.Info("draining in-flight orders", "timeout", c.cfg.DrainTimeout)
	done := make(chan struct{})
	go func() { inflight.Wait(); close(done) }()
	select {
	case <-done:
		c.log.Info("drained")
		return nil
	case <-time.After(c.cfg.DrainTimeout):
		cancelWork()
		<-done
		return fmt.Errorf("drain timeout %s exceeded; unfinished orders stay pending for another consumer", c.cfg.DrainTimeout)
	}
}

// dispatcher hands entries of partition p to the processing goroutines.
type dispatcher func(p int, msgs []redis.XMessage, claimed bool)

// ensureGroup creates the streams and their group if missing, retrying
// while Redis is away.
func (c *Consumer) ensureGroup(ctx context.Context) error {
	for _, p := range c.keys.All() {
		if err := c.ensureGroupOf(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func (c *Consumer) ensureGroupOf(ctx context.Context, p int) error {
	return c.retry(ctx, "create consumer group", func() error {
		err := c.rdb.XGroupCreateMkStream(ctx, c.keys.Stream(p), orderstream.Group, "0").Err()
		if err != nil && strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return nil
		}
		return err
	})
}

func (c *Consumer) readLoop(ctx context.Context, p int, dispatch dispatcher) {
	for ctx.Err() == nil {
		select {
		case <-c.pause.Open():
		case <-ctx.Done():
			return
		}
		// Read no more than can be in flight at once: an entry read waits
		// for a slot in this consumer's pending list, and one that waited
		// longer than claimIdle would be claimed by another consumer (a
		// delivery counted towards the dead letters) while this one still
		// holds it. With at most one entry queued per slot (per partition
		// read), an entry waits about one order's time per partition.
		res, err := c.read(ctx, p, max(1, min(c.cfg.BatchSize, c.slots.size())))
		switch {
		case err == nil:
			for _, s := range res {
				dispatch(p, s.Messages, false)
			}
		case errors.Is(err, redis.Nil) || ctx.Err() != nil:
		case strings.HasPrefix(err.Error(), "NOGROUP"):
			// Redis lost the group (restart without persistence, FLUSHALL): recreate it.
			_ = c.ensureGroupOf(ctx, p)
		default:
			c.metrics.transient.WithLabelValues("redis").Inc()
			c.log.Warn("reading the order stream failed; retrying", "stream", c.keys.Stream(p), "err", err)
			c.sleep(ctx, c.cfg.RetryMax)
		}
	}
}

// read is one XREADGROUP of up to count entries on partition p, blocking
// up to consumer.block. It is not cut short by a pause: go-redis does not
// interrupt a blocking read, and entries Redis delivered to a read given up
// would sit in this consumer's pending list until a claim. A pause
// therefore takes effect within consumer.block.
func (c *Consumer) read(ctx context.Context, p, count int) ([]redis.XStream, error) {
	return c.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: orderstream.Group, Consumer: c.cfg.Name, Streams: []string{c.keys.Stream(p), ">"},
		Count: int64(count), Block: c.cfg.Block,
	}).Result()
}

// claimLoop takes over entries that another consumer has held too long,
// and periodically tidies the group, partition after partition.
func (c *Consumer) claimLoop(ctx context.Context, dispatch dispatcher) {
	t := time.NewTicker(c.cfg.ClaimInterval)
	defer t.Stop()
	lastGC := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if c.pause.State().Paused {
			continue // a paused worker takes over nothing either
		}
		tidy := time.Since(lastGC) > c.cfg.ClaimInterval*6
		if tidy {
			lastGC = time.Now()
		}
		for _, p := range c.keys.All() {
			c.claim(ctx, p, dispatch)
			if tidy {
				c.tidy(ctx, p)
			}
		}
	}
}

// claim takes over partition p's entries idle past ClaimIdle.
func (c *Consumer) claim(ctx context.Context, p int, dispatch dispatcher) {
	start := "0-0"
	for ctx.Err() == nil {
		msgs, next, err := c.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: c.keys.Stream(p), Group: orderstream.Group, Consumer: c.cfg.Name,
			MinIdle: c.cfg.ClaimIdle, Start: start, Count: int64(c.cfg.BatchSize),
		}).Result()
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("claiming stale entries failed", "stream", c.keys.Stream(p), "err", err)
			}
			return
		}
		if len(msgs) > 0 {
			c.metrics.claimed.Add(float64(len(msgs)))
			c.log.Info("claimed entries left by another consumer", "stream", c.keys.Stream(p), "count", len(msgs))
			dispatch(p, msgs, true)
		}
		if next == "0-0" || next == "" {
			return
		}
		start = next
	}
}

// retry runs f until it succeeds or ctx ends, backing off exponentially
// (capped, with jitter) between attempts.
func (c *Consumer) retry(ctx context.Context, what string, f func() error) error {
	delay := c.cfg.RetryInitial
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt == 1 || attempt%10 == 0 {
			c.log.Warn("transient failure; retrying with backoff", "what", what, "attempt", attempt, "err", err)
		}
		c.sleep(ctx, jitter(delay))
		delay = min(delay*2, c.cfg.RetryMax)
	}
}

func (c *Consumer) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
