package telemetry

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics owns a service's Prometheus registry and its HTTP RED metrics.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
	children memo[redKey, redSeries]
}

// NewMetrics creates a registry with Go runtime and process collectors and
// the per-route HTTP metrics.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_server_requests_total",
			Help: "HTTP requests handled, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_server_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_server_requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inflight)
	return m
}

// Handler serves the registry in the Prometheus exposition format
// (OpenMetrics when asked, so exemplars can be carried).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Middleware records RED metrics labelled with chi's route pattern, never
// the raw path, so label cardinality stays bounded. Unmatched requests are
// counted under route "unmatched", methods outside HTTP's standard ones
// under "_OTHER" (as OpenTelemetry's conventions do). The label children
// are kept per route, method and status, so that a request looks them up
// without allocating.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inflight.Inc()
		defer m.inflight.Dec()
		sw := WrapStatus(w)
		next.ServeHTTP(sw, r)
		k := redKey{route: RoutePattern(r), method: methodLabel(r.Method), code: sw.Status()}
		s := m.children.get(k, func() redSeries {
			return redSeries{m.requests.WithLabelValues(k.route, k.method, strconv.Itoa(k.code)), m.duration.WithLabelValues(k.route, k.method)}
		})
		s.requests.Inc()
		ObserveWithTrace(r.Context(), s.duration, time.Since(start).Seconds())
	})
}

type redKey struct {
	route, method string
	code          int
}

type redSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// memo is a map filled on first use. Its keys must come from a bounded
// set: the RED series' from the routes, short method and status lists.
type memo[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

func (c *memo[K, V]) get(k K, compute func() V) V {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = compute()
	c.mu.Lock()
	if c.m == nil {
		c.m = map[K]V{}
	}
	c.m[k] = v
	c.mu.Unlock()
	return v
}

// methodLabel is method if it is one of HTTP's standard methods, else
// "_OTHER": a client cannot create a series per made-up method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "_OTHER"
}

// RoutePattern is the matched chi route of a served request, or "unmatched".
// chi joins and rewrites the route's parts on every call (two
// allocations); the patterns are cached by their parts, a set bounded by
// the routes the service defines.
func RoutePattern(r *http.Request) string {
	rc := chi.RouteContext(r.Context())
	if rc == nil {
		return "unmatched"
	}
	if len(rc.RoutePatterns) > len(routeKey{}) {
		return orUnmatched(rc.RoutePattern())
	}
	var k routeKey
	copy(k[:], rc.RoutePatterns)
	return routes.get(k, func() string { return orUnmatched(rc.RoutePattern()) })
}

type routeKey [4]string

var routes memo[routeKey, string]

func orUnmatched(p string) string {
	if p == "" {
		return "unmatched"
	}
	return p
}

// StatusWriter remembers the status code a handler wrote.
type StatusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

// WrapStatus wraps w unless it is already wrapped.
func WrapStatus(w http.ResponseWriter) *StatusWriter {
	if sw, ok := w.(*StatusWriter); ok {
		return sw
	}
	return &StatusWriter{ResponseWriter: w}
}

func (s *StatusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *StatusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Status is the written status code (200 when the handler wrote nothing).
func (s *StatusWriter) Status() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// Bytes is the number of body bytes written.
func (s *StatusWriter) Bytes() int { return s.bytes }

// Flush lets streaming handlers (server-sent events) flush through the wrapper.
func (s *StatusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (s *StatusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
