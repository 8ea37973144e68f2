// Package app wires order-worker from its configuration: pools, the
// order processor, the stream consumer with its metrics, the timers (order
// expiry, the notifier relay over the order timeline), and
// the admin HTTP server (/livez, /readyz, /metrics). cmd/order-worker and
// the tests build the service through here.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/order-worker/internal/consumer"
	"github.com/goshop-platform/shop/services/order-worker/internal/expiry"
	"github.com/goshop-platform/shop/services/order-worker/internal/notify"
	"github.com/goshop-platform/shop/services/order-worker/internal/processor"
	"github.com/goshop-platform/shop/services/order-worker/internal/workerconfig"
	"github.com/goshop-platform/shop/services/platform/faults"
	"github.com/goshop-platform/shop/services/platform/httpserver"
	"github.com/goshop-platform/shop/services/platform/postgres"
	"github.com/goshop-platform/shop/services/platform/redisconn"
	"github.com/goshop-platform/shop/services/platform/telemetry"
)

// Worker is a wired order-worker.
type Worker struct {
	DB       *pgxpool.Pool
	Redis    redis.UniversalClient
	Consumer *consumer.Consumer
	Server   *httpserver.Server
	log      *slog.Logger
	Relay    *notify.Relay
	Expiry   *expiry.Sweeper
	Waker    *processor.Waker // catalog-sync's wake-up after order commits
	// Faults are the fault-injection flags of spec.faults (ApplyFaults).
	Faults  *faults.Set
	batcher *processor.Batcher
}

// Fault-injection flags (docs/fault-injection.md).
const (
	FlagSlowdown     = "worker-slowdown"
	FlagFailureRatio = "worker-failure-ratio"
)

// New builds the worker; it connects lazily and reports readiness on /readyz.
func New(ctx context.Context, spec workerconfig.Spec, log *slog.Logger) (*Worker, error) {
	db, err := postgres.Open(ctx, spec.Database)
	if err != nil {
		return nil, err
	}
	rdb, err := redisconn.Open(spec.Redis)
	if err != nil {
		db.Close()
		return nil, err
	}
	w := &Worker{DB: db, Redis: rdb, log: log}
	metrics := telemetry.NewMetrics()
	keys := orderstream.NewKeyspace(spec.Redis.Partitions, spec.Redis.Clustered())
	cm := consumer.NewMetrics(metrics.Registry, rdb, keys)
	c := spec.Consumer
	name := c.Name
	if name == "" {
		host, _ := os.Hostname()
		name = host + "-" + strconv.Itoa(os.Getpid())
	}
	w.Waker = processor.NewWaker(db, log)
	w.batcher = processor.NewBatcher(&processor.Processor{DB: db, PaymentWindow: spec.Payment.Window, Timeout: c.TransactionTimeout, Waker: w.Waker},
		c.MaxOrdersPerTransaction, c.Transactions, cm.ObserveTransaction)
	w.Faults, err = faults.New(ctx, "order-worker", []faults.Flag{
		{Name: FlagSlowdown, Field: "spec.faults.slowdown", Kind: faults.Delay},
		{Name: FlagFailureRatio, Field: "spec.faults.failureRatio", Kind: faults.Ratio},
	}, metrics.Registry, log)
	if err == nil {
		err = w.ApplyFaults(spec.Faults)
	}
	if err != nil {
		w.batcher.Close()
		db.Close()
		_ = rdb.Close()
		return nil, err
	}
	proc := faultyBatcher{Batcher: w.batcher, slowdown: w.Faults.Delay(FlagSlowdown), failure: w.Faults.Ratio(FlagFailureRatio)}
	w.Consumer = consumer.New(rdb, proc, consumer.Config{
		Name: name, Concurrency: c.Concurrency, BatchSize: c.BatchSize, Block: c.Block, ClaimIdle: c.ClaimIdle,
		ClaimInterval: c.ClaimInterval, MaxDeliveries: c.MaxDeliveries, ConsumerGCAfter: c.ConsumerGCAfter,
		DrainTimeout: c.DrainTimeout, RetryInitial: spec.Retry.Initial, RetryMax: spec.Retry.Max, Keys: keys,
	}, log.With("consumer", name), cm)
	// A small batch: the relay's transaction stays open while it mails.
	w.Relay = &notify.Relay{DB: db, Notifier: notifier(spec, db, log), Log: log, Every: spec.Notifier.Interval, Batch: 20}
	w.Expiry = &expiry.Sweeper{DB: db, Redis: rdb, Log: log, Every: spec.Payment.ExpiryInterval, Batch: spec.Payment.ExpiryBatch,
		PaymentGrace: spec.Payment.InFlightGrace, Expired: lifecycleMetrics(metrics.Registry, db), Timeout: c.TransactionTimeout}
	w.Server = httpserver.New(spec.HTTP, log, metrics,
		httpserver.Check{Name: "postgres", Func: func(ctx context.Context) error { return db.Ping(ctx) }},
		httpserver.Check{Name: "redis", Func: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
	)
	return w, nil
}

// ApplyFaults sets the fault-injection flags to f (at start and on every
// configuration reload).
func (w *Worker) ApplyFaults(f workerconfig.Faults) error {
	return w.Faults.Update(faults.Values{FlagSlowdown: f.Slowdown, FlagFailureRatio: f.FailureRatio})
}

// faultyBatcher is the batcher with spec.faults applied: the consumer asks
// it (consumer.Faults) before deciding each order.
type faultyBatcher struct {
	*processor.Batcher
	slowdown faults.DelayFlag
	failure  faults.RatioFlag
}

func (b faultyBatcher) Slowdown(ctx context.Context) error    { return b.slowdown.Wait(ctx) }
func (b faultyBatcher) FailAttempt(ctx context.Context) error { return b.failure.Fail(ctx) }

// lifecycleMetrics registers the expiry counter (one series of
// shop_order_transitions_total, which api counts for the other moves) and
// the gauge of orders awaiting payment, and returns the counter.
func lifecycleMetrics(reg prometheus.Registerer, db *pgxpool.Pool) prometheus.Counter {
	transitions := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_order_transitions_total",
		Help: "Order status transitions after the decision, by new status and who caused them."}, []string{"to", "by"})
	awaiting := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shop_orders_awaiting_payment",
		Help: "Confirmed orders not paid yet (they expire after spec.payment.window)."}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var n int64
		if err := db.QueryRow(ctx, "SELECT count(*) FROM orders WHERE status = 'confirmed'").Scan(&n); err != nil {
			return math.NaN()
		}
		return float64(n)
	})
	reg.MustRegister(transitions, awaiting)
	return transitions.WithLabelValues("expired", "worker")
}

func notifier(spec workerconfig.Spec, db *pgxpool.Pool, log *slog.Logger) notify.Notifier {
	switch spec.Notifier.Kind {
	case "smtp":
		s := spec.Notifier.SMTP
		return notify.SMTP{Addr: s.Addr, From: s.From, Username: s.Username, Password: s.Password.Value(), DB: db}
	case "log":
		return notify.Log{Log: log}
	default:
		return nil
	}
}

// Run consumes and serves the admin endpoints until ctx ends, then drains
// both; it returns the first error.
func (w *Worker) Run(ctx context.Context) error {
	var timers sync.WaitGroup
	defer timers.Wait()
	timers.Go(func() { w.Relay.Run(ctx) })
	timers.Go(func() { w.Expiry.Run(ctx) })
	// The wake-ups outlive ctx until the consumer has drained: the orders
	// it decides meanwhile change stock too.
	wakeCtx, stopWaking := context.WithCancel(context.WithoutCancel(ctx))
	timers.Go(func() { w.Waker.Run(wakeCtx) })
	errc := make(chan error, 2)
	go func() { errc <- w.Server.Run(ctx) }()
	go func() { errc <- w.Consumer.Run(ctx) }()
	var first error
	for range 2 {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	stopWaking()
	if first != nil {
		return fmt.Errorf("order-worker: %w", first)
	}
	return nil
}

// Close stops the order transactions and releases the pools; call it after
// Run returned.
func (w *Worker) Close() {
	_ = w.Faults.Close(context.Background())
	w.batcher.Close()
	w.DB.Close()
	_ = w.Redis.Close()
}
