package order

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Durability is how far an order must have travelled before intake answers
// 202. The zero value is "none": the Redis primary has it (in its
// append-only file), which survives a Redis restart but not the loss of
// the primary, because replication is asynchronous. With MinReplicas > 0
// ("replica") intake also waits, with WAIT, until that many replicas have
// acknowledged the write, for at most Timeout.
type Durability struct {
	MinReplicas int
	Timeout     time.Duration
}

// NotDurableError refuses to answer 202 because fewer replicas than wanted
// acknowledged the order within the timeout. The order's entry stays in
// the stream: it may still reach a replica and be processed, or be lost
// with the primary. A retry with the same Idempotency-Key learns which,
// without creating a second order.
type NotDurableError struct {
	Acked, Wanted int
	Timeout       time.Duration
}

func (e *NotDurableError) Error() string {
	return fmt.Sprintf("order acknowledged by %d of %d wanted Redis replicas within %s", e.Acked, e.Wanted, e.Timeout)
}

// scriptRunner is enqueue.EvalSha or enqueue.Eval.
type scriptRunner func(ctx context.Context, c redis.Scripter, keys []string, args ...any) *redis.Cmd

// runDurably runs the intake script and then WAIT in one pipeline, so both
// go over one connection: WAIT waits for the writes of the connection that
// calls it, so it must be the one that ran the script.
//
// A replay (an Idempotency-Key seen before) must wait too, so that a 202
// is only ever given for an order a replica holds, but a replay writes no
// order: its connection (maybe of another api replica) may never have
// written the original. WAIT is documented for "all the previous write
// commands" of the client; with none, it may return at once with every
// connected replica counted, a lagging one included. (Redis 7.0 in fact
// records the offset after any command, reads too, but that is not the
// documented contract.) So the script re-sets the replayed idempotency
// record, unchanged, when asked to (ARGV 9): a write of this connection
// now, and since replication is in order, a replica that acknowledged it
// holds everything before it, the original order included.
//
// The script is addressed by its digest first; after a Redis restart
// (NOSCRIPT: nothing ran) the pipeline is sent again with its source.
//
// In a Redis Cluster the pipeline goes to the slot's master directly,
// which does not follow redirects: an answer that the slot is elsewhere
// or moving (MOVED, ASK, TRYAGAIN, CLUSTERDOWN: the script did not run)
// reloads the slot map and tries again, a few times; any failure reloads
// it, so that the next order after a failover finds the new master.
func (q RedisQueue) runDurably(ctx context.Context, keys []string, args []any) ([]string, error) {
	var res []string
	var acked int
	var err error
	for attempt := 1; ; attempt++ {
		res, acked, err = q.scriptThenWait(ctx, enqueue.EvalSha, keys, args)
		if isNoScript(err) {
			res, acked, err = q.scriptThenWait(ctx, enqueue.Eval, keys, args)
		}
		cc, clustered := q.RDB.(*redis.ClusterClient)
		if err == nil || !clustered {
			break
		}
		cc.ReloadState(ctx)
		if !notRun(err) || attempt == 5 || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(attempt) * 50 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	if res[0] != "limited" && acked < q.Durability.MinReplicas {
		return nil, &NotDurableError{Acked: acked, Wanted: q.Durability.MinReplicas, Timeout: q.Durability.Timeout}
	}
	return res, nil
}

func (q RedisQueue) scriptThenWait(ctx context.Context, run scriptRunner, keys []string, args []any) ([]string, int, error) {
	node, err := q.nodeOf(ctx, keys[0])
	if err != nil {
		return nil, 0, err
	}
	var script *redis.Cmd
	// Pipeliner has no Wait method; the command is the same.
	wait := redis.NewIntCmd(ctx, "wait", q.Durability.MinReplicas, q.Durability.Timeout.Milliseconds())
	_, _ = node.Pipelined(ctx, func(p redis.Pipeliner) error {
		script = run(ctx, p, keys, args...)
		_ = p.Process(ctx, wait) // queues; errors arrive on the command
		return nil
	})
	res, err := script.StringSlice()
	if err != nil {
		return nil, 0, err
	}
	acked, err := wait.Result()
	if err != nil {
		return nil, 0, fmt.Errorf("wait for replicas: %w", err)
	}
	return res, int(acked), nil
}

// nodeOf is the client WAIT must go through: in a Redis Cluster, the
// master of key's slot (a cluster client would send a keyless WAIT to any
// node); otherwise the client itself.
func (q RedisQueue) nodeOf(ctx context.Context, key string) (redis.Cmdable, error) {
	cc, ok := q.RDB.(*redis.ClusterClient)
	if !ok {
		return q.RDB, nil
	}
	node, err := cc.MasterForKey(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("find the cluster master of %s: %w", key, err)
	}
	return node, nil
}

// notRun: the cluster node refused the command without running it.
func notRun(err error) bool {
	for _, prefix := range []string{"MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"} {
		if redis.HasErrorPrefix(err, prefix) {
			return true
		}
	}
	return false
}

func isNoScript(err error) bool {
	return err != nil && (errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT"))
}
