package relay

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/kernel/catalogevent"
)

// push sends the snapshot of every product that has one and stores the
// answer in its result; it touches no database state. A batch of several
// products is one WriteBatch; when that fails and the target still answers
// its ping, each product is upserted on its own, so a refusal is blamed on
// the product that caused it.
func (r *Relay) push(ctx context.Context, products []*product) {
	var todo []*product
	for _, p := range products {
		if p.send >= 0 {
			todo = append(todo, p)
		}
	}
	if len(todo) == 0 {
		return
	}
	ctx, span := r.startSpan(ctx, todo)
	defer span.End()
	r.metrics.BatchProducts.Observe(float64(len(todo)))
	items := make([]directus.Item, len(todo))
	for i, p := range todo {
		items[i] = itemOf(p.ev)
	}
	if len(todo) > 1 {
		outs, err := r.target.WriteBatch(ctx, items)
		if err == nil {
			for i, p := range todo {
				p.result = pushed{out: outs[i]}
			}
			r.applied(todo)
			return
		}
		span.RecordError(err)
		if directus.IsUnavailable(err) && r.target.Ping(ctx) != nil {
			span.SetStatus(codes.Error, "target unavailable")
			for _, p := range todo {
				p.result = pushed{err: err, unavailable: true}
			}
			return
		}
		r.metrics.Fallbacks.Inc()
		r.log.WarnContext(ctx, "batch write failed, upserting each product on its own", "products", len(todo), "error", err)
	}
	r.upsertEach(ctx, todo, items)
	r.applied(todo)
}

// upsertEach upserts items[i] for todo[i], Concurrency at once.
func (r *Relay) upsertEach(ctx context.Context, todo []*product, items []directus.Item) {
	sem := make(chan struct{}, max(r.cfg.Concurrency, 1))
	var wg sync.WaitGroup
	for i, p := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out, err := r.target.Upsert(ctx, items[i])
			if err != nil {
				trace.SpanFromContext(ctx).RecordError(err, trace.WithAttributes(attribute.Int64("product.id", p.id)))
				// A 5xx can also be this snapshot's fault (Directus answers
				// 500 for a value its database rejects): only when Directus
				// does not answer its ping either is it an outage that
				// blames no event.
				p.result = pushed{err: err, unavailable: directus.IsUnavailable(err) && r.target.Ping(ctx) != nil}
				return
			}
			p.result = pushed{out: out}
		}()
	}
	wg.Wait()
}

// applied reports the confirmed snapshots to the Applied hook, in order.
func (r *Relay) applied(todo []*product) {
	for _, p := range todo {
		if p.result.err == nil {
			r.log.Debug("snapshot pushed", "product_id", p.id, "version", p.ev.Product.Version,
				"events", len(p.events), "result", string(p.result.out))
			if r.cfg.Applied != nil {
				r.cfg.Applied(p.ev, p.result.out)
			}
		}
	}
}

// startSpan starts the batch's span. It continues the trace of the first
// product's change (so a single admin edit shows as one trace api → outbox
// → catalog-sync → Directus) and links the change of every product in the
// batch, the OpenTelemetry shape for a batch consumer.
func (r *Relay) startSpan(ctx context.Context, todo []*product) (context.Context, trace.Span) {
	prop := propagation.TraceContext{}
	links := make([]trace.Link, 0, len(todo))
	events := 0
	for _, p := range todo {
		events += len(p.events)
		sc := trace.SpanContextFromContext(prop.Extract(ctx, propagation.MapCarrier{"traceparent": p.ev.Traceparent}))
		if sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc, Attributes: []attribute.KeyValue{attribute.Int64("product.id", p.id)}})
		}
	}
	parent := prop.Extract(ctx, propagation.MapCarrier{"traceparent": todo[0].ev.Traceparent})
	return r.tracer.Start(parent, "catalog-sync push", trace.WithSpanKind(trace.SpanKindConsumer), trace.WithLinks(links...),
		trace.WithAttributes(attribute.Int("batch.products", len(todo)), attribute.Int("batch.events", events)))
}

// itemOf maps a snapshot onto the Directus item; archived products stay in
// Directus, inactive.
func itemOf(ev catalogevent.Event) directus.Item {
	p := ev.Product
	if ev.Type == catalogevent.TypeArchived {
		p.Active = false
	}
	return directus.ItemFrom(p)
}
