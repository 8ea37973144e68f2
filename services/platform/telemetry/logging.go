// Package telemetry bootstraps what every service reports about itself:
// JSON logs through log/slog carrying trace and span ids, a Prometheus
// registry with Go runtime, process and per-route RED metrics, and an
// OpenTelemetry tracer provider exporting OTLP with W3C propagation.
package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// Config is the telemetry part of every service's configuration document.
type Config struct {
	LogLevel string `json:"logLevel" jsonschema:"enum=debug|info|warn|error"`
	// OTLPEndpoint is an OTLP/HTTP base URL such as http://127.0.0.1:4318;
	// empty disables trace export (spans are still propagated).
	OTLPEndpoint string  `json:"otlpEndpoint"`
	SampleRatio  float64 `json:"sampleRatio" jsonschema:"minimum=0,maximum=1"`
}

// DefaultConfig is what services start from.
func DefaultConfig() Config { return Config{LogLevel: "info", SampleRatio: 1} }

// ParseLevel maps a config string to a slog level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return 0, fmt.Errorf("unknown log level %q (use debug, info, warn or error)", s)
	}
	return l, nil
}

// NewLogger returns a JSON logger whose level can be changed at run time
// through level and which adds trace_id/span_id from the context.
func NewLogger(w io.Writer, service string, level *slog.LevelVar) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(traceHandler{h}).With("service", service)
}

type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(as)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}

// Setup makes the service's process logger: JSON on stdout at the configured
// level, installed as slog's default (libraries that log through slog
// follow it). The level stays adjustable through level.
func Setup(service, levelText string, level *slog.LevelVar) *slog.Logger {
	if l, err := ParseLevel(levelText); err == nil {
		level.Set(l)
	}
	log := NewLogger(os.Stdout, service, level)
	slog.SetDefault(log)
	return log
}

// Reload applies a hot-reloaded log level, logging a change.
func Reload(log *slog.Logger, level *slog.LevelVar, levelText string) {
	if l, err := ParseLevel(levelText); err == nil && l != level.Level() {
		level.Set(l)
		log.Info("log level changed", "level", l.String())
	}
}
