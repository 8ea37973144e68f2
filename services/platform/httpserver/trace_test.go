package httpserver_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// record installs a tracer provider with the given sampler that records
// ended spans, as telemetry.StartTracing installs one.
func record(t *testing.T, sampler sdktrace.Sampler) *tracetest.SpanRecorder {
	rec := tracetest.NewSpanRecorder()
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(rec)))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })
	return rec
}

func getWith(t *testing.T, url string, header http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header = header
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
}

// A request continues the client's trace in a server span named after the
// route, with the HTTP attributes; a 5xx marks it as an error; probes are
// not traced.
func TestServerSpans(t *testing.T) {
	rec := record(t, sdktrace.ParentBased(sdktrace.NeverSample()))
	s := newServer(t)
	s.Router.Get("/boom", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	srv := httptest.NewServer(s.Router)
	defer srv.Close()

	const traceID, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	sampled := http.Header{"Traceparent": {"00-" + traceID + "-" + parent + "-01"}, "User-Agent": {"span-test"}}
	getWith(t, srv.URL+"/items/42", sampled)
	getWith(t, srv.URL+"/boom", sampled)
	getWith(t, srv.URL+"/livez", sampled)
	getWith(t, srv.URL+"/items/7", http.Header{}) // no sampled parent: not recorded

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans recorded, want 2 (the sampled /items/42 and /boom; not the probe nor the unsampled one)", len(spans))
	}
	item, boom := spans[0], spans[1]
	if item.Name() != "GET /items/{id}" || item.SpanKind() != trace.SpanKindServer ||
		item.SpanContext().TraceID().String() != traceID || item.Parent().SpanID().String() != parent {
		t.Fatalf("span %q kind %v trace %s parent %s", item.Name(), item.SpanKind(), item.SpanContext().TraceID(), item.Parent().SpanID())
	}
	attrs := map[string]string{}
	for _, a := range item.Attributes() {
		attrs[string(a.Key)] = a.Value.String()
	}
	for k, want := range map[string]string{"http.request.method": "GET", "http.route": "/items/{id}", "url.path": "/items/42",
		"http.response.status_code": "200", "url.scheme": "http", "user_agent.original": "span-test", "client.address": "127.0.0.1"} {
		if attrs[k] != want {
			t.Errorf("attribute %s = %q, want %q (all: %v)", k, attrs[k], want, attrs)
		}
	}
	if item.Status().Code == codes.Error || boom.Status().Code != codes.Error || boom.Name() != "GET /boom" {
		t.Fatalf("statuses: %v for 200, %v for %q (502)", item.Status(), boom.Status(), boom.Name())
	}
}
