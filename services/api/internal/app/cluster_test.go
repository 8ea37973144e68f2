package app_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// clusterStack is two api replicas and the workers on Redis Cluster c
// with the order stream in partitions streams; durability "" is the default.
func clusterStack(t *testing.T, c *testenv.RedisCluster, partitions int, durability string, stocks ...int) *stack {
	return newStackOn(t, schematest.MigratedDatabase(t), c.URL(), func(spec *apiconfig.Spec, env *[]string) {
		spec.Redis.Mode, spec.Redis.Partitions = "cluster", partitions
		if durability != "" {
			spec.Orders.Durability, spec.Orders.ReplicaTimeout, spec.Orders.MinReplicas = durability, 200*time.Millisecond, 1
		}
		*env = append(*env, "WORKER_REDIS_MODE=cluster", fmt.Sprintf("WORKER_REDIS_PARTITIONS=%d", partitions))
	}, stocks...)
}

func (s *stack) productIDs() []int {
	var ids []int
	for id := range s.products {
		ids = append(ids, int(id))
	}
	slices.Sort(ids)
	return ids
}

// TestOrderFlowOnRedisCluster: on a 3-master/3-replica cluster with 8
// partitions, an order is pending (by id, in the user's list, on the live
// stream) on either api replica until a worker decides it; a repeated
// Idempotency-Key gets the same order; 400 racing orders for 30 units
// confirm exactly 30.
func TestOrderFlowOnRedisCluster(t *testing.T) {
	cluster := testenv.NewRedisCluster(t, 3)
	s := clusterStack(t, cluster, 8, "", 30, 1_000_000)
	scarce, plenty := s.productIDs()[0], s.productIDs()[1]
	tokens := s.customers(8)

	keyed := req{method: "POST", path: "/api/v1/orders", token: tokens[0], body: orderBody([2]int{plenty, 2}),
		headers: map[string]string{"Idempotency-Key": "cluster-1"}}
	var first, again accepted
	expect(t, s.apis[0].do(keyed), 202).json(t, &first)
	expect(t, s.apis[1].do(keyed), 202).json(t, &again)
	if again.ID != first.ID {
		t.Fatalf("the same Idempotency-Key made orders %s and %s", first.ID, again.ID)
	}
	var pending orderView
	expect(t, s.apis[1].do(req{method: "GET", path: "/api/v1/orders/" + first.ID, token: tokens[0]}), 200).json(t, &pending)
	if pending.Status != "pending" || len(pending.Items) != 1 || pending.Items[0].Quantity != 2 {
		t.Fatalf("before any worker the order reads %+v, want pending with its line", pending)
	}
	var list struct{ Items []orderView }
	expect(t, s.apis[0].do(req{method: "GET", path: "/api/v1/orders?status=pending", token: tokens[0]}), 200).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != first.ID {
		t.Fatalf("the customer's pending orders %+v, want %s", list.Items, first.ID)
	}
	live := openStream(t, s.apis[1].base, first.ID, tokens[0], nil)
	if o := live.status(5 * time.Second); o.Status != "pending" {
		t.Fatalf("live stream starts at %q", o.Status)
	}
	s.worker("1h")
	if o := live.status(30 * time.Second); o.Status != "confirmed" {
		t.Fatalf("live stream moved to %q, want confirmed", o.Status)
	}

	accepted := s.race(tokens, 400, [2]int{scarce, 1})
	eventually(t, time.Minute, "every racing order decided", func() bool {
		return s.count("SELECT count(*) FROM orders") == accepted+1
	})
	if n := s.count("SELECT count(*) FROM orders o JOIN order_items i ON i.order_id = o.id WHERE i.product_id = $1 AND o.status = 'confirmed'", scarce); n != 30 {
		t.Fatalf("%d orders confirmed for 30 units", n)
	}
	s.checkLifecycle()
}

// race places n orders of line from all customers at once, over both
// replicas, and returns how many were accepted.
func (s *stack) race(tokens []string, n int, line [2]int) int {
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, accepted := s.place(i, tokens[i%len(tokens)], line); accepted {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if int(ok.Load()) != n {
		s.t.Fatalf("%d of %d orders accepted", ok.Load(), n)
	}
	return n
}

// orderFlow places orders from several customers until stopped, each with
// its own Idempotency-Key, retrying a 503 or a failed connection with the
// same key as a client should. It records the orders answered 202.
type orderFlow struct {
	s        *stack
	stop     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	accepted []string
	retries  atomic.Int64
	gaveUp   atomic.Int64
}

func (s *stack) flow(tokens []string, product int) *orderFlow {
	f := &orderFlow{s: s, stop: make(chan struct{})}
	for g, tok := range tokens {
		f.wg.Add(1)
		go f.run(g, tok, product)
	}
	return f
}

func (f *orderFlow) run(g int, tok string, product int) {
	defer f.wg.Done()
	for {
		select {
		case <-f.stop:
			return
		default:
		}
		key := uuid.NewString()
		for attempt := 0; ; attempt++ {
			code, b := f.s.callWith(g+attempt, "POST", "/api/v1/orders", tok, orderBody([2]int{product, 1}), map[string]string{"Idempotency-Key": key})
			var a accepted
			if code == 202 && json.Unmarshal(b, &a) == nil {
				f.mu.Lock()
				f.accepted = append(f.accepted, a.ID)
				f.mu.Unlock()
				break
			}
			if attempt == 20 {
				f.gaveUp.Add(1)
				break
			}
			f.retries.Add(1)
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// halt stops the flow and returns the accepted order ids.
func (f *orderFlow) halt() []string {
	close(f.stop)
	f.wg.Wait()
	return f.accepted
}

// lost waits until the accepted orders stop getting decided and returns
// those that never were.
func (f *orderFlow) lost(ids []string) []string {
	f.s.t.Helper()
	decided, last, since := -1, 0, time.Now()
	for time.Since(since) < 10*time.Second && decided != len(ids) {
		decided = f.s.count("SELECT count(*) FROM orders WHERE id = ANY($1::uuid[])", ids)
		if decided != last {
			last, since = decided, time.Now()
		}
		time.Sleep(200 * time.Millisecond)
	}
	var missing []string
	for _, id := range ids {
		if f.s.count("SELECT count(*) FROM orders WHERE id = $1", id) == 0 {
			missing = append(missing, id)
		}
	}
	return missing
}

// TestRedisClusterFailover SIGKILLs a master while orders flow; its
// replica is promoted. With durability replica every order answered 202
// is decided; with none the test reports how many were lost. (The
// promoted master has no replica of its own afterwards, so with replica
// its partitions answer 503 until one joins: that is the mode's promise.)
func TestRedisClusterFailover(t *testing.T) {
	for _, mode := range []string{apiconfig.DurabilityReplica, apiconfig.DurabilityNone} {
		t.Run(mode, func(t *testing.T) {
			cluster := testenv.NewRedisCluster(t, 3)
			s := clusterStack(t, cluster, 8, mode, 10_000_000)
			s.worker("1h")
			f := s.flow(s.customers(8), s.productIDs()[0])
			time.Sleep(1500 * time.Millisecond)
			victim := cluster.MasterOf(t, orderstream.Slot(orderstream.NewKeyspace(8, true).Stream(0)))
			began := time.Now()
			promoted := cluster.KillMaster(t, victim)
			t.Logf("master %s killed; %s promoted after %s", victim, promoted, time.Since(began).Round(time.Millisecond))
			time.Sleep(2 * time.Second)
			ids := f.halt()
			lost := f.lost(ids)
			t.Logf("durability %s: %d orders answered 202, %d lost; %d retries after 503 or a dropped connection, %d given up",
				mode, len(ids), len(lost), f.retries.Load(), f.gaveUp.Load())
			if len(ids) < 100 {
				t.Fatalf("only %d orders accepted: the flow did not run", len(ids))
			}
			if mode == apiconfig.DurabilityReplica && len(lost) > 0 {
				t.Fatalf("%d orders answered 202 were lost with the master: %v", len(lost), lost[:min(5, len(lost))])
			}
		})
	}
}

// TestRedisClusterReshardingLosesNothing migrates the slot of a partition
// (its stream with the consumer group, pending records, idempotency keys)
// to another master while orders flow into it and a worker reads it.
func TestRedisClusterReshardingLosesNothing(t *testing.T) {
	cluster := testenv.NewRedisCluster(t, 3)
	s := clusterStack(t, cluster, 4, "", 10_000_000)
	s.worker("1h")
	f := s.flow(s.customers(8), s.productIDs()[0])
	time.Sleep(time.Second)
	slot := orderstream.Slot(orderstream.NewKeyspace(4, true).Stream(0))
	from := cluster.MasterOf(t, slot)
	to := cluster.Masters(t)[0]
	if to == from {
		to = cluster.Masters(t)[1]
	}
	began := time.Now()
	moved := cluster.MoveSlot(t, slot, to, 20*time.Millisecond)
	t.Logf("slot %d moved from %s to %s with %d keys in %s", slot, from, to, moved, time.Since(began).Round(time.Millisecond))
	time.Sleep(time.Second)
	ids := f.halt()
	if lost := f.lost(ids); len(lost) > 0 || moved == 0 {
		t.Fatalf("%d of %d accepted orders lost across the migration of %d keys", len(lost), len(ids), moved)
	}
	t.Logf("%d orders accepted and decided; %d retries, %d given up", len(ids), f.retries.Load(), f.gaveUp.Load())
	if n := s.count("SELECT count(*) FROM orders WHERE id = ANY($1::uuid[])", ids); n != len(ids) {
		t.Fatalf("%d of %d decided", n, len(ids))
	}
}
