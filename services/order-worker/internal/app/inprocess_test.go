package app_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/pause"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/order-worker/internal/app"
	"github.com/goshop-platform/shop/services/order-worker/internal/workerconfig"
	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// TestSpanContinuesTheRequestTrace: the worker's span for an order is a
// child of the traceparent the api put in the message, and the status event
// is published once the order is decided.
func TestSpanContinuesTheRequestTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	s := newShop(t, schematest.MigratedDatabase(t), testenv.Redis(t), 10)
	spec := workerconfig.Defaults()
	spec.HTTP.Addr, spec.HTTP.DrainDelay = "127.0.0.1:0", 0
	spec.Database.URL, spec.Redis.URL = config.Secret(s.dbURL), config.Secret(s.redisURL)
	spec.Consumer.Block, spec.Notifier.Kind = 100*time.Millisecond, "none"
	w, err := app.New(context.Background(), spec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Consumer.Run(ctx) }()

	sub := s.rdb.Subscribe(context.Background(), orderstream.StatusChannel)
	defer sub.Close()
	if _, err := sub.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	var product int64
	for id := range s.initial {
		product = id
	}
	m := orderstream.Message{OrderID: uuid.New(), UserID: s.users[0], AcceptedAt: time.Now().UTC(),
		Items:       []orderstream.Item{{ProductID: product, Quantity: 1}},
		Traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	if err := s.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: orderstream.Stream, Values: m.Encode()}).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-sub.Channel():
		ev, err := orderstream.DecodeStatus(msg.Payload)
		if err != nil || ev.OrderID != m.OrderID || ev.Status != "confirmed" || ev.UserID != m.UserID {
			t.Fatalf("status event %+v %v", ev, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no status event published")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("consumer did not drain cleanly: %v", err)
	}
	var found bool
	for _, sp := range rec.Ended() {
		if sp.Name() == "order-worker process" {
			found = true
			if sp.SpanContext().TraceID().String() != "0af7651916cd43dd8448eb211c80319c" || sp.Parent().SpanID().String() != "b7ad6b7169203331" {
				t.Fatalf("worker span trace %s parent %s: not the message's trace", sp.SpanContext().TraceID(), sp.Parent().SpanID())
			}
		}
	}
	if !found {
		t.Fatal("no worker span recorded")
	}
}

// TestGroupTidying: departed consumers are removed from the group and the
// stream is trimmed below what every group has delivered and acknowledged;
// the stream metrics report the group's state.
func TestGroupTidying(t *testing.T) {
	s := newShop(t, schematest.MigratedDatabase(t), testenv.Redis(t), 1000)
	ctx := context.Background()
	if err := s.rdb.XGroupCreateMkStream(ctx, orderstream.Stream, orderstream.Group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.XGroupCreateConsumer(ctx, orderstream.Stream, orderstream.Group, "departed-pod").Err(); err != nil {
		t.Fatal(err)
	}
	sent := s.enqueue(400, 4, 0)
	w := s.startWorker("WORKER_CONSUMER_CONSUMER_GC_AFTER=1s", "WORKER_CONSUMER_CLAIM_IDLE=1s", "WORKER_CONSUMER_CLAIM_INTERVAL=200ms")
	s.waitDecided(sent, time.Minute)
	eventually(t, 20*time.Second, "the departed consumer to be removed and the stream trimmed", func() bool {
		consumers, err := s.rdb.XInfoConsumers(ctx, orderstream.Stream, orderstream.Group).Result()
		if err != nil {
			return false
		}
		for _, c := range consumers {
			if c.Name == "departed-pod" {
				return false
			}
		}
		n, err := s.rdb.XLen(ctx, orderstream.Stream).Result()
		return err == nil && n < 400
	})
	_, metrics := w.get("/metrics")
	for _, want := range []string{"shop_order_stream_lag 0", "shop_order_stream_pending 0",
		"shop_order_stream_oldest_pending_age_seconds 0", "shop_order_dead_letters 0", "shop_order_group_consumers 1"} {
		if !strings.Contains(metrics, want+"\n") {
			t.Fatalf("/metrics lacks %q", want)
		}
	}
}

// TestConsumersInProcessUnderLoad runs three workers in this process, so
// that `go test -race` sees the consumer's goroutines (readers, claims,
// slots, the pause watcher, the batcher) under real load: while 1,500
// orders flow, their concurrency is changed as a hot reload does, and
// consumption is paused and resumed. Every order is decided once and the
// stock adds up.
func TestConsumersInProcessUnderLoad(t *testing.T) {
	s := newShop(t, schematest.MigratedDatabase(t), testenv.Redis(t), 400, 400, 400, 400)
	var workers []*app.Worker
	var done []chan error
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 3 {
		spec := workerconfig.Defaults()
		spec.HTTP.Addr, spec.HTTP.DrainDelay = "127.0.0.1:0", 0
		spec.Database.URL, spec.Redis.URL = config.Secret(s.dbURL), config.Secret(s.redisURL)
		spec.Consumer.Name, spec.Consumer.Concurrency, spec.Consumer.Block = "inproc-"+strconv.Itoa(i), 4, 100*time.Millisecond
		spec.Consumer.ClaimIdle, spec.Consumer.ClaimInterval, spec.Notifier.Kind = 2*time.Second, 300*time.Millisecond, "none"
		w, err := app.New(context.Background(), spec, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		ch := make(chan error, 1)
		go func() { ch <- w.Consumer.Run(ctx) }()
		workers, done = append(workers, w), append(done, ch)
	}
	sent := make(chan []uuid.UUID, 1)
	go func() { sent <- s.enqueue(1500, 4, 4*time.Millisecond) }()
	deadline := time.Now().Add(2 * time.Minute)
	for round := 0; round < 6 || s.decided() < 1200; round++ {
		if time.Now().After(deadline) {
			t.Fatalf("only %d orders decided in 2 minutes", s.decided())
		}
		for i, w := range workers {
			w.Consumer.SetConcurrency(1 + (round+i)%8)
		}
		st := pause.State{Paused: round%4 == 1, Reason: "race test"}
		if err := pause.Write(context.Background(), s.rdb, pause.Consumption, st); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err := pause.Write(context.Background(), s.rdb, pause.Consumption, pause.State{}); err != nil {
		t.Fatal(err)
	}
	ids := <-sent
	s.waitDecided(ids, 2*time.Minute)
	s.checkInvariants(ids)
	cancel()
	for i, ch := range done {
		if err := <-ch; err != nil {
			t.Errorf("worker %d did not drain cleanly: %v", i, err)
		}
	}
}
