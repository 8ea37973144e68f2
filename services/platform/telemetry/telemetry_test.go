package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/goshop-platform/shop/services/platform/telemetry"
)

func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		delete(rec, "time")
		out = append(out, rec)
	}
	return out
}

func TestLoggerAddsTraceIDs(t *testing.T) {
	traceID := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	spanID := trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	valid := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled,
	}))
	remote := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, Remote: true, // not sampled, still identifies the trace
	}))
	invalid := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		SpanID: spanID, // no trace id
	}))
	withIDs := map[string]any{"level": "INFO", "msg": "order accepted", "service": "api", "order": "o-1",
		"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}
	withoutIDs := map[string]any{"level": "INFO", "msg": "order accepted", "service": "api", "order": "o-1"}
	tests := []struct {
		name string
		ctx  context.Context
		want map[string]any
	}{
		{"valid span context", valid, withIDs},
		{"remote unsampled span context", remote, withIDs},
		{"no span context", context.Background(), withoutIDs},
		{"invalid span context", invalid, withoutIDs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := telemetry.NewLogger(&buf, "api", new(slog.LevelVar))
			log.InfoContext(tt.ctx, "order accepted", "order", "o-1")
			got := records(t, &buf)
			if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("logged %v, want [%v]", got, tt.want)
			}
		})
	}
	t.Run("derived logger keeps adding them", func(t *testing.T) {
		var buf bytes.Buffer
		log := telemetry.NewLogger(&buf, "api", new(slog.LevelVar)).With("user", 7)
		log.WarnContext(valid, "slow")
		want := map[string]any{"level": "WARN", "msg": "slow", "service": "api", "user": 7.0,
			"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}
		if got := records(t, &buf); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("logged %v, want [%v]", got, want)
		}
	})
}

// With the SDK tracer that StartTracing installs, spans started by the
// service carry ids the logger picks up. Without an exporter a new trace is
// not recorded, but one arriving sampled from the caller still is.
func TestLoggerWithSDKSpan(t *testing.T) {
	ctx := context.Background()
	shutdown, err := telemetry.StartTracing(ctx, "api", "test", telemetry.Config{SampleRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	ctx, span := otel.Tracer("test").Start(ctx, "op")
	defer span.End()
	sc := span.SpanContext()
	if !sc.IsValid() || sc.IsSampled() {
		t.Fatalf("span context %v: want valid, not sampled (no exporter)", sc)
	}
	remote := propagation.TraceContext{}.Extract(context.Background(),
		propagation.MapCarrier{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
	_, child := otel.Tracer("test").Start(remote, "op")
	if !child.SpanContext().IsSampled() || !child.IsRecording() {
		t.Fatal("a span under a sampled remote parent is not recorded")
	}
	child.End()
	var buf bytes.Buffer
	telemetry.NewLogger(&buf, "api", new(slog.LevelVar)).InfoContext(ctx, "x")
	got := records(t, &buf)
	if len(got) != 1 || got[0]["trace_id"] != sc.TraceID().String() || got[0]["span_id"] != sc.SpanID().String() {
		t.Errorf("logged %v, want trace %s span %s", got, sc.TraceID(), sc.SpanID())
	}
	fields := otel.GetTextMapPropagator().Fields()
	sort.Strings(fields)
	if want := []string{"baggage", "traceparent", "tracestate"}; !reflect.DeepEqual(fields, want) {
		t.Errorf("propagator fields = %q, want %q", fields, want)
	}
}

func TestStartTracingRejectsBadEndpoint(t *testing.T) {
	_, err := telemetry.StartTracing(context.Background(), "api", "test", telemetry.Config{OTLPEndpoint: "127.0.0.1:4318", SampleRatio: 1})
	if err == nil || !strings.Contains(err.Error(), `otlpEndpoint "127.0.0.1:4318" is not a URL`) {
		t.Errorf("StartTracing = %v, want an error naming otlpEndpoint", err)
	}
}

func TestLevelVarChangesFilteringAtRunTime(t *testing.T) {
	var buf bytes.Buffer
	level := new(slog.LevelVar) // info
	log := telemetry.NewLogger(&buf, "worker", level)
	emit := func(round string) {
		log.Debug("debug " + round)
		log.Info("info " + round)
		log.Warn("warn " + round)
		log.Error("error " + round)
	}
	emit("1")
	level.Set(slog.LevelDebug)
	emit("2")
	level.Set(slog.LevelWarn)
	emit("3")
	level.Set(slog.LevelError + 4)
	emit("4")
	var got []string
	for _, rec := range records(t, &buf) {
		got = append(got, rec["msg"].(string))
	}
	want := []string{
		"info 1", "warn 1", "error 1",
		"debug 2", "info 2", "warn 2", "error 2",
		"warn 3", "error 3",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("logged %q, want %q", got, want)
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    slog.Level
		wantErr string
	}{
		{in: "debug", want: slog.LevelDebug},
		{in: "info", want: slog.LevelInfo},
		{in: "INFO", want: slog.LevelInfo},
		{in: " warn\n", want: slog.LevelWarn},
		{in: "error", want: slog.LevelError},
		{in: "info+2", want: slog.LevelInfo + 2},
		{in: "loud", wantErr: `unknown log level "loud" (use debug, info, warn or error)`},
		{in: "", wantErr: `unknown log level "" (use debug, info, warn or error)`},
		{in: "warning", wantErr: `unknown log level "warning" (use debug, info, warn or error)`},
	}
	for _, tt := range tests {
		got, err := telemetry.ParseLevel(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseLevel(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*telemetry.Config)
		want   []string
	}{
		{"defaults", func(*telemetry.Config) {}, nil},
		{"http endpoint", func(c *telemetry.Config) { c.OTLPEndpoint = "http://127.0.0.1:4318" }, nil},
		{"https endpoint", func(c *telemetry.Config) { c.OTLPEndpoint = "https://otel.example:4318" }, nil},
		{"ratio bounds", func(c *telemetry.Config) { c.SampleRatio = 0 }, nil},
		{"loud", func(c *telemetry.Config) { c.LogLevel = "loud" },
			[]string{`telemetry.logLevel: unknown log level "loud" (use debug, info, warn or error)`}},
		{"ratio above 1", func(c *telemetry.Config) { c.SampleRatio = 1.5 }, []string{"telemetry.sampleRatio: must be between 0 and 1"}},
		{"negative ratio", func(c *telemetry.Config) { c.SampleRatio = -0.1 }, []string{"telemetry.sampleRatio: must be between 0 and 1"}},
		{"endpoint without scheme", func(c *telemetry.Config) { c.OTLPEndpoint = "127.0.0.1:4318" },
			[]string{"telemetry.otlpEndpoint: must be an http(s) URL such as http://127.0.0.1:4318"}},
		{"grpc scheme", func(c *telemetry.Config) { c.OTLPEndpoint = "grpc://collector:4317" },
			[]string{"telemetry.otlpEndpoint: must be an http(s) URL such as http://127.0.0.1:4318"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := telemetry.DefaultConfig()
			tt.change(&cfg)
			var got []string
			cfg.Validate("telemetry", func(path, msg string) { got = append(got, path+": "+msg) })
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %q, want %q", got, tt.want)
			}
		})
	}
}

type flushRecorder struct {
	*httptest.ResponseRecorder
	flushed int
}

func (f *flushRecorder) Flush() { f.flushed++ }

func TestStatusWriter(t *testing.T) {
	t.Run("first status wins", func(t *testing.T) {
		rec := httptest.NewRecorder()
		sw := telemetry.WrapStatus(rec)
		sw.WriteHeader(http.StatusTeapot)
		sw.WriteHeader(http.StatusOK) // superfluous; net/http ignores it too
		n, err := sw.Write([]byte("short and stout"))
		if err != nil || n != 15 {
			t.Fatal(n, err)
		}
		if sw.Status() != http.StatusTeapot || sw.Bytes() != 15 || rec.Code != http.StatusTeapot {
			t.Errorf("status %d bytes %d recorder %d", sw.Status(), sw.Bytes(), rec.Code)
		}
	})
	t.Run("write without header is 200", func(t *testing.T) {
		sw := telemetry.WrapStatus(httptest.NewRecorder())
		_, _ = sw.Write([]byte("a"))
		_, _ = sw.Write([]byte("bc"))
		if sw.Status() != http.StatusOK || sw.Bytes() != 3 {
			t.Errorf("status %d bytes %d", sw.Status(), sw.Bytes())
		}
	})
	t.Run("nothing written is 200", func(t *testing.T) {
		if got := telemetry.WrapStatus(httptest.NewRecorder()).Status(); got != http.StatusOK {
			t.Errorf("status %d", got)
		}
	})
	t.Run("wrapping twice returns the same writer", func(t *testing.T) {
		sw := telemetry.WrapStatus(httptest.NewRecorder())
		if telemetry.WrapStatus(sw) != sw {
			t.Error("WrapStatus wrapped a StatusWriter again")
		}
	})
	t.Run("flush and unwrap reach the underlying writer", func(t *testing.T) {
		fr := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
		sw := telemetry.WrapStatus(fr)
		if err := http.NewResponseController(sw).Flush(); err != nil {
			t.Fatal(err)
		}
		sw.Flush()
		if fr.flushed != 2 {
			t.Errorf("flushed %d times, want 2", fr.flushed)
		}
		if sw.Unwrap() != http.ResponseWriter(fr) {
			t.Error("Unwrap does not return the wrapped writer")
		}
	})
}

func TestRoutePatternOutsideChi(t *testing.T) {
	if got := telemetry.RoutePattern(httptest.NewRequest(http.MethodGet, "/items/1", nil)); got != "unmatched" {
		t.Errorf("RoutePattern = %q, want unmatched", got)
	}
}

func TestMetricsHandlerNegotiatesOpenMetrics(t *testing.T) {
	m := telemetry.NewMetrics()
	tests := []struct {
		accept, wantType string
	}{
		{"", "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"},
		{"application/openmetrics-text; version=1.0.0", "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if tt.accept != "" {
			r.Header.Set("Accept", tt.accept)
		}
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, r)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != tt.wantType {
			t.Errorf("Accept %q: %d %q, want 200 %q", tt.accept, rec.Code, rec.Header().Get("Content-Type"), tt.wantType)
		}
		if !strings.Contains(rec.Body.String(), "process_") || !strings.Contains(rec.Body.String(), "go_gc_") {
			t.Errorf("Accept %q: runtime or process collectors missing", tt.accept)
		}
	}
}
