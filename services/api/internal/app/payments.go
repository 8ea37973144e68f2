package app

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/api/internal/httpapi"
	"github.com/goshop-platform/shop/services/api/internal/livestatus"
	"github.com/goshop-platform/shop/services/api/internal/order"
	"github.com/goshop-platform/shop/services/api/internal/payment"
	"github.com/goshop-platform/shop/services/api/internal/payment/stripe"
)

// wirePayments builds the order lifecycle's edge: the configured payment
// provider, the payment service and its sweep, and cancel/ship/deliver.
func (a *App) wirePayments(api *httpapi.API, spec apiconfig.Spec, reg prometheus.Registerer, log *slog.Logger) error {
	ps := spec.Payments
	var provider payment.Provider = payment.Mock{ProcessingDelay: ps.Mock.ProcessingDelay}
	if ps.Provider == "stripe" {
		sp, err := newStripe(ps.Stripe)
		if err != nil {
			return err
		}
		provider, api.Webhooks = sp, sp
	}
	changed := livestatus.Publisher{Redis: a.Redis, Log: log}
	transitions := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_order_transitions_total",
		Help: "Order status transitions after the decision, by new status and who caused them."}, []string{"to", "by"})
	reg.MustRegister(transitions)
	for _, tb := range [][2]string{{"paid", "customer"}, {"paid", "provider"}, {"shipped", "admin"}, {"delivered", "admin"},
		{"cancelled", "customer"}, {"cancelled", "admin"}} {
		transitions.WithLabelValues(tb[0], tb[1]) // every series from the start, at zero
	}
	counted := func(to, by string) { transitions.WithLabelValues(to, by).Inc() }
	svc := &payment.Service{DB: a.DB, Provider: provider, Changed: changed, Metrics: payment.NewMetrics(reg, provider.Name()), Counted: counted}
	a.Sweep = &payment.Sweep{Service: svc, Log: log, Every: ps.SweepInterval, After: ps.RecheckAfter}
	api.Payments = svc
	api.Lifecycle = &order.Lifecycle{DB: a.DB, Refunds: svc, MarkRefund: payment.MarkRefund, Changed: changed, Counted: counted}
	return nil
}

func newStripe(c apiconfig.Stripe) (*stripe.Provider, error) {
	return stripe.New(stripe.Config{SecretKey: c.SecretKey.Value(), WebhookSecret: c.WebhookSecret.Value(),
		BackendURL: c.BackendURL, Timeout: c.Timeout})
}
