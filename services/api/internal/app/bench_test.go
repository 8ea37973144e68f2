package app_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

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
	targets := []struct{ name, url string }{{"api", api.base}, {"bare XADD", baseline}}
	idle, _ := benchreport.RSS(api.cmd.Process.Pid)
	idleAnon, _ := benchreport.Anon(api.cmd.Process.Pid)
	b.ResetTimer()
	const workers = 16
	dur := benchreport.Pick(5*time.Second, time.Second)
	maxRate := map[string]vegeta.Metrics{}
	for _, tg := range targets {
		maxRate[tg.name] = attack(tg.url, hdr, body, vegeta.Rate{}, dur, workers)
	}
	loaded, _ := benchreport.RSS(api.cmd.Process.Pid)
	record(b, benchreport.Row{Section: "intake", Name: fmt.Sprintf("max throughput (closed model, %d workers)", workers),
		Value: maxRate["api"].Throughput, Unit: "req/s", Baseline: maxRate["bare XADD"].Throughput, Against: "bare XADD handler", Target: ">= 0.7"})
	for _, rate := range benchreport.Pick([]int{500, 1000, 2000}, []int{500}) {
		m := map[string]vegeta.Metrics{}
		for _, tg := range targets {
			m[tg.name] = attack(tg.url, hdr, body, vegeta.Rate{Freq: rate, Per: time.Second}, benchreport.Pick(4*time.Second, time.Second), workers)
		}
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
	size, _ := benchreport.FileMB(apiBinary(b))
	record(b, benchreport.Row{Section: "footprint", Name: "api start-to-ready (±20 ms poll)", Value: ready.Seconds(), Unit: "s", Target: "<= 1"})
	record(b, benchreport.Row{Section: "footprint", Name: "api binary", Value: size, Unit: "MB"})
	record(b, benchreport.Row{Section: "footprint", Name: "api RSS idle", Value: idle, Unit: "MB", Target: "<= 25"})
	record(b, benchreport.Row{Section: "footprint", Name: "  of which private (heap, stacks, runtime)", Value: idleAnon, Unit: "MB"})
	record(b, benchreport.Row{Section: "footprint", Name: "api RSS after max-throughput load", Value: loaded, Unit: "MB"})
	_ = os.Stdout.Sync()
}

func attack(base string, hdr http.Header, body []byte, rate vegeta.Rate, dur time.Duration, workers uint64) vegeta.Metrics {
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: "POST", URL: base + "/api/v1/orders", Body: body, Header: hdr})
	opts := []func(*vegeta.Attacker){vegeta.Workers(workers), vegeta.KeepAlive(true), vegeta.Timeout(10 * time.Second)}
	if rate.Freq == 0 {
		opts = append(opts, vegeta.MaxWorkers(workers))
	}
	var m vegeta.Metrics
	for res := range vegeta.NewAttacker(opts...).Attack(tr, rate, dur, "intake") {
		m.Add(res)
	}
	m.Close()
	return m
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
	common := []string{"API_TELEMETRY_LOG_LEVEL=warn", "API_RATE_LIMIT_ORDERS_PER_USER=100000000", "API_RATE_LIMIT_REGISTER_PER_IP=1000"}
	modes := []struct{ name, base string }{
		{"none", startProc(b, processEnv(dbURL, primary.URL(), keys, append(common, "API_ORDERS_DURABILITY=none")...)).base},
		{"replica", startProc(b, processEnv(dbURL, primary.URL(), keys, append(common, "API_ORDERS_DURABILITY=replica")...)).base},
	}
	expect(b, call(b, modes[0].base, req{method: "POST", path: "/api/v1/auth/register",
		body: map[string]string{"email": "durable@example.com", "password": "bench-password"}}), 201)
	var s session
	expect(b, call(b, modes[0].base, req{method: "POST", path: "/api/v1/auth/login",
		body: map[string]string{"email": "durable@example.com", "password": "bench-password"}}), 200).json(b, &s)
	body := []byte(`{"items":[{"product_id":1,"quantity":2},{"product_id":7,"quantity":1}]}`)
	hdr := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + s.AccessToken}}
	const workers = 16
	b.ResetTimer()
	peak := map[string]vegeta.Metrics{}
	for _, m := range modes {
		peak[m.name] = attack(m.base, hdr, body, vegeta.Rate{}, benchreport.Pick(5*time.Second, time.Second), workers)
	}
	record(b, benchreport.Row{Section: "intake", Name: fmt.Sprintf("durability replica: max throughput (%d workers)", workers),
		Value: peak["replica"].Throughput, Unit: "req/s", Baseline: peak["none"].Throughput, Against: "durability none"})
	for i, rate := range benchreport.Pick([]int{500, 1000, 2000}, []int{500}) {
		got := map[string]vegeta.Metrics{}
		for j := range modes {
			m := modes[(i+j)%len(modes)] // alternate which mode goes first
			got[m.name] = attack(m.base, hdr, body, vegeta.Rate{Freq: rate, Per: time.Second}, benchreport.Pick(4*time.Second, time.Second), workers)
		}
		recordDurability(b, rate, got["replica"], got["none"])
	}
	b.StopTimer()
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
