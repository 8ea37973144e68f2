package payment

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts payment outcomes and refunds.
type Metrics struct {
	payments  *prometheus.CounterVec
	refunds   *prometheus.CounterVec
	timeToPay prometheus.Histogram
}

// NewMetrics registers the payment metrics of provider with reg, every
// known series at zero (so dashboards and increase() see the first event).
func NewMetrics(reg prometheus.Registerer, provider string) *Metrics {
	m := &Metrics{
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_payments_total",
			Help: "Payment attempts answered by the provider, by outcome and decline reason."}, []string{"provider", "outcome", "reason"}),
		refunds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_refunds_total",
			Help: "Refund requests to the provider, by outcome (failed ones are retried)."}, []string{"provider", "outcome"}),
		timeToPay: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "shop_order_time_to_pay_seconds",
			Help:    "Time from an order's confirmation to its payment.",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600}}),
	}
	reg.MustRegister(m.payments, m.refunds, m.timeToPay)
	m.payments.WithLabelValues(provider, Succeeded, "")
	m.payments.WithLabelValues(provider, Processing, "")
	for _, r := range []string{ReasonDeclined, ReasonInsufficientFunds, ReasonExpiredCard, ReasonInvalidMethod, ReasonAbandoned, ReasonInjected} {
		m.payments.WithLabelValues(provider, Failed, r)
	}
	m.refunds.WithLabelValues(provider, "succeeded")
	m.refunds.WithLabelValues(provider, "failed")
	return m
}

func (m *Metrics) settled(provider string, r Result) {
	m.payments.WithLabelValues(provider, r.Status, r.Reason).Inc()
}

func (m *Metrics) refund(provider string, ok bool) {
	outcome := "failed"
	if ok {
		outcome = "succeeded"
	}
	m.refunds.WithLabelValues(provider, outcome).Inc()
}
