package order

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

// RedisQueue enqueues onto the new_orders stream. The idempotency check,
// the stream entry and the pending-status record are written by one Lua
// script, so concurrent retries with one key produce exactly one entry and
// no crash can leave a key without its order.
type RedisQueue struct {
	RDB redis.UniversalClient
	// Keys names the stream, pending records and per-user keys; the zero
	// value is orderstream.Single.
	Keys           orderstream.Keyspace
	IdempotencyTTL time.Duration
	PendingTTL     time.Duration
	// PerUserLimit orders per PerUserWindow and user; the count is kept in
	// the same script, so the limit costs no extra round trip.
	PerUserLimit  int
	PerUserWindow time.Duration
	// Durability: the zero value answers once the primary has the order;
	// see Durability for waiting for replicas.
	Durability Durability
	// Batch, when set, sends concurrent orders' scripts in shared
	// pipelines (not with Durability, whose WAIT is per connection).
	Batch *Batcher
}

// KEYS: 1 idempotency key (or a dummy), 2 pending record, 3 user's pending
// set, 4 stream, 5 the user's rate counter. ARGV: 1 "1" when idempotent,
// 2 body hash, 3 order id, 4 idempotency ttl ms, 5 pending ttl ms,
// 6 accepted ms, 7 per-user limit, 8 its window ms, 9 "1" when the caller
// waits for replicas (a replay then re-sets its record: see runDurably),
// 10.. stream fields. A replay of an idempotent request does not count
// against the limit.
var enqueue = redis.NewScript(`
if ARGV[1] == '1' then
  local prev = redis.call('GET', KEYS[1])
  if prev then
    if ARGV[9] == '1' then redis.call('SET', KEYS[1], prev, 'KEEPTTL') end
    return {'dup', prev}
  end
end
local n = redis.call('INCR', KEYS[5])
if n == 1 then redis.call('PEXPIRE', KEYS[5], ARGV[8]) end
if n > tonumber(ARGV[7]) then return {'limited', tostring(redis.call('PTTL', KEYS[5]))} end
redis.call('XADD', KEYS[4], '*', unpack(ARGV, 10))
redis.call('HSET', KEYS[2], unpack(ARGV, 10))
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
if ARGV[1] == '1' then
  redis.call('SET', KEYS[1], ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[6], 'PX', ARGV[4])
end
return {'new', ''}`)

// Enqueue implements Queue.
func (q RedisQueue) Enqueue(ctx context.Context, m orderstream.Message, idemKey, bodyHash string) (*Accepted, string, error) {
	res, err := q.run(ctx, q.scriptKeys(m, idemKey), q.scriptArgs(m, idemKey != "", bodyHash))
	if err != nil {
		return nil, "", err
	}
	switch res[0] {
	case "limited":
		ms, _ := strconv.ParseInt(res[1], 10, 64)
		return nil, "", &RateLimitedError{RetryAfter: time.Duration(max(ms, 1000)) * time.Millisecond}
	case "dup":
		return replayed(res[1])
	}
	return nil, "", nil
}

// scriptKeys are the intake script's KEYS (see enqueue), all in the
// partition of the order's user: one hash slot in a Redis Cluster. The
// pending record and the user's pending set are the shared contract with
// order-worker, which removes them once it has decided the order.
func (q RedisQueue) scriptKeys(m orderstream.Message, idemKey string) []string {
	k, p := q.keys(), q.keys().OfUser(m.UserID)
	idem := k.UserKey("order:idem", p, 0) + ":none"
	if idemKey != "" {
		sum := sha256.Sum256([]byte(idemKey))
		idem = k.UserKey("order:idem", p, m.UserID) + ":" + hex.EncodeToString(sum[:])
	}
	return []string{idem, k.PendingKey(p, m.OrderID), k.UserPendingKey(p, m.UserID), k.Stream(p),
		k.UserKey("ratelimit:orders:user", p, m.UserID)}
}

func (q RedisQueue) keys() orderstream.Keyspace {
	if q.Keys.Partitions == 0 {
		return orderstream.Single
	}
	return q.Keys
}

// scriptArgs are the intake script's ARGV (see enqueue).
func (q RedisQueue) scriptArgs(m orderstream.Message, idempotent bool, bodyHash string) []any {
	keyed := "0"
	if idempotent {
		keyed = "1"
	}
	durable := "0"
	if q.Durability.MinReplicas > 0 {
		durable = "1"
	}
	args := make([]any, 0, 9+12)
	args = append(args, keyed, bodyHash, m.OrderID.String(), q.IdempotencyTTL.Milliseconds(), q.PendingTTL.Milliseconds(),
		m.AcceptedAt.UnixMilli(), q.PerUserLimit, q.PerUserWindow.Milliseconds(), durable)
	return m.AppendFields(args)
}

// replayed reads an idempotency record: body hash|order id|accepted ms.
func replayed(rec string) (*Accepted, string, error) {
	var hash, id, ms string
	if n, _ := fmt.Sscanf(replaceBars(rec), "%s %s %s", &hash, &id, &ms); n != 3 {
		return nil, "", fmt.Errorf("corrupt idempotency record %q", rec)
	}
	oid, err := uuid.Parse(id)
	if err != nil {
		return nil, "", fmt.Errorf("corrupt idempotency record %q", rec)
	}
	msec, _ := strconv.ParseInt(ms, 10, 64)
	return &Accepted{ID: oid, AcceptedAt: time.UnixMilli(msec).UTC()}, hash, nil
}

// run runs the intake script, and waits for replicas when Durability asks.
func (q RedisQueue) run(ctx context.Context, keys []string, args []any) ([]string, error) {
	if q.Durability.MinReplicas > 0 {
		return q.runDurably(ctx, keys, args)
	}
	if q.Batch != nil {
		return q.Batch.run(ctx, keys, args)
	}
	return enqueue.Run(ctx, q.RDB, keys, args...).StringSlice()
}

func replaceBars(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == '|' {
			b[i] = ' '
		}
	}
	return string(b)
}

// Pending returns the pending record of an order, or ErrNotFound.
func (q RedisQueue) Pending(ctx context.Context, id uuid.UUID) (*Order, error) {
	fields, err := q.RDB.HGetAll(ctx, q.keys().PendingKey(q.keys().OfOrder(id), id)).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrQueueUnavailable, err)
	}
	if len(fields) == 0 {
		return nil, ErrNotFound
	}
	m := make(map[string]any, len(fields))
	for k, v := range fields {
		m[k] = v
	}
	msg, err := orderstream.Decode(m)
	if err != nil {
		return nil, fmt.Errorf("pending record of order %s: %w", id, err)
	}
	return pendingOrder(msg), nil
}

// PendingOfUser lists the user's orders still pending, newest first.
func (q RedisQueue) PendingOfUser(ctx context.Context, uid int64) ([]Order, error) {
	set := q.keys().UserPendingKey(q.keys().OfUser(uid), uid)
	ids, err := q.RDB.ZRangeArgs(ctx, redis.ZRangeArgs{Key: set, Start: 0, Stop: 199, Rev: true}).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrQueueUnavailable, err)
	}
	out := []Order{}
	for _, s := range ids {
		id, err := uuid.Parse(s)
		if err != nil {
			continue
		}
		o, err := q.Pending(ctx, id)
		if errors.Is(err, ErrNotFound) {
			q.RDB.ZRem(ctx, set, s) // expired record: tidy the index
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *o)
	}
	return out, nil
}

func pendingOrder(m orderstream.Message) *Order {
	lines := make([]Line, len(m.Items))
	for i, it := range m.Items {
		lines[i] = Line{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return &Order{ID: m.OrderID, UserID: m.UserID, Status: StatusPending, Items: lines, AcceptedAt: m.AcceptedAt}
}
