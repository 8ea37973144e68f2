//lint:file-ignore SA1019 the classic dashboard JSON (dashboard.Dashboard) is what Grafana's file provisioning loads; dashboardv2 needs Grafana 12's v2 API.

package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

func orderWorker() (dashboard.Dashboard, error) {
	s := func(extra ...string) string { return sel("order-worker", extra...) }
	b := newBoard("shop-order-worker", "Shop order-worker", "order-worker").
		Description("The consumer group on new_orders: throughput, decisions, the queue, dead letters, replicas.").
		WithRow(row("Throughput and decisions")).
		WithPanel(graph("Orders decided", "By result: confirmed, failed, duplicate (a redelivered entry recognised by its order id).", "reqps",
			q{"sum by (result) (" + rate("shop_orders_processed_total", s()) + ")", "{{result}}"})).
		WithPanel(graph("Failed orders by reason", "insufficient_stock, unknown_product, inactive_product, mixed_currency, ...", "reqps",
			q{"sum by (reason) (" + rate("shop_orders_processed_total", s(`result="failed"`)) + ")", "{{reason}}"})).
		WithPanel(graph("Processing time", "From taking an entry off the stream to its acknowledged decision.", "s",
			q{quantile("0.5", "shop_order_processing_seconds", s(), ""), "p50"},
			q{quantile("0.99", "shop_order_processing_seconds", s(), ""), "p99"})).
		WithPanel(graph("Throughput per instance", "How the group shares the stream.", "reqps",
			q{"sum by (instance) (" + rate("shop_orders_processed_total", s()) + ")", "{{instance}}"})).
		WithRow(row("Queue")).
		WithPanel(graph("Stream lag and pending", "lag: not yet delivered to the group; pending: delivered, not acknowledged. "+
			"Every worker reports the same stream, hence max.", "short",
			q{"max(shop_order_stream_lag" + s() + ")", "lag"},
			q{"max(shop_order_stream_pending" + s() + ")", "pending"})).
		WithPanel(graph("Oldest pending entry age", "Grows when a consumer holds entries without acknowledging them "+
			"(crashed worker before claimIdle, or Postgres away).", "s",
			q{"max(shop_order_stream_oldest_pending_age_seconds" + s() + ")", "oldest pending"})).
		WithPanel(graph("Claims and transient failures", "Entries taken over from dead consumers; retried failures by dependency (0 when none).", "short",
			q{"sum(increase(shop_order_entries_claimed_total" + s() + "[$__rate_interval]))", "claimed"},
			q{"sum by (dependency) (increase(shop_order_transient_failures_total" + s() + "[$__rate_interval]))\nor vector(0)", "retried {{dependency}}"})).
		WithPanel(graph("Consumers and replicas", "Consumers registered in the group vs. worker targets up.", "short",
			q{"max(shop_order_group_consumers" + s() + ")", "group consumers"},
			q{"sum(up" + s() + ")", "targets up"})).
		WithRow(row("Dead letters")).
		WithPanel(single("Dead letters waiting", "Entries in new_orders:dead: `order-worker dlq list`, then `dlq replay`.", "short",
			q{"max(shop_order_dead_letters" + s() + ")", "dead letters"}).Span(12)).
		WithPanel(graph("Dead-lettered by reason", "0 when nothing was dead-lettered in the range.", "short",
			q{"sum by (reason) (increase(shop_orders_dead_lettered_total" + s() + "[$__rate_interval]))\nor vector(0)", "{{reason}}"}).Height(4))
	return runtimePanels(b, "order-worker").Build()
}
