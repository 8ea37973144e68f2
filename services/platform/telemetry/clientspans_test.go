package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/postgres"
	"github.com/goshop-platform/shop/services/platform/redisconn"
	"github.com/goshop-platform/shop/services/platform/telemetry"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// recordSpans installs a tracer provider that keeps finished spans in memory.
func recordSpans(t *testing.T) *tracetest.SpanRecorder {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prev); otel.SetTextMapPropagator(prevProp) })
	return rec
}

// clientSpans runs call once outside any trace and once inside a parent
// span, and returns the names of the spans that are children of the parent
// and how many spans were recorded without one.
func clientSpans(t *testing.T, rec *tracetest.SpanRecorder, call func(ctx context.Context)) (children []string, orphans int) {
	t.Helper()
	call(context.Background())
	ctx, parent := otel.Tracer("test").Start(context.Background(), "parent")
	call(ctx)
	parent.End()
	for _, s := range rec.Ended() {
		switch {
		case s.Name() == "parent":
		case s.Parent().SpanID() == parent.SpanContext().SpanID():
			children = append(children, s.Name())
		default:
			orphans++
		}
	}
	return children, orphans
}

func TestPostgresQueriesAreSpannedOnlyInsideATrace(t *testing.T) {
	rec := recordSpans(t)
	cfg := postgres.DefaultConfig()
	cfg.URL = config.Secret(testenv.Database(t))
	db, err := postgres.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	children, orphans := clientSpans(t, rec, func(ctx context.Context) {
		var n int
		if err := db.QueryRow(ctx, "SELECT 1 + $1::int", 41).Scan(&n); err != nil || n != 42 {
			t.Fatalf("query: %v %d", err, n)
		}
	})
	if orphans != 0 || !contains(children, "SELECT") {
		t.Fatalf("want a SELECT span under the parent and none outside; children %v, orphans %d", children, orphans)
	}
}

func TestRedisCommandsAreSpannedOnlyInsideATrace(t *testing.T) {
	rec := recordSpans(t)
	cfg := redisconn.DefaultConfig()
	cfg.URL = config.Secret(testenv.Redis(t))
	rdb, err := redisconn.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	children, orphans := clientSpans(t, rec, func(ctx context.Context) {
		if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		pipe := rdb.Pipeline()
		pipe.Get(ctx, "k")
		pipe.Get(ctx, "missing")
		_, _ = pipe.Exec(ctx)
	})
	if orphans != 0 || !contains(children, "set") || !contains(children, "redis pipeline") {
		t.Fatalf("want set and pipeline spans under the parent and none outside; children %v, orphans %d", children, orphans)
	}
	for _, s := range rec.Ended() {
		if s.Status().Code != 0 && s.Name() == "redis pipeline" {
			t.Fatalf("a missing key (redis.Nil) marked the pipeline span failed: %v", s.Status())
		}
	}
}

func TestTransportPropagatesContextInsideATraceOnly(t *testing.T) {
	rec := recordSpans(t)
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("traceparent"))
	}))
	defer srv.Close()
	client := &http.Client{Transport: telemetry.Transport()}
	children, orphans := clientSpans(t, rec, func(ctx context.Context) {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
	if orphans != 0 || len(children) != 1 {
		t.Fatalf("want one client span under the parent and none outside; children %v, orphans %d", children, orphans)
	}
	if len(seen) != 2 || seen[0] != "" || seen[1] == "" {
		t.Fatalf("traceparent headers seen by the server: %q (want none outside the trace, one inside)", seen)
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
