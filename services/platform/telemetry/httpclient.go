package telemetry

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"
)

// Transport is the http.RoundTripper for outgoing calls to other systems
// (Directus, n8n): it propagates W3C trace context and records a client
// span, but only inside a trace that is already recorded, so health pings
// and background loops do not each start a one-span trace.
func Transport() http.RoundTripper {
	return otelhttp.NewTransport(http.DefaultTransport,
		otelhttp.WithFilter(func(r *http.Request) bool { return trace.SpanFromContext(r.Context()).IsRecording() }),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "HTTP " + r.Method + " " + r.URL.Host }))
}

// CountRequests returns next counting every request it sends in requests,
// by the label "method" (curry any other labels, such as the target, into
// requests first). Operators read it against the work done, e.g. Directus
// requests per product change.
func CountRequests(next http.RoundTripper, requests *prometheus.CounterVec) http.RoundTripper {
	return countingTransport{next: next, requests: requests}
}

type countingTransport struct {
	next     http.RoundTripper
	requests *prometheus.CounterVec
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.requests.WithLabelValues(r.Method).Inc()
	return c.next.RoundTrip(r)
}
