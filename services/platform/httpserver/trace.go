package httpserver

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/goshop-platform/shop/services/platform/telemetry"
)

// requestContext gives every request its id (X-Request-Id from the client
// when sane, else a new one, echoed in the response) and, except probes and
// metrics scrapes, a server span continuing the client's W3C trace context,
// named "<method> <route pattern>" once routing is done, with the HTTP
// semantic-convention attributes and an error status for 5xx answers. Both
// go into the request's context at once (one copy of the request). The
// attributes are only computed for a span that is recorded: an unsampled
// request (most of them, or all without an exporter) pays for the context
// extraction and a non-recording span, nothing else.
func requestContext(proxies Proxies) func(http.Handler) http.Handler {
	tracer := otel.Tracer("github.com/goshop-platform/shop/services/platform/httpserver")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := context.WithValue(r.Context(), requestIDKey, requestID(w, r))
			switch r.URL.Path {
			case "/livez", "/readyz", "/metrics":
				next.ServeHTTP(w, r.WithContext(ctx))
				return
			}
			ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.HeaderCarrier(r.Header))
			ctx, span := tracer.Start(ctx, "http.request", trace.WithSpanKind(trace.SpanKindServer))
			defer span.End()
			r = r.WithContext(ctx)
			if !span.IsRecording() {
				next.ServeHTTP(w, r)
				return
			}
			span.SetAttributes(semconv.HTTPRequestMethodKey.String(r.Method), semconv.URLPath(r.URL.Path),
				semconv.URLScheme(proxies.Scheme(r)), semconv.ServerAddress(r.Host),
				semconv.ClientAddress(proxies.ClientIP(r)), semconv.UserAgentOriginal(r.UserAgent()),
				semconv.NetworkProtocolName("http"), semconv.NetworkProtocolVersion(protocolVersion(r)))
			sw := telemetry.WrapStatus(w)
			next.ServeHTTP(sw, r)
			route := telemetry.RoutePattern(r)
			span.SetName(r.Method + " " + route)
			span.SetAttributes(semconv.HTTPRoute(route), semconv.HTTPResponseStatusCode(sw.Status()))
			if sw.Status() >= 500 {
				span.SetStatus(codes.Error, http.StatusText(sw.Status()))
			}
		})
	}
}

func protocolVersion(r *http.Request) string {
	switch r.ProtoMajor {
	case 2:
		return "2"
	case 3:
		return "3"
	}
	if r.ProtoMinor == 0 {
		return "1.0"
	}
	return "1.1"
}
