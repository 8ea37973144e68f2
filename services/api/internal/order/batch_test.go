package order_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/api/internal/order"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func client(t *testing.T) *redis.Client {
	opt, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// countPipelines counts the round trips the client makes.
type countPipelines struct {
	mu      sync.Mutex
	trips   int
	largest int
}

func (c *countPipelines) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *countPipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.mu.Lock()
		c.trips++
		c.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (c *countPipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.mu.Lock()
		c.trips++
		c.largest = max(c.largest, len(cmds))
		c.mu.Unlock()
		return next(ctx, cmds)
	}
}

// Concurrent orders through the batcher share round trips, and each gets
// its own answer: every order is on the stream once, the per-user limit
// counts each, and after a script cache flush (a Redis restart) the
// scripts are sent with their source.
func TestBatchedIntake(t *testing.T) {
	rdb := client(t)
	hook := &countPipelines{}
	rdb.AddHook(hook)
	b := order.NewBatcher(rdb, 2, 16, nil)
	t.Cleanup(b.Close)
	q := order.RedisQueue{RDB: rdb, IdempotencyTTL: time.Hour, PendingTTL: time.Hour, PerUserLimit: 150, PerUserWindow: time.Minute, Batch: b}
	intake := order.NewIntake(q)
	place := func(uid int64, key string) error {
		_, err := intake.Place(context.Background(), uid, order.Request{Items: []orderstream.Item{{ProductID: 1, Quantity: 1}}}, key, "")
		return err
	}
	if err := rdb.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	const n = 200
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs <- place(7, fmt.Sprintf("key-%d", i%190)) }) // 10 retries of an idempotency key
	}
	wg.Wait()
	close(errs)
	accepted, limited := 0, 0
	var rl *order.RateLimitedError
	for err := range errs {
		switch {
		case err == nil:
			accepted++
		case errors.As(err, &rl):
			limited++
		default:
			t.Fatalf("order failed: %v", err)
		}
	}
	entries, err := rdb.XLen(context.Background(), orderstream.Stream).Result()
	if err != nil {
		t.Fatal(err)
	}
	// 190 distinct keys: the first 150 new ones are accepted, the rest of
	// the new ones limited; replays of an accepted key are accepted again.
	if entries != 150 || limited+accepted != n || limited < 30 {
		t.Fatalf("%d entries on the stream, %d accepted, %d limited; want 150 entries and 200 answers", entries, accepted, limited)
	}
	if hook.trips >= n || hook.largest < 2 {
		t.Fatalf("%d round trips for %d orders (largest pipeline %d): the batcher batched nothing", hook.trips, n, hook.largest)
	}
	t.Logf("%d orders in %d round trips, largest pipeline %d", n, hook.trips, hook.largest)
}

// An order not yet handed over gives up with its context; after Close
// nothing is sent.
func TestBatcherStops(t *testing.T) {
	rdb := client(t)
	b := order.NewBatcher(rdb, 1, 4, nil)
	q := order.RedisQueue{RDB: rdb, IdempotencyTTL: time.Hour, PendingTTL: time.Hour, PerUserLimit: 10, PerUserWindow: time.Minute, Batch: b}
	m := orderstream.Message{OrderID: uuid.New(), UserID: 1, Items: []orderstream.Item{{ProductID: 1, Quantity: 1}}, AcceptedAt: time.Now()}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := q.Enqueue(ctx, m, "", ""); err == nil {
		// handed over before the cancel was seen: then it must have run
		if n, _ := rdb.XLen(context.Background(), orderstream.Stream).Result(); n != 1 {
			t.Fatalf("a cancelled order was answered without running (%d entries)", n)
		}
	}
	b.Close()
	if _, _, err := q.Enqueue(context.Background(), m, "", ""); !errors.Is(err, order.ErrBatcherStopped) {
		t.Fatalf("enqueue after Close: %v, want ErrBatcherStopped", err)
	}
}
