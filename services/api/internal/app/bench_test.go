package app_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/benchreport"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// BenchmarkIntakeVsBareXADD measures POST /api/v1/orders of a real api
// process next to a bare Go handler that only decodes the body and XADDs
// the same fields (the physical limit of "HTTP in, Redis stream out" on
// this machine), with the same load tool and concurrency in the same run:
// maximum throughput, then latency at fixed rates. Run with `make bench`.
func BenchmarkIntakeVsBareXADD(b *testing.B) {
	redisURL := testenv.Redis(b)
	keys := b.TempDir()
	writeKey(b, keys, "k1")
	apiBinary(b) // build first: only the start is timed
	env := processEnv(schematest.MigratedDatabase(b), redisURL, keys, "API_TELEMETRY_LOG_LEVEL=warn",
		"API_RATE_LIMIT_ORDERS_PER_USER=100000000", "API_RATE_LIMIT_REGISTER_PER_IP=1000")
	began := time.Now()
	api := startProc(b, env)
	ready := time.Since(began)
	expect(b, call(b, api.base, req{method: "POST", path: "/api/v1/auth/register",
		body: map[string]string{"email": "bench@example.com", "password": "bench-password"}}), 201)
	var s session
	expect(b, call(b, api.base, req{method: "POST", path: "/api/v1/auth/login",
		body: map[string]string{"email": "bench@example.com", "password": "bench-password"}}), 200).json(b, &s)

	port := testenv.FreePort(b)
	bl := exec.Command(testenv.Binary(b, "../bench/xaddbaseline"), fmt.Sprintf("127.0.0.1:%d", port), redisURL)
	if err := bl.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bl.Process.Kill(); _ = bl.Wait() })
	baseline := fmt.Sprintf("http://127.0.0.1:%d", port)
	eventually(b, 10*time.Second, "baseline ready", func() bool {
		r, err := http.Get(baseline + "/readyz")
		if err == nil {
			r.Body.Close()
		}
		return err == nil
	})

	body := []byte(`{"items":[{"product_id":1,"quantity":2},{"product_id":7,"quantity":1}]}`)
	hdr := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + s.AccessToken}}
	targets := []target{{api.base, api.cmd.Process.Pid}, {baseline, bl.Process.Pid}}
	redisPID := redisProcess(b, redisURL)
	idle, _ := benchreport.RSS(api.cmd.Process.Pid)
	idleAnon, _ := benchreport.Anon(api.cmd.Process.Pid)
	rdb := benchRedis(b, redisURL)
	rewrites, start := 0, drainRedis(b, rdb) // AOF rewrites during the phases
	b.ResetTimer()
	const workers = 16
	// Five 1 s slices each, api and bare handler in turn (interleave).
	rounds, slice := benchreport.Pick(5, 1), time.Second
	peak := interleave(targets, redisPID, hdr, body, vegeta.Rate{}, rounds, slice, workers)
	rewrites += aofRewrites(b, rdb) - start
	loaded, _ := benchreport.RSS(api.cmd.Process.Pid)
	apiPeak, bare := peak[0], peak[1]
	record(b, benchreport.Row{Section: "intake", Name: fmt.Sprintf("max throughput (closed model, %d workers, %d interleaved 1 s slices each)", workers, rounds),
		Value: apiPeak.throughput(), Unit: "req/s", Baseline: bare.throughput(), Against: "bare XADD handler", Target: ">= 0.7"})
	// CPU per order of the api and of Redis (the capacity model's inputs,
	// docs/capacity.md); a Redis in a container is not measured (0).
	record(b, benchreport.Row{Section: "intake", Name: "  api process CPU per order (at max throughput)",
		Value: apiPeak.perOrder(apiPeak.cpu), Unit: "µs", Baseline: bare.perOrder(bare.cpu), Against: "bare XADD handler"})
	if redisPID != 0 {
		record(b, benchreport.Row{Section: "intake", Name: "  Redis CPU per order (at max throughput)",
			Value: apiPeak.perOrder(apiPeak.rds), Unit: "µs", Baseline: bare.perOrder(bare.rds), Against: "bare XADD handler"})
	}
	// The load generator shares the 2 cores: its cost per order is part
	// of the ratio (it parses the api's longer answer: security headers,
	// Location, Vary, X-Request-Id).
	record(b, benchreport.Row{Section: "intake", Name: "  load generator CPU per order (at max throughput)",
		Value: apiPeak.perOrder(apiPeak.gen), Unit: "µs", Baseline: bare.perOrder(bare.gen), Against: "bare XADD handler"})
	for _, rate := range benchreport.Pick([]int{500, 1000, 2000}, []int{500}) {
		start = drainRedis(b, rdb)
		at := interleave(targets, redisPID, hdr, body, vegeta.Rate{Freq: rate, Per: time.Second}, benchreport.Pick(4, 1), slice, workers)
		rewrites += aofRewrites(b, rdb) - start
		m := map[string]vegeta.Metrics{"api": at[0].m, "bare XADD": at[1].m}
		for _, q := range []struct {
			name string
			get  func(vegeta.Metrics) time.Duration
		}{{"p50", func(m vegeta.Metrics) time.Duration { return m.Latencies.P50 }}, {"p99", func(m vegeta.Metrics) time.Duration { return m.Latencies.P99 }}} {
			record(b, benchreport.Row{Section: "intake", Name: fmt.Sprintf("%s at %d req/s (api success %.3f)", q.name, rate, m["api"].Success),
				Value: ms(q.get(m["api"])), Unit: "ms", Baseline: ms(q.get(m["bare XADD"])), Against: "bare XADD handler"})
		}
		if rate == 2000 {
			record(b, benchreport.Row{Section: "intake", Name: "api p99 at 2000 req/s (target)", Value: ms(m["api"].Latencies.P99), Unit: "ms", Target: "<= 5"})
		}
	}
	b.StopTimer()
	record(b, benchreport.Row{Section: "intake", Name: "Redis AOF rewrites during the measurements (each stalls the 2 cores)",
		Value: float64(rewrites), Unit: "", Target: "<= 0"})
	size, _ := benchreport.FileMB(apiBinary(b))
	record(b, benchreport.Row{Section: "footprint", Name: "api start-to-ready (±20 ms poll)", Value: ready.Seconds(), Unit: "s", Target: "<= 1"})
	record(b, benchreport.Row{Section: "footprint", Name: "api binary", Value: size, Unit: "MB"})
	record(b, benchreport.Row{Section: "footprint", Name: "api RSS idle", Value: idle, Unit: "MB", Target: "<= 25"})
	record(b, benchreport.Row{Section: "footprint", Name: "  of which private (heap, stacks, runtime)", Value: idleAnon, Unit: "MB"})
	record(b, benchreport.Row{Section: "footprint", Name: "api RSS after max-throughput load", Value: loaded, Unit: "MB"})
	_ = os.Stdout.Sync()
}

func attack(base string, hdr http.Header, body []byte, rate vegeta.Rate, dur time.Duration, workers uint64) vegeta.Metrics {
	var m vegeta.Metrics
	attackInto(&m, base, hdr, body, rate, dur, workers)
	m.Close()
	return m
}

// redisProcess is the local redis-server behind url (0: not a local process).
func redisProcess(b testing.TB, url string) int {
	info, err := benchRedis(b, url).Info(context.Background(), "server").Result()
	if err != nil {
		b.Fatal(err)
	}
	return benchreport.RedisProcess(info)
}

func benchRedis(b testing.TB, url string) *redis.Client {
	opt, err := redis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	c := redis.NewClient(opt)
	b.Cleanup(func() { _ = c.Close() })
	return c
}

// drainRedis empties the benchmark's Redis database and rewrites its AOF
// (waiting for the rewrite) before a phase, and returns the number of AOF
// rewrites so far. Nothing consumes the orders a benchmark enqueues, so
// its dataset grows by ~1 KB of AOF per order until Redis rewrites the AOF
// on its own: a fork and a child writing tens of MB on the 2 cores under
// measurement, stalling whichever target's slices it lands in (the api's
// p99 at 2,000/s went from ~3 to 30–60 ms in the runs where it happened).
// In production order-worker deletes what it decides and trims the
// stream, so the dataset stays small.
func drainRedis(b *testing.B, rdb *redis.Client) int {
	ctx := context.Background()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		b.Fatal(err)
	}
	before := aofRewrites(b, rdb)
	if err := rdb.BgRewriteAOF(ctx).Err(); err != nil {
		b.Fatal(err)
	}
	eventually(b, 30*time.Second, "the AOF rewrite to finish", func() bool {
		info, err := rdb.Info(ctx, "persistence").Result()
		return err == nil && aofField(info, "aof_rewrite_in_progress") == 0 && aofField(info, "aof_rewrite_scheduled") == 0 &&
			aofField(info, "aof_rewrites") > before
	})
	return aofRewrites(b, rdb)
}

func aofRewrites(b *testing.B, rdb *redis.Client) int {
	info, err := rdb.Info(context.Background(), "persistence").Result()
	if err != nil {
		b.Fatal(err)
	}
	return aofField(info, "aof_rewrites")
}

func aofField(info, name string) int {
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return -1
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func record(b *testing.B, r benchreport.Row) {
	b.Helper()
	if err := benchreport.Record(r); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkIntakeDurability measures what `orders.durability: replica`
// costs at intake: two api processes on one Redis primary with one local
// replica, one answering once the primary has the order (none), the other
// once the replica acknowledged it too (WAIT), under the same load in the
// same run. Run with `make bench`.
func BenchmarkIntakeDurability(b *testing.B) {
	dbURL := schematest.MigratedDatabase(b)
	primary := testenv.NewRedisServer(b)
	testenv.NewRedisReplica(b, primary)
	keys := b.TempDir()
	writeKey(b, keys, "k1")
	apiBinary(b)
	modes := []intakeMode{
		{"none", startProc(b, processEnv(dbURL, primary.URL(), keys, append(benchEnv, "API_ORDERS_DURABILITY=none")...)).base},
		{"replica", startProc(b, processEnv(dbURL, primary.URL(), keys, append(benchEnv, "API_ORDERS_DURABILITY=replica")...)).base},
	}
	b.ResetTimer()
	peak, at := compareIntake(b, modes)
	b.StopTimer()
	record(b, benchreport.Row{Section: "intake", Name: fmt.Sprintf("durability replica: max throughput (%d workers)", intakeWorkers),
		Value: peak["replica"].Throughput, Unit: "req/s", Baseline: peak["none"].Throughput, Against: "durability none"})
	for rate, got := range at {
		recordDurability(b, rate, got["replica"], got["none"])
	}
}

// BenchmarkIntakeCluster measures intake on a 3-master Redis Cluster (3
// replicas, the stream in 8 partitions) next to one standalone Redis with
// one replica, two
// api processes under the same load in the same run. On this one machine
// the cluster adds processes, not cores: the figure is the price of the
// cluster client (slot routing, one connection pool per node), not its
// scale-out. Run with `make bench`.
func BenchmarkIntakeCluster(b *testing.B) {
	dbURL := schematest.MigratedDatabase(b)
	cluster := testenv.NewRedisCluster(b, 3)
	standalone := testenv.NewRedisServer(b) // with a replica too: the same work per write
	testenv.NewRedisReplica(b, standalone)
	keys := b.TempDir()
	writeKey(b, keys, "k1")
	apiBinary(b)
	modes := []intakeMode{
		{"standalone", startProc(b, processEnv(dbURL, standalone.URL(), keys, benchEnv...)).base},
		{"cluster", startProc(b, processEnv(dbURL, cluster.URL(), keys, append(benchEnv, "API_REDIS_MODE=cluster", "API_REDIS_PARTITIONS=8")...)).base},
	}
	b.ResetTimer()
	peak, at := compareIntake(b, modes)
	b.StopTimer()
	const name = "intake on Redis Cluster (3 masters, 8 partitions)"
	record(b, benchreport.Row{Section: "intake", Name: name + ": max throughput", Value: peak["cluster"].Throughput, Unit: "req/s",
		Baseline: peak["standalone"].Throughput, Against: "standalone Redis"})
	for rate, got := range at {
		record(b, benchreport.Row{Section: "intake", Name: fmt.Sprintf("%s: p99 at %d req/s (success %.3f)", name, rate, got["cluster"].Success),
			Value: ms(got["cluster"].Latencies.P99), Unit: "ms", Baseline: ms(got["standalone"].Latencies.P99), Against: "standalone Redis"})
	}
}

// benchEnv: quiet logs and limits out of the way of the load.
var benchEnv = []string{"API_TELEMETRY_LOG_LEVEL=warn", "API_RATE_LIMIT_ORDERS_PER_USER=100000000", "API_RATE_LIMIT_REGISTER_PER_IP=1000"}

const intakeWorkers = 16

// intakeMode is one api process of a comparison.
type intakeMode struct{ name, base string }

// compareIntake registers one customer (through the first mode: the modes
// share the database and signing keys) and loads every mode with the same
// order: maximum throughput, then each fixed rate, alternating which mode
// goes first. It returns the peak and the per-rate metrics by mode name.
func compareIntake(b *testing.B, modes []intakeMode) (map[string]vegeta.Metrics, map[int]map[string]vegeta.Metrics) {
	b.Helper()
	email := fmt.Sprintf("intake-%d@example.com", time.Now().UnixNano())
	expect(b, call(b, modes[0].base, req{method: "POST", path: "/api/v1/auth/register",
		body: map[string]string{"email": email, "password": "bench-password"}}), 201)
	var s session
	expect(b, call(b, modes[0].base, req{method: "POST", path: "/api/v1/auth/login",
		body: map[string]string{"email": email, "password": "bench-password"}}), 200).json(b, &s)
	body := []byte(`{"items":[{"product_id":1,"quantity":2},{"product_id":7,"quantity":1}]}`)
	hdr := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + s.AccessToken}}
	peak := map[string]vegeta.Metrics{}
	for _, m := range modes {
		peak[m.name] = attack(m.base, hdr, body, vegeta.Rate{}, benchreport.Pick(5*time.Second, time.Second), intakeWorkers)
	}
	at := map[int]map[string]vegeta.Metrics{}
	for i, rate := range benchreport.Pick([]int{500, 1000, 2000}, []int{500}) {
		at[rate] = map[string]vegeta.Metrics{}
		for j := range modes {
			m := modes[(i+j)%len(modes)]
			at[rate][m.name] = attack(m.base, hdr, body, vegeta.Rate{Freq: rate, Per: time.Second}, benchreport.Pick(4*time.Second, time.Second), intakeWorkers)
		}
	}
	return peak, at
}

// recordDurability records p50 and p99 of replica next to none at rate.
func recordDurability(b *testing.B, rate int, replica, none vegeta.Metrics) {
	b.Helper()
	name := fmt.Sprintf("durability replica: %%s at %d req/s (success %.3f)", rate, replica.Success)
	record(b, benchreport.Row{Section: "intake", Name: fmt.Sprintf(name, "p50"), Value: ms(replica.Latencies.P50), Unit: "ms",
		Baseline: ms(none.Latencies.P50), Against: "durability none"})
	record(b, benchreport.Row{Section: "intake", Name: fmt.Sprintf(name, "p99"), Value: ms(replica.Latencies.P99), Unit: "ms",
		Baseline: ms(none.Latencies.P99), Against: "durability none"})
	if rate == 2000 {
		record(b, benchreport.Row{Section: "intake", Name: "durability replica p99 at 2000 req/s (target)", Value: ms(replica.Latencies.P99), Unit: "ms", Target: "<= 5"})
	}
}
