package order

import (
	"context"
	"errors"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/platform/redisconn"
)

// Batcher sends the intake scripts of concurrent orders to Redis together:
// each of its loops takes the orders waiting when it is free (never waiting
// for more) and sends them in one pipeline, so that under load one write
// and one read carry several orders on both sides, where each order used
// to cost its own round trip (Redis spends most of an order's CPU on the
// network, not in the script). Alone, an order goes at once, as before.
// Every order still gets its own script run and answer; a failed pipeline
// fails only the orders in it, as a failed single call would.
type Batcher struct {
	rdb   redis.UniversalClient
	calls chan *batchCall
	max   int
	done  chan struct{}
	// mu orders hand-overs before Close: none is accepted after it, so
	// every call handed over is sent by a loop (drain).
	mu     sync.RWMutex
	closed bool
	sent   func(orders int)
}

type batchCall struct {
	ctx  context.Context
	keys []string
	args []any
	res  chan batchResult
}

type batchResult struct {
	vals []string
	err  error
}

// ErrBatcherStopped: the intake was shut down before the order was sent.
var ErrBatcherStopped = errors.New("intake batcher stopped")

// NewBatcher starts loops pipelines of at most max orders each; Close
// stops them. sent, when not nil, is told every pipeline's size (metrics).
func NewBatcher(rdb redis.UniversalClient, loops, max int, sent func(orders int)) *Batcher {
	b := &Batcher{rdb: rdb, calls: make(chan *batchCall, loops*max), max: max, done: make(chan struct{}), sent: sent}
	for range loops {
		go b.loop()
	}
	return b
}

// Close stops the loops once the orders already handed over are sent.
func (b *Batcher) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.done)
	}
}

// run hands one intake script to a loop and waits for its answer. An order
// handed over is always waited for (the script may run): only one not yet
// handed over gives up with its context.
func (b *Batcher) run(ctx context.Context, keys []string, args []any) ([]string, error) {
	c := &batchCall{ctx: ctx, keys: keys, args: args, res: make(chan batchResult, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, ErrBatcherStopped
	}
	select {
	case b.calls <- c:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return nil, ctx.Err()
	}
	r := <-c.res
	return r.vals, r.err
}

func (b *Batcher) loop() {
	batch := make([]*batchCall, 0, b.max)
	for {
		select {
		case c := <-b.calls:
			batch = append(batch[:0], c)
		case <-b.done:
			b.drain()
			return
		}
	more:
		for len(batch) < b.max {
			select {
			case c := <-b.calls:
				batch = append(batch, c)
			default:
				break more
			}
		}
		b.send(batch)
	}
}

// drain answers the calls handed over before Close.
func (b *Batcher) drain() {
	for {
		select {
		case c := <-b.calls:
			b.send([]*batchCall{c})
		default:
			return
		}
	}
}

// send runs the batch's scripts in one pipeline (by digest; after a Redis
// restart, NOSCRIPT, with their source) and answers each call. A call
// whose trace is recorded gets a client span of its own.
func (b *Batcher) send(batch []*batchCall) {
	if b.sent != nil {
		b.sent(len(batch))
	}
	ctx := context.WithoutCancel(batch[0].ctx)
	ends := make([]func(error), len(batch))
	for i, c := range batch {
		ends[i] = redisconn.BatchSpan(c.ctx, b.rdb, "EVALSHA", len(batch))
	}
	cmds := b.pipeline(ctx, batch, enqueue.EvalSha)
	var again []int
	for i, cmd := range cmds {
		if isNoScript(cmd.Err()) {
			again = append(again, i)
		}
	}
	if len(again) > 0 {
		retry := make([]*batchCall, len(again))
		for j, i := range again {
			retry[j] = batch[i]
		}
		for j, cmd := range b.pipeline(ctx, retry, enqueue.Eval) {
			cmds[again[j]] = cmd
		}
	}
	for i, c := range batch {
		vals, err := cmds[i].StringSlice()
		ends[i](err)
		c.res <- batchResult{vals, err}
	}
}

func (b *Batcher) pipeline(ctx context.Context, batch []*batchCall, run scriptRunner) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(batch))
	pipe := b.rdb.Pipeline()
	for i, c := range batch {
		cmds[i] = run(ctx, pipe, c.keys, c.args...)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	return cmds
}
