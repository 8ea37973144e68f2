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

func overview() (dashboard.Dashboard, error) {
	api := func(extra ...string) string { return sel("api", append(append([]string{}, intake...), extra...)...) }
	worker := sel("order-worker")
	return newBoard("shop-overview", "Shop overview", "").
		Description("Orders from intake to decision, the queue between them, and catalogue sync, across all services.").
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
		Build()
}
