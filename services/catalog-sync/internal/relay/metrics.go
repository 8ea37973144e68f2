package relay

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the relay's Prometheus series.
type Metrics struct {
	Relayed *prometheus.CounterVec // result: created, updated, stale
	Failed  *prometheus.CounterVec // reason: unavailable, refused, undecodable, dead
	Lag     prometheus.Histogram
	Pending prometheus.Gauge
	Dead    prometheus.Gauge
}

// NewMetrics registers the relay's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Relayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_catalog_events_relayed_total",
			Help: "Outbox events confirmed by Directus, by result (created, updated, stale = Directus already had this or a newer version).",
		}, []string{"result"}),
		Failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_catalog_events_failed_total",
			Help: "Failed pushes of outbox events, by reason (unavailable, refused, undecodable, dead = dead-lettered).",
		}, []string{"reason"}),
		Lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shop_catalog_sync_lag_seconds",
			Help:    "Time from the outbox insert (the product write) to Directus confirming it.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900},
		}),
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shop_catalog_outbox_pending",
			Help: "Outbox events not yet relayed (neither processed nor dead).",
		}),
		Dead: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shop_catalog_outbox_dead",
			Help: "Dead-lettered outbox events (dead_at set); see last_error in catalog_outbox.",
		}),
	}
	reg.MustRegister(m.Relayed, m.Failed, m.Lag, m.Pending, m.Dead)
	return m
}
