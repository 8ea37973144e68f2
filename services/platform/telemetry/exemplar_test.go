package telemetry_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"

	"github.com/goshop-platform/shop/services/platform/telemetry"
)

func TestLatencyExemplarCarriesTheTraceID(t *testing.T) {
	recordSpans(t)
	m := telemetry.NewMetrics()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "test_latency_seconds", Help: "test"})
	m.Registry.MustRegister(h)
	telemetry.ObserveWithTrace(context.Background(), h, 0.2) // no trace: no exemplar
	ctx, span := otel.Tracer("test").Start(context.Background(), "request")
	telemetry.ObserveWithTrace(ctx, h, 0.003)
	span.End()

	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	rr := httptest.NewRecorder()
	m.Handler().ServeHTTP(rr, req)
	body, _ := io.ReadAll(rr.Body)
	want := `# {trace_id="` + span.SpanContext().TraceID().String() + `"} 0.003`
	if !strings.Contains(string(body), want) {
		t.Fatalf("OpenMetrics exposition lacks exemplar %q:\n%s", want, grepLines(string(body), "test_latency"))
	}
	if n := strings.Count(string(body), "trace_id="); n != 1 {
		t.Fatalf("%d exemplars, want exactly 1 (the untraced observation has none)", n)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
