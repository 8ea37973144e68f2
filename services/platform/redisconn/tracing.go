package redisconn

import (
	"context"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

const instrumentation = "github.com/goshop-platform/shop/services/platform/redisconn"

// tracingHook records a client span for each command or pipeline, but only
// inside a trace that is already being recorded (an HTTP request, an order
// being processed). Background polling — XREADGROUP loops, health checks,
// metric collectors — would otherwise fill the trace store with one-span
// root traces nobody asked for. Values are never recorded: commands carry
// order contents and tokens.
type tracingHook struct {
	tracer trace.Tracer
	attrs  []attribute.KeyValue
}

func newTracingHook(addr string, db int) tracingHook {
	host, port, _ := net.SplitHostPort(addr)
	return tracingHook{tracer: otel.Tracer(instrumentation), attrs: []attribute.KeyValue{
		attribute.String("db.system", "redis"), attribute.Int("db.redis.database_index", db),
		attribute.String("server.address", host), attribute.String("server.port", port),
	}}
}

func (h tracingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h tracingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !trace.SpanFromContext(ctx).IsRecording() {
			return next(ctx, cmd)
		}
		ctx, span := h.start(ctx, cmd.FullName(), cmd.FullName())
		defer span.End()
		return h.end(span, next(ctx, cmd))
	}
}

func (h tracingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !trace.SpanFromContext(ctx).IsRecording() {
			return next(ctx, cmds)
		}
		names := make([]string, 0, len(cmds))
		for _, c := range cmds {
			names = append(names, c.FullName())
		}
		ctx, span := h.start(ctx, "redis pipeline", strings.Join(names, " "))
		span.SetAttributes(attribute.Int("db.operation.batch.size", len(cmds)))
		defer span.End()
		return h.end(span, next(ctx, cmds))
	}
}

func (h tracingHook) start(ctx context.Context, name, operation string) (context.Context, trace.Span) {
	return h.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(h.attrs...), trace.WithAttributes(attribute.String("db.operation.name", operation)))
}

// end marks the span failed for real errors; redis.Nil (key not found) is
// an answer, not a failure.
func (h tracingHook) end(span trace.Span, err error) error {
	if err != nil && err != redis.Nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// BatchSpan starts, when ctx's trace is recorded, a client span for one
// caller's command that travels in a pipeline shared with other callers
// (whose own traces get their own span): the pipeline as a whole belongs
// to no single trace. The returned function ends it with the command's
// error.
func BatchSpan(ctx context.Context, rdb redis.UniversalClient, operation string, size int) func(error) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return noEnd
	}
	addr, db := "", 0
	if c, ok := rdb.(*redis.Client); ok {
		addr, db = c.Options().Addr, c.Options().DB
	}
	h := newTracingHook(addr, db)
	_, span := h.start(ctx, operation, operation)
	span.SetAttributes(attribute.Int("db.operation.batch.size", size))
	return func(err error) {
		_ = h.end(span, err)
		span.End()
	}
}

func noEnd(error) {}
