package app_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/api/internal/app"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/benchreport"
	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/telemetry"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// BenchmarkIntakeInProcess serves POST /api/v1/orders through the api's
// whole router in this process (every middleware, the token check, strict
// decoding, the intake script on a real Redis), without the network, 16
// requests at a time, with and without the intake pipelines: the api's own
// CPU and allocations per order, and Redis' CPU per order. For a profile:
//
//	go test ./internal/app -run '^$' -bench IntakeInProcess -benchtime 1x -cpuprofile cpu.out -memprofile mem.out
func BenchmarkIntakeInProcess(b *testing.B) {
	orders := benchreport.Pick(20000, 500)
	for _, pipelines := range []int{0, 4} {
		cpu, allocs, redisCPU := intakeInProcess(b, pipelines, orders)
		name := fmt.Sprintf("in-process intake, intakePipelines=%d", pipelines)
		record(b, benchreport.Row{Section: "intake", Name: name + ": api CPU per order", Value: cpu, Unit: "µs"})
		record(b, benchreport.Row{Section: "intake", Name: name + ": allocations per order", Value: allocs, Unit: "allocs"})
		if redisCPU > 0 {
			record(b, benchreport.Row{Section: "intake", Name: name + ": Redis CPU per order", Value: redisCPU, Unit: "µs"})
		}
	}
}

func intakeInProcess(b *testing.B, pipelines, orders int) (cpu, allocs, redisCPU float64) {
	redisURL := testenv.Redis(b)
	spec, _ := testSpec(b, schematest.MigratedDatabase(b), redisURL)
	spec.RateLimit.OrdersPerUser = 1 << 30
	spec.Orders.IntakePipelines = pipelines
	doc := &config.Document[apiconfig.Spec]{APIVersion: apiconfig.Loader.APIVersion, Kind: apiconfig.Loader.Kind, Spec: spec}
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn) // as the api process of BenchmarkIntakeVsBareXADD: no access log
	a, err := app.New(b.Context(), doc, telemetry.NewLogger(&testenv.LogBuffer{}, "api", level))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	if err := a.BootstrapAdmin(context.Background(), spec.Auth.BootstrapAdmin); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(a.Server.Router)
	defer srv.Close()
	e := &env{t: b, base: srv.URL, spec: spec, db: a.DB, rdb: a.Redis}
	token, _ := e.customer(fmt.Sprintf("profile-%d@example.com", pipelines))
	body := []byte(`{"items":[{"product_id":1,"quantity":2},{"product_id":7,"quantity":1}]}`)
	serve := func() {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/orders", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		a.Server.Router.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted {
			b.Errorf("status %d: %s", w.Code, w.Body)
		}
	}
	serve() // the script is loaded, the token verified once
	rds := benchreport.ProcessTree{Roots: []int{redisProcess(b, redisURL)}}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0, redis0 := ownCPU(), rds.CPU()
	var wg sync.WaitGroup
	const concurrency = 16
	for w := range concurrency {
		wg.Go(func() {
			for i := w; i < orders; i += concurrency {
				serve()
			}
		})
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	n := float64(orders)
	// The requests and recorders this harness builds are counted too (a
	// few allocations), the network server's reading and writing are not.
	cpu, allocs = (ownCPU()-cpu0)/n*1e6, float64(after.Mallocs-before.Mallocs)/n
	if rds.Roots[0] != 0 {
		redisCPU = (rds.CPU() - redis0) / n * 1e6
	}
	return cpu, allocs, redisCPU
}

// ownCPU is this process' user+system CPU seconds (its children, the test
// servers, not included).
func ownCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
