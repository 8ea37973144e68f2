package telemetry

import (
	"context"
	"fmt"
	"net/url"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// StartTracing installs the global tracer provider and the W3C trace-context
// and baggage propagators. Without an endpoint no spans are exported, but
// incoming trace context is still honoured and passed on (and trace ids
// still reach the logs). The returned
// function flushes and stops the exporter.
func StartTracing(ctx context.Context, service, version string, cfg Config) (func(context.Context) error, error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	// Without an exporter, new traces are not recorded (recording them is
	// pure cost); an incoming sampled trace still is, so the services after
	// this one see the caller's decision.
	root := sdktrace.TraceIDRatioBased(cfg.SampleRatio)
	if cfg.OTLPEndpoint == "" {
		root = sdktrace.NeverSample()
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithSampler(sdktrace.ParentBased(root)),
		sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL,
			semconv.ServiceName(service), semconv.ServiceVersion(version))),
	}
	if cfg.OTLPEndpoint != "" {
		u, err := url.Parse(cfg.OTLPEndpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("otlpEndpoint %q is not a URL like http://127.0.0.1:4318", cfg.OTLPEndpoint)
		}
		exOpts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(u.Host)}
		if u.Scheme == "http" {
			exOpts = append(exOpts, otlptracehttp.WithInsecure())
		}
		exp, err := otlptracehttp.New(ctx, exOpts...)
		if err != nil {
			return nil, fmt.Errorf("create OTLP exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// Validate reports bad telemetry settings with paths under prefix.
func (c Config) Validate(prefix string, add func(path, msg string)) {
	if _, err := ParseLevel(c.LogLevel); err != nil {
		add(prefix+".logLevel", err.Error())
	}
	if c.SampleRatio < 0 || c.SampleRatio > 1 {
		add(prefix+".sampleRatio", "must be between 0 and 1")
	}
	if c.OTLPEndpoint != "" {
		if u, err := url.Parse(c.OTLPEndpoint); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			add(prefix+".otlpEndpoint", "must be an http(s) URL such as http://127.0.0.1:4318")
		}
	}
}
