package app_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/goshop-platform/shop/services/platform/testenv"
)

var (
	baselineOnce sync.Once
	baselinePath string
	baselineErr  error
)

func baselineBinary(t testing.TB) string {
	baselineOnce.Do(func() {
		baselinePath = filepath.Join(filepath.Dir(apiBinary(t)), "xaddbaseline")
		if out, err := exec.Command("go", "build", "-o", baselinePath, "../bench/xaddbaseline").CombinedOutput(); err != nil {
			baselineErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if baselineErr != nil {
		t.Fatal(baselineErr)
	}
	return baselinePath
}

// BenchmarkIntakeVsBareXADD measures POST /api/v1/orders of a real api
// process next to a bare Go handler that only decodes the body and XADDs
// the same fields (the physical limit of "HTTP in, Redis stream out" on
// this machine), with the same load tool and concurrency in the same run:
// maximum throughput, then latency at fixed rates. Run with `make bench`.
func BenchmarkIntakeVsBareXADD(b *testing.B) {
	redisURL := testenv.Redis(b)
	keys := b.TempDir()
	writeKey(b, keys, "k1")
	api := startProc(b, processEnv(testenv.MigratedDatabase(b), redisURL, keys, "API_TELEMETRY_LOG_LEVEL=warn",
		"API_RATE_LIMIT_ORDERS_PER_USER=100000000", "API_RATE_LIMIT_REGISTER_PER_IP=1000"))
	expect(b, call(b, api.base, req{method: "POST", path: "/api/v1/auth/register",
		body: map[string]string{"email": "bench@example.com", "password": "bench-password"}}), 201)
	var s session
	expect(b, call(b, api.base, req{method: "POST", path: "/api/v1/auth/login",
		body: map[string]string{"email": "bench@example.com", "password": "bench-password"}}), 200).json(b, &s)

	port := testenv.FreePort(b)
	bl := exec.Command(baselineBinary(b), fmt.Sprintf("127.0.0.1:%d", port), redisURL)
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
	b.ResetTimer()
	const workers = 16
	maxRate := map[string]float64{}
	for _, tg := range targets {
		m := attack(tg.url, hdr, body, vegeta.Rate{}, 5*time.Second, workers)
		maxRate[tg.name] = m.Throughput
		fmt.Printf("intake max  %-10s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  success %.4f  (%d workers, closed model)\n",
			tg.name, m.Throughput, ms(m.Latencies.P50), ms(m.Latencies.P99), m.Success, workers)
	}
	ratio := maxRate["api"] / maxRate["bare XADD"]
	fmt.Printf("intake ratio api / bare XADD = %.2f\n", ratio)
	b.ReportMetric(maxRate["api"], "api-req/s")
	b.ReportMetric(maxRate["bare XADD"], "xadd-req/s")
	b.ReportMetric(ratio, "ratio")
	for _, rate := range []int{500, 1000, 2000} {
		for _, tg := range targets {
			m := attack(tg.url, hdr, body, vegeta.Rate{Freq: rate, Per: time.Second}, 4*time.Second, workers)
			fmt.Printf("intake @%-5d %-10s p50 %6.2f ms  p99 %6.2f ms  success %.4f  achieved %7.0f req/s\n",
				rate, tg.name, ms(m.Latencies.P50), ms(m.Latencies.P99), m.Success, m.Throughput)
		}
	}
	b.StopTimer()
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
