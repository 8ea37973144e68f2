package order

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/platform/benchreport"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// scriptParts build the intake script up one guarantee at a time (each
// with the commands the script runs for it), so that `make bench` shows
// what each costs Redis. ARGV as the intake script's.
var scriptParts = []struct{ name, src string }{
	{"Lua around the XADD (the price of one atomic step)", `redis.call('XADD', KEYS[4], '*', unpack(ARGV, 10))`},
	{"+ per-user limit (INCR, PEXPIRE once per window)", partLimit + `redis.call('XADD', KEYS[4], '*', unpack(ARGV, 10))`},
	{"+ pending record (HSET, PEXPIRE)", partLimit + `redis.call('XADD', KEYS[4], '*', unpack(ARGV, 10))` + partPending},
	{"+ the user's pending index (ZADD, PEXPIRE)", partLimit + `redis.call('XADD', KEYS[4], '*', unpack(ARGV, 10))` + partPending + partIndex},
}

const (
	partLimit = `local n = redis.call('INCR', KEYS[5])
if n == 1 then redis.call('PEXPIRE', KEYS[5], ARGV[8]) end
if n > tonumber(ARGV[7]) then return {'limited', ''} end
`
	partPending = `
redis.call('HSET', KEYS[2], unpack(ARGV, 10))
redis.call('PEXPIRE', KEYS[2], ARGV[5])`
	partIndex = `
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[5])`
)

// BenchmarkIntakeScriptParts measures Redis' CPU per order for a bare
// XADD, for the intake script built up one guarantee at a time, and for
// the intake script itself without and with an idempotency key: 50 orders
// per pipeline (so that the network and the event loop, which a bare XADD
// pays too, weigh little), 50 users, best of three rounds.
func BenchmarkIntakeScriptParts(b *testing.B) {
	url := testenv.Redis(b)
	opt, err := redis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		b.Fatal(err)
	}
	rds := benchreport.ProcessTree{Roots: []int{benchreport.RedisProcess(info)}}
	if rds.Roots[0] == 0 {
		b.Skip("Redis is not a local process: its CPU cannot be read")
	}
	q := RedisQueue{RDB: rdb, IdempotencyTTL: time.Hour, PendingTTL: time.Hour, PerUserLimit: 1 << 30, PerUserWindow: time.Minute}
	type variant struct {
		name string
		add  func(p redis.Pipeliner, m orderstream.Message, i int)
	}
	variants := []variant{{"bare XADD (no Lua)", func(p redis.Pipeliner, m orderstream.Message, _ int) {
		p.XAdd(ctx, &redis.XAddArgs{Stream: q.keys().Stream(0), Values: m.AppendFields(nil)})
	}}}
	for _, part := range scriptParts {
		s := redis.NewScript(part.src + "\nreturn {'new', ''}")
		if err := s.Load(ctx, rdb).Err(); err != nil {
			b.Fatal(err)
		}
		variants = append(variants, variant{part.name, func(p redis.Pipeliner, m orderstream.Message, _ int) {
			s.EvalSha(ctx, p, q.scriptKeys(m, ""), q.scriptArgs(m, false, "")...)
		}})
	}
	if err := enqueue.Load(ctx, rdb).Err(); err != nil {
		b.Fatal(err)
	}
	variants = append(variants,
		variant{"the intake script (all of the above)", func(p redis.Pipeliner, m orderstream.Message, _ int) {
			enqueue.EvalSha(ctx, p, q.scriptKeys(m, ""), q.scriptArgs(m, false, "")...)
		}},
		variant{"the intake script with an idempotency key (+ GET, SET)", func(p redis.Pipeliner, m orderstream.Message, i int) {
			key := fmt.Sprintf("bench-%d", i)
			enqueue.EvalSha(ctx, p, q.scriptKeys(m, key), q.scriptArgs(m, true, "hash")...)
		}})
	orders, rounds := benchreport.Pick(60000, 500), benchreport.Pick(3, 1)
	best := make([]float64, len(variants))
	for range rounds {
		for v, vr := range variants {
			cpu := rds.CPU()
			for i := 0; i < orders; i += 50 {
				p := rdb.Pipeline()
				for j := range 50 {
					m := orderstream.Message{OrderID: uuid.New(), UserID: int64(1 + j), AcceptedAt: time.Now(),
						Items: []orderstream.Item{{ProductID: 1, Quantity: 2}, {ProductID: 7, Quantity: 1}}}
					vr.add(p, m, i+j)
				}
				if _, err := p.Exec(ctx); err != nil {
					b.Fatalf("%s: %v", vr.name, err)
				}
			}
			if us := (rds.CPU() - cpu) / float64(orders) * 1e6; best[v] == 0 || us < best[v] {
				best[v] = us
			}
			if err := rdb.FlushDB(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
	}
	for v, vr := range variants {
		if err := benchreport.Record(benchreport.Row{Section: "intake script", Name: "Redis CPU per order: " + vr.name,
			Value: best[v], Unit: "µs", Baseline: best[0], Against: "bare XADD"}); err != nil {
			b.Fatal(err)
		}
	}
}
