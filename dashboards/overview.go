//lint:file-ignore SA1019 the classic dashboard JSON (dashboard.Dashboard) is what Grafana's file provisioning loads; dashboardv2 needs Grafana 12's v2 API.

package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// intake selects the order intake route of the api.
var intake = []string{`route="/api/v1/orders"`, `method="POST"`}

// quantile is histogram_quantile(phi, ...) of a histogram's buckets summed
// over instances (and by the extra labels in by).
func quantile(phi, metric, selector, by string) string {
	if by != "" {
		by += ", "
	}
	return "histogram_quantile(" + phi + ", sum by (" + by + "le) (" + rate(metric+"_bucket", selector) + "))"
}

// inRange is how much counter metric{selector} grew over the dashboard's
// time range, summed over instances.
func inRange(metric, selector string) string {
	return "sum(increase(" + metric + selector + "[$__range]))"
}

func overview() (dashboard.Dashboard, error) {
	api := func(extra ...string) string { return sel("api", append(append([]string{}, intake...), extra...)...) }
	worker := sel("order-worker")
	return newBoard("shop-overview", "Shop overview", "").
		Description("Orders from intake to decision, payment, shipment and delivery, the queue between intake and decision, and catalogue sync, across all services.").
		WithRow(row("Orders")).
		WithPanel(graph("Order funnel", "Orders accepted by the api (202; idempotent replays excluded), "+
			"then confirmed or failed (by reason) by order-worker.", "reqps",
			q{"sum(" + rate("shop_orders_accepted_total", sel("api", `replayed="false"`)) + ")", "accepted"},
			q{"sum(" + rate("shop_orders_processed_total", sel("order-worker", `result="confirmed"`)) + ")", "confirmed"},
			q{"sum by (reason) (" + rate("shop_orders_processed_total", sel("order-worker", `result="failed"`)) + ")", "failed: {{reason}}"})).
		WithPanel(graph("Order intake error ratio", "Share of POST /api/v1/orders answered 5xx (the availability SLO's "+
			"error ratio; 0 while there are requests and no errors).", "percentunit",
			q{"(sum(" + rate("http_server_requests_total", api(`code=~"5.."`)) + ") or vector(0))\n/ sum(" +
				rate("http_server_requests_total", api()) + ")", "5xx ratio"})).
		WithPanel(graph("Order intake latency", "Time to answer POST /api/v1/orders (202 once the order is on the stream).", "s",
			q{quantile("0.5", "http_server_request_duration_seconds", api(), ""), "p50"},
			q{quantile("0.99", "http_server_request_duration_seconds", api(), ""), "p99"})).
		WithPanel(graph("Order decision latency (202 → confirmed/failed)", "From the api's 202 to order-worker's committed decision.", "s",
			q{quantile("0.5", "shop_order_end_to_end_seconds", worker, ""), "p50"},
			q{quantile("0.99", "shop_order_end_to_end_seconds", worker, ""), "p99"})).
		WithRow(row("Order lifecycle and payments")).
		WithPanel(bars("Order funnel over the range", "Orders that reached each step in the dashboard's time range: "+
			"confirmed by order-worker, then paid, shipped, delivered (api); and the other ways out: failed at the "+
			"decision, cancelled (customer or admin), expired unpaid after the payment window (order-worker).", "short",
			q{inRange("shop_orders_processed_total", sel("order-worker", `result="confirmed"`)), "confirmed"},
			q{inRange("shop_order_transitions_total", sel("api", `to="paid"`)), "paid"},
			q{inRange("shop_order_transitions_total", sel("api", `to="shipped"`)), "shipped"},
			q{inRange("shop_order_transitions_total", sel("api", `to="delivered"`)), "delivered"},
			q{inRange("shop_order_transitions_total", sel("api", `to="cancelled"`)), "cancelled"},
			q{inRange("shop_order_transitions_total", sel("order-worker", `to="expired"`)), "expired"},
			q{inRange("shop_orders_processed_total", sel("order-worker", `result="failed"`)), "failed"})).
		WithPanel(graph("Payment outcomes", "Payment attempts by outcome (succeeded, processing: settles later, failed) "+
			"and, for failed, the reason: card_declined, insufficient_funds, expired_card, abandoned (no provider answer "+
			"was ever recorded).", "ops",
			q{"sum by (outcome, reason) (" + rate("shop_payments_total", sel("api")) + ")", "{{outcome}} {{reason}}"})).
		WithPanel(graph("Payment failure ratio", "Failed payment attempts / all attempts (alert ShopPaymentDeclineRatioHigh: "+
			"> 30 % over 15 min). NaN while nobody pays.", "percentunit",
			q{"sum(" + rate("shop_payments_total", sel("api", `outcome="failed"`)) + ")\n/ sum(" +
				rate("shop_payments_total", sel("api")) + ")", "failed"}).Span(8)).
		WithPanel(graph("Time from confirmed to paid", "From order-worker's confirmation to the payment that made the "+
			"order paid (unpaid orders expire after the payment window, 15 min by default).", "s",
			q{quantile("0.5", "shop_order_time_to_pay_seconds", sel("api"), ""), "p50"},
			q{quantile("0.9", "shop_order_time_to_pay_seconds", sel("api"), ""), "p90"},
			q{quantile("0.99", "shop_order_time_to_pay_seconds", sel("api"), ""), "p99"}).Span(8)).
		WithPanel(graph("Refunds", "Refunds of cancelled paid orders by outcome. Failed refunds need manual action "+
			"(alert ShopRefundsFailing).", "short",
			q{"sum by (outcome) (increase(shop_refunds_total" + sel("api") + "[$__rate_interval]))", "{{outcome}}"}).Span(8)).
		WithPanel(graph("Expired and cancelled orders", "Confirmed orders expired unpaid by order-worker, and orders "+
			"cancelled by customers or admins.", "short",
			q{"sum(increase(shop_order_transitions_total" + sel("order-worker", `to="expired"`) + "[$__rate_interval]))", "expired"},
			q{"sum by (by) (increase(shop_order_transitions_total" + sel("api", `to="cancelled"`) + "[$__rate_interval]))", "cancelled by {{by}}"})).
		WithPanel(graph("Orders awaiting payment", "Confirmed orders not yet paid (they hold their stock until paid, "+
			"cancelled or expired). Every worker reports the same count, hence max.", "short",
			q{"max(shop_orders_awaiting_payment" + sel("order-worker") + ")", "awaiting payment"})).
		WithRow(row("Queue and catalogue")).
		WithPanel(graph("Order backlog", "new_orders entries not yet delivered to the group (lag) and delivered but not "+
			"acknowledged (pending). Every worker reports the same stream, hence max.", "short",
			q{"max(shop_order_stream_lag" + worker + ")", "lag"},
			q{"max(shop_order_stream_pending" + worker + ")", "pending"})).
		WithPanel(graph("Oldest pending order age", "Age of the oldest delivered but unacknowledged entry.", "s",
			q{"max(shop_order_stream_oldest_pending_age_seconds" + worker + ")", "oldest pending"})).
		WithPanel(single("Dead letters", "Entries in new_orders:dead awaiting an operator (order-worker dlq list).", "short",
			q{"max(shop_order_dead_letters" + worker + ")", "dead letters"})).
		WithPanel(single("Order workers up", "order-worker targets Prometheus scrapes successfully.", "short",
			q{"sum(up" + worker + ")", "up"})).
		WithPanel(single("Catalogue outbox pending", "Product changes not yet in Directus.", "short",
			q{"max(shop_catalog_outbox_pending" + sel("catalog-sync") + ")", "pending"})).
		WithPanel(single("Catalogue sync lag p99", "From the product write to Directus confirming it.", "s",
			q{quantile("0.99", "shop_catalog_sync_lag_seconds", sel("catalog-sync"), ""), "p99"})).
		WithRow(row("Fault injection")).
		WithPanel(graph("Fault injection", "1 while a fault-injection flag (spec.faults of api, order-worker or "+
			"catalog-sync; docs/fault-injection.md) is on in any instance, 0 while it is off. Nothing should be on in "+
			"production (alert ShopFaultInjectionActive).", "short",
			q{"max by (flag) (shop_fault_injection_active" + sel("") + ")", "{{flag}}"}).Min(0).Max(1).Decimals(0)).
		WithPanel(graph("Faults injected", "Attempts failed and work delayed on purpose per second, by flag: "+
			"what the flags above are doing to the shop right now.", "ops",
			q{"sum by (flag) (" + rate("shop_fault_injections_total", sel("")) + ")", "{{flag}}"})).
		Build()
}
