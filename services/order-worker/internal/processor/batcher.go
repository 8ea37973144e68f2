package processor

import (
	"context"
	"errors"
	"sync"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

var tracer = otel.Tracer("github.com/goshop-platform/shop/services/order-worker/internal/processor")

// Batcher decides orders in group commits: Process calls that arrive while
// every transaction slot is busy are decided together, up to maxOrders per
// transaction. Under light load each order still gets its own transaction
// at once (no waiting for a batch to fill); under load the commit cost —
// and, on a hot product, the row lock and the stock UPDATE — is shared.
type Batcher struct {
	p       *Processor
	max     int
	reqs    chan *request
	observe func(orders int)
	wg      sync.WaitGroup
}

type request struct {
	ctx  context.Context
	m    orderstream.Message
	done chan result
}

type result struct {
	out Outcome
	err error
}

// NewBatcher starts transactions goroutines, each running one order
// transaction at a time; observe (may be nil) receives each batch's size.
func NewBatcher(p *Processor, maxOrders, transactions int, observe func(orders int)) *Batcher {
	b := &Batcher{p: p, max: max(maxOrders, 1), reqs: make(chan *request), observe: observe}
	for range max(transactions, 1) {
		b.wg.Add(1)
		go b.loop()
	}
	return b
}

// Close stops the transaction goroutines once no Process call is running.
func (b *Batcher) Close() {
	close(b.reqs)
	b.wg.Wait()
}

// Process decides m, possibly in one transaction with other orders; errors
// are those of Processor.Process.
func (b *Batcher) Process(ctx context.Context, m orderstream.Message) (Outcome, error) {
	r := &request{ctx: ctx, m: m, done: make(chan result, 1)}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return Outcome{}, ctx.Err()
	}
	res := <-r.done
	return res.out, res.err
}

// RecordFailed and ReopenForReplay are rare: they run on their own.
func (b *Batcher) RecordFailed(ctx context.Context, m orderstream.Message, reason, detail string) (bool, error) {
	return b.p.RecordFailed(ctx, m, reason, detail)
}

func (b *Batcher) ReopenForReplay(ctx context.Context, id [16]byte) error {
	return b.p.ReopenForReplay(ctx, id)
}

// loop takes the first waiting order, then every other order already
// waiting (up to max, distinct ids: a repeated id goes into a later
// transaction), and decides them together.
func (b *Batcher) loop() {
	defer b.wg.Done()
	for first := range b.reqs {
		batch, later := []*request{first}, []*request(nil)
		seen := map[uuid.UUID]bool{first.m.OrderID: true}
	collect:
		for len(batch) < b.max {
			select {
			case r, ok := <-b.reqs:
				if !ok {
					break collect
				}
				if seen[r.m.OrderID] {
					later = append(later, r)
					continue
				}
				seen[r.m.OrderID] = true
				batch = append(batch, r)
			default:
				break collect
			}
		}
		b.run(batch)
		for _, r := range later {
			b.run([]*request{r})
		}
	}
}

// run decides one batch in the trace (and under the deadline) of its first
// order; the span links the other orders' traces. When the database
// refuses the batch for one order's data, each order is decided alone so
// that only that order gets the refusal.
func (b *Batcher) run(batch []*request) {
	if b.observe != nil {
		b.observe(len(batch))
	}
	links := make([]trace.Link, 0, len(batch)-1)
	msgs := make([]orderstream.Message, len(batch))
	for i, r := range batch {
		msgs[i] = r.m
		if i > 0 {
			links = append(links, trace.LinkFromContext(r.ctx))
		}
	}
	ctx, span := tracer.Start(batch[0].ctx, "order transaction", trace.WithLinks(links...),
		trace.WithAttributes(attribute.Int("order.batch.size", len(batch))))
	outs, err := b.p.decideWithRetry(ctx, msgs)
	span.End()
	if errors.Is(err, ErrRejected) && len(batch) > 1 {
		for _, r := range batch {
			out, err := b.p.Process(r.ctx, r.m)
			r.done <- result{out, err}
		}
		return
	}
	for i, r := range batch {
		var out Outcome
		if err == nil {
			out = outs[i]
		}
		r.done <- result{out, err}
	}
}
