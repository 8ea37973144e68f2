package httpserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/goshop-platform/shop/services/platform/problem"
	"github.com/goshop-platform/shop/services/platform/telemetry"
)

type ctxKey int

const requestIDKey ctxKey = iota

// requestID takes X-Request-Id from the client when it is sane, otherwise
// makes one, and echoes it in the response.
func requestID(w http.ResponseWriter, r *http.Request) string {
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 128 {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	w.Header()["X-Request-Id"] = []string{id}
	return id
}

// RequestIDFrom returns the request id of ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// Recover turns a panic into a logged 500 problem instead of a dropped connection.
func Recover(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					log.ErrorContext(r.Context(), "panic while serving request",
						"panic", fmt.Sprint(v), "stack", string(debug.Stack()), "request_id", RequestIDFrom(r.Context()))
					problem.Write(w, r, problem.New(http.StatusInternalServerError, "", "an internal error occurred; it has been logged"))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// AccessLog writes one JSON line per request, with trace ids from context.
// Nothing is computed for a level the logger drops, and the line's
// attributes are typed (LogAttrs), not boxed into a []any.
func AccessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := telemetry.WrapStatus(w)
			next.ServeHTTP(sw, r)
			if r.URL.Path == "/livez" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
				return
			}
			level := slog.LevelInfo
			if sw.Status() >= 500 {
				level = slog.LevelError
			}
			ctx := r.Context()
			if !log.Enabled(ctx, level) {
				return
			}
			log.LogAttrs(ctx, level, "http request",
				slog.String("method", r.Method), slog.String("route", telemetry.RoutePattern(r)), slog.String("path", r.URL.Path),
				slog.Int("status", sw.Status()), slog.Int("bytes", sw.Bytes()),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("request_id", RequestIDFrom(ctx)), slog.String("remote", r.RemoteAddr))
		})
	}
}

// LimitBody caps every request body; handlers see *http.MaxBytesError past it.
func LimitBody(max int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > max {
				problem.Write(w, r, problem.New(http.StatusRequestEntityTooLarge, "body-too-large",
					fmt.Sprintf("the request body exceeds the limit of %d bytes", max)))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, max)
			next.ServeHTTP(w, r)
		})
	}
}

// SecurityHeaders sets the headers every JSON API response should carry:
// no MIME sniffing, no framing, no referrer, a CSP that allows nothing (an
// API serves no active content), and HSTS on https requests: TLS
// connections, and requests a trusted proxy (a TLS-terminating ingress)
// forwarded with X-Forwarded-Proto: https. A handler that serves HTML (the
// storefront) overrides Content-Security-Policy.
func SecurityHeaders(proxies Proxies) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The values are shared, read-only slices (cap 1: an Add copies)
			// rather than one allocation per header and request.
			h := w.Header()
			h["X-Content-Type-Options"] = nosniff
			h["X-Frame-Options"] = deny
			h["Referrer-Policy"] = noReferrer
			h["Content-Security-Policy"] = noContent
			if proxies.Scheme(r) == "https" {
				h["Strict-Transport-Security"] = hsts
			}
			next.ServeHTTP(w, r)
		})
	}
}

var (
	nosniff    = []string{"nosniff"}
	deny       = []string{"DENY"}
	noReferrer = []string{"no-referrer"}
	noContent  = []string{"default-src 'none'; frame-ancestors 'none'"}
	hsts       = []string{"max-age=31536000; includeSubDomains"}
)
