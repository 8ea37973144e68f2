package relay

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the relay's Prometheus series.
type Metrics struct {
	Relayed       *prometheus.CounterVec // result: created, updated, stale, superseded
	Failed        *prometheus.CounterVec // reason: unavailable, refused, undecodable, dead
	Lag           prometheus.Histogram
	Pending       prometheus.Gauge
	Dead          prometheus.Gauge
	BatchProducts prometheus.Histogram
	BatchDuration prometheus.Histogram
	Fallbacks     prometheus.Counter
}

// NewMetrics registers the relay's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Relayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_catalog_events_relayed_total",
			Help: "Outbox events settled after Directus confirmed their product's newest snapshot, by result: created, updated, stale (Directus already had this or a newer version), superseded (a newer snapshot of the product was sent instead).",
		}, []string{"result"}),
		Failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_catalog_events_failed_total",
			Help: "Failed pushes of product snapshots, by reason (unavailable, refused, undecodable, dead = dead-lettered).",
		}, []string{"reason"}),
		Lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shop_catalog_sync_lag_seconds",
			Help:    "Time from the outbox insert (the product write) to Directus confirming it or a newer snapshot of the product.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2, 3, 5, 10, 30, 60, 300, 900},
		}),
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shop_catalog_outbox_pending",
			Help: "Outbox events not yet relayed (neither processed nor dead).",
		}),
		Dead: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shop_catalog_outbox_dead",
			Help: "Dead-lettered outbox events (dead_at set); see last_error in catalog_outbox.",
		}),
		BatchProducts: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shop_catalog_relay_batch_products",
			Help:    "Products (one snapshot each) per batch the relay sends to Directus.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000},
		}),
		BatchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shop_catalog_relay_batch_duration_seconds",
			Help:    "Time of one relay batch: lock the products, read their events, write Directus, settle the events, commit.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		Fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shop_catalog_relay_batch_fallbacks_total",
			Help: "Batch writes Directus refused, after which each product of the batch was upserted on its own.",
		}),
	}
	for _, r := range []string{"created", "updated", "stale", "superseded"} {
		m.Relayed.WithLabelValues(r)
	}
	reg.MustRegister(m.Relayed, m.Failed, m.Lag, m.Pending, m.Dead, m.BatchProducts, m.BatchDuration, m.Fallbacks)
	return m
}
