package testenv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const slotStream = "{mv}:orders" // its hash tag puts every key of the test in one slot

// A slot moves to another master with every key, including a stream and
// its consumer group, while a client keeps writing to it without a single
// error; then the new owner dies and its replica serves all the data that
// was acknowledged before the loss.
func TestRedisClusterMoveSlotUnderWritesThenKillMaster(t *testing.T) {
	c := NewRedisCluster(t, 3)
	if m := c.Masters(t); len(m) != 3 {
		t.Fatalf("masters %v, want 3", m)
	}
	s := &slotCase{c: c, cl: c.Client(t), want: map[string]string{}}
	s.seed(t)
	to := s.moveUnderWrites(t)
	s.killOwner(t, to)
}

// slotCase is the data a test wrote to one slot, to compare with what the
// cluster serves.
type slotCase struct {
	c    *RedisCluster
	cl   *redis.ClusterClient
	slot int
	want map[string]string // every string key of the slot, with its value
	xlen int64             // entries in slotStream
}

// seed writes 200 keys and a stream of 5 entries with a consumer group that
// has read 2 of them.
func (s *slotCase) seed(t *testing.T) {
	ctx := context.Background()
	s.slot = int(s.cl.ClusterKeySlot(ctx, slotStream).Val())
	for i := range 200 {
		k, v := fmt.Sprintf("{mv}:k%03d", i), strconv.Itoa(i*7)
		must(t, s.cl.Set(ctx, k, v, 0).Err())
		s.want[k] = v
	}
	for i := range 5 {
		must(t, s.cl.XAdd(ctx, &redis.XAddArgs{Stream: slotStream, Values: []any{"n", i}}).Err())
	}
	s.xlen = 5
	must(t, s.cl.XGroupCreate(ctx, slotStream, "g", "0").Err())
	must(t, s.cl.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{slotStream, ">"}, Count: 2}).Err())
}

// moveUnderWrites moves the slot to another master while a writer goes on
// and checks that no write failed and the new owner holds everything.
func (s *slotCase) moveUnderWrites(t *testing.T) (to string) {
	ctx := context.Background()
	from := s.c.MasterOf(t, s.slot)
	if to = s.c.Masters(t)[0]; to == from {
		to = s.c.Masters(t)[1]
	}
	w := startSlotWriter(s.cl)
	w.waitFor(t, 20)
	before := w.n.Load()
	moved := s.c.MoveSlot(t, s.slot, to, 20*time.Millisecond)
	during := w.n.Load() - before
	w.waitFor(t, w.n.Load()+20) // and on, after the slot settled
	n := w.stop()
	for i := range n {
		s.want[fmt.Sprintf("{mv}:w%d", i)] = strconv.FormatInt(i, 10)
	}
	s.xlen += n
	t.Logf("moved %d keys of slot %d from %s to %s; %d rounds of writes during the move, %d in all", moved, s.slot, from, to, during, n)
	if len(w.errs) > 0 {
		t.Fatalf("%d of %d rounds of writes and reads failed during the move, first: %v", len(w.errs), n, w.errs[0])
	}
	if during == 0 {
		t.Fatalf("no write happened while the slot moved; the test proves nothing")
	}
	if moved < 201 || int64(moved) > 201+n {
		t.Errorf("MoveSlot moved %d keys, want between 201 and %d", moved, 201+n)
	}
	if got := s.c.MasterOf(t, s.slot); got != to {
		t.Fatalf("slot %d is served by %s after the move, want %s", s.slot, got, to)
	}
	owner := nodeClient(t, to)
	if err := s.check(ctx, owner); err != nil {
		t.Fatalf("new owner %s: %v", to, err)
	}
	if k := owner.ClusterCountKeysInSlot(ctx, s.slot).Val(); k != int64(len(s.want))+1 {
		t.Fatalf("new owner %s holds %d keys of slot %d, want %d", to, k, s.slot, len(s.want)+1)
	}
	if k := nodeClient(t, from).ClusterCountKeysInSlot(ctx, s.slot).Val(); k != 0 {
		t.Fatalf("old owner %s still holds %d keys of slot %d", from, k, s.slot)
	}
	return to
}

// killOwner kills the slot's master once its replica has acknowledged all
// writes, and reads everything back through the cluster client.
func (s *slotCase) killOwner(t *testing.T, owner string) {
	ctx := context.Background()
	s.want["{mv}:fence"] = "1"
	if acked := fence(ctx, nodeClient(t, owner), "{mv}:fence"); acked != 1 {
		t.Fatalf("WAIT 1 1000 on %s: %d replicas acknowledged, want 1", owner, acked)
	}
	promoted := s.c.KillMaster(t, owner)
	if m := s.c.Masters(t); len(m) != 3 || slices.Contains(m, owner) {
		t.Fatalf("masters after killing %s: %v", owner, m)
	}
	if got := s.c.MasterOf(t, s.slot); got != promoted {
		t.Fatalf("slot %d is served by %s after the failover, want %s", s.slot, got, promoted)
	}
	// go-redis reloads its slot map on MOVED/ASK and every
	// ClusterStateReloadInterval (60 s by default), not when a master stops
	// answering: until told, it may keep sending the slot to the dead address.
	if err := s.cl.Get(ctx, "{mv}:fence").Err(); err != nil {
		t.Logf("cluster client before reloading its slot map: %v", err)
	}
	s.cl.ReloadState(ctx)
	began := time.Now()
	if err := waitFor(10*time.Second, func() error { return s.check(ctx, s.cl) }); err != nil {
		t.Fatalf("cluster client after the failover: %v", err)
	}
	t.Logf("cluster client read all %d keys %s after the failover", len(s.want), time.Since(began).Round(time.Millisecond))
}

// slotWriter SETs {mv}:w<i> = i, XADDs n=i to slotStream and GETs a seeded
// key back, in a loop.
type slotWriter struct {
	n    atomic.Int64
	errs []error // read after stop
	quit chan struct{}
	wg   sync.WaitGroup
}

func startSlotWriter(cl *redis.ClusterClient) *slotWriter {
	w := &slotWriter{quit: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		ctx := context.Background()
		for i := 0; ; i++ {
			select {
			case <-w.quit:
				return
			default:
			}
			v, err := cl.Get(ctx, fmt.Sprintf("{mv}:k%03d", i%200)).Result()
			if want := strconv.Itoa(i % 200 * 7); err == nil && v != want {
				err = fmt.Errorf("read %q, want %s", v, want)
			}
			err = errors.Join(err, cl.Set(ctx, fmt.Sprintf("{mv}:w%d", i), i, 0).Err(),
				cl.XAdd(ctx, &redis.XAddArgs{Stream: slotStream, Values: []any{"n", i}}).Err())
			if err != nil {
				w.errs = append(w.errs, fmt.Errorf("write %d: %w", i, err))
			}
			w.n.Add(1)
		}
	}()
	return w
}

func (w *slotWriter) waitFor(t *testing.T, n int64) {
	t.Helper()
	if err := waitFor(10*time.Second, func() error {
		if got := w.n.Load(); got < n {
			return fmt.Errorf("%d writes, want %d", got, n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func (w *slotWriter) stop() int64 { close(w.quit); w.wg.Wait(); return w.n.Load() }

// check compares the string keys, the stream's length and its consumer
// group (two pending entries) that r serves with what was written.
func (s *slotCase) check(ctx context.Context, r redis.Cmdable) error {
	keys := make([]string, 0, len(s.want))
	for k := range s.want {
		keys = append(keys, k)
	}
	vals, err := r.MGet(ctx, keys...).Result()
	if err != nil {
		return err
	}
	for i, k := range keys {
		if vals[i] != s.want[k] {
			return fmt.Errorf("%s = %v, want %s", k, vals[i], s.want[k])
		}
	}
	if n, err := r.XLen(ctx, slotStream).Result(); err != nil || n != s.xlen {
		return fmt.Errorf("XLEN %s = %d (%v), want %d", slotStream, n, err, s.xlen)
	}
	g, err := r.XInfoGroups(ctx, slotStream).Result()
	if err != nil || len(g) != 1 || g[0].Name != "g" || g[0].Pending != 2 {
		return fmt.Errorf("consumer groups of %s: %+v (%v), want g with 2 pending", slotStream, g, err)
	}
	return nil
}

// fence writes key on the master and waits until a replica acknowledges
// it, and so everything written before it (WAIT covers the connection's
// own writes, and replication is in order).
func fence(ctx context.Context, master *redis.Client, key string) int64 {
	var acked *redis.Cmd
	_, _ = master.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, key, "1", 0)
		acked = p.Do(ctx, "wait", 1, 1000)
		return nil
	})
	n, _ := acked.Int64()
	return n
}

func nodeClient(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
