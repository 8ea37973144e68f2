package consumer

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/order-worker/internal/processor"
	"github.com/goshop-platform/shop/services/platform/telemetry"
)

// Metrics are order-worker's business metrics.
type Metrics struct {
	processed *prometheus.CounterVec
	duration  prometheus.Histogram
	endToEnd  prometheus.Histogram
	dead      *prometheus.CounterVec
	transient *prometheus.CounterVec
	claimed   prometheus.Counter
	batch     prometheus.Histogram
	paused    prometheus.Gauge
}

// NewMetrics registers the worker's metrics and a collector that reads the
// stream's state from Redis at scrape time.
func NewMetrics(reg prometheus.Registerer, rdb redis.UniversalClient, keys orderstream.Keyspace) *Metrics {
	buckets := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	m := &Metrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_orders_processed_total",
			Help: "Orders decided by this worker, by result (confirmed, failed, duplicate) and failure reason."}, []string{"result", "reason"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "shop_order_processing_seconds",
			Help: "Time from taking an entry off the stream to its acknowledged decision.", Buckets: buckets}),
		endToEnd: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "shop_order_end_to_end_seconds",
			Help: "Time from the api's 202 (accepted_at in the message) to the decision.", Buckets: buckets}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_orders_dead_lettered_total",
			Help: "Stream entries moved to new_orders:dead, by reason."}, []string{"reason"}),
		transient: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_order_transient_failures_total",
			Help: "Attempts that failed transiently and were retried, by dependency."}, []string{"dependency"}),
		claimed: prometheus.NewCounter(prometheus.CounterOpts{Name: "shop_order_entries_claimed_total",
			Help: "Entries taken over from consumers that held them longer than claimIdle."}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "shop_order_transaction_orders",
			Help: "Orders decided per database transaction (group commit).", Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128}}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{Name: "shop_order_consumption_paused",
			Help: "1 while an operator has paused consumption of new_orders (this worker reads nothing new), else 0."}),
	}
	reg.MustRegister(m.processed, m.duration, m.endToEnd, m.dead, m.transient, m.claimed, m.batch, m.paused, streamCollector{rdb, keys})
	return m
}

// ObserveTransaction records how many orders one transaction decided.
func (m *Metrics) ObserveTransaction(orders int) { m.batch.Observe(float64(orders)) }

func (m *Metrics) observe(ctx context.Context, out processor.Outcome, took, sinceAccepted time.Duration) {
	result := out.Status
	if out.Duplicate {
		result = "duplicate"
	}
	m.processed.WithLabelValues(result, out.Reason).Inc()
	telemetry.ObserveWithTrace(ctx, m.duration, took.Seconds())
	if !out.Duplicate {
		telemetry.ObserveWithTrace(ctx, m.endToEnd, sinceAccepted.Seconds())
	}
}

var (
	lagDesc = prometheus.NewDesc("shop_order_stream_lag",
		"Entries in new_orders not yet delivered to the order-worker group (XINFO GROUPS lag).", nil, nil)
	pendingDesc = prometheus.NewDesc("shop_order_stream_pending",
		"Entries delivered but not yet acknowledged.", nil, nil)
	oldestDesc = prometheus.NewDesc("shop_order_stream_oldest_pending_age_seconds",
		"Age of the oldest unacknowledged entry (0 when none).", nil, nil)
	deadDesc = prometheus.NewDesc("shop_order_dead_letters",
		"Entries in new_orders:dead awaiting an operator.", nil, nil)
	consumersDesc = prometheus.NewDesc("shop_order_group_consumers",
		"Consumers registered in the order-worker group.", nil, nil)
)

// streamCollector asks Redis for the group's state on every scrape, summed
// over the partitions (the oldest pending entry: the oldest of them all).
type streamCollector struct {
	rdb  redis.UniversalClient
	keys orderstream.Keyspace
}

func (streamCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{lagDesc, pendingDesc, oldestDesc, deadDesc, consumersDesc} {
		ch <- d
	}
}

func (s streamCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var st streamState
	for _, p := range s.keys.All() {
		st.add(ctx, s.rdb, s.keys, p)
	}
	if st.groups > 0 {
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(st.lag))
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(st.pending))
		ch <- prometheus.MustNewConstMetric(consumersDesc, prometheus.GaugeValue, float64(st.consumers))
	}
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, st.oldest)
	if st.deadOK {
		ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(st.dead))
	}
}

// streamState adds up the partitions' group state; consumers is the most
// any partition has (every worker reads every partition).
type streamState struct {
	groups, lag, pending, consumers, dead int64
	oldest                                float64
	deadOK                                bool
}

func (st *streamState) add(ctx context.Context, rdb redis.UniversalClient, keys orderstream.Keyspace, p int) {
	if groups, err := rdb.XInfoGroups(ctx, keys.Stream(p)).Result(); err == nil {
		for _, g := range groups {
			if g.Name == orderstream.Group {
				st.groups++
				st.lag += max(g.Lag, 0)
				st.pending += g.Pending
				st.consumers = max(st.consumers, g.Consumers)
			}
		}
	}
	if pend, err := rdb.XPending(ctx, keys.Stream(p), orderstream.Group).Result(); err == nil && pend.Count > 0 {
		ms, _ := splitID(pend.Lower)
		st.oldest = max(st.oldest, time.Since(time.UnixMilli(int64(ms))).Seconds())
	}
	if n, err := rdb.XLen(ctx, keys.DeadLetters(p)).Result(); err == nil {
		st.dead, st.deadOK = st.dead+n, true
	}
}
