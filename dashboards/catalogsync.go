//lint:file-ignore SA1019 the classic dashboard JSON (dashboard.Dashboard) is what Grafana's file provisioning loads; dashboardv2 needs Grafana 12's v2 API.

package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

func catalogSync() (dashboard.Dashboard, error) {
	s := func(extra ...string) string { return sel("catalog-sync", extra...) }
	b := newBoard("shop-catalog-sync", "Shop catalog-sync", "catalog-sync").
		Description("Postgres catalogue → Directus: outbox relay lag and failures, reconcile.").
		WithRow(row("Relay")).
		WithPanel(graph("Sync lag", "From the product write (outbox insert) to Directus confirming it.", "s",
			q{quantile("0.5", "shop_catalog_sync_lag_seconds", s(), ""), "p50"},
			q{quantile("0.99", "shop_catalog_sync_lag_seconds", s(), ""), "p99"})).
		WithPanel(graph("Events relayed", "By result: created, updated, stale (Directus already had this or a newer version), superseded (a newer snapshot of the product was sent instead: coalescing).", "ops",
			q{"sum by (result) (" + rate("shop_catalog_events_relayed_total", s()) + ")", "{{result}}"})).
		WithPanel(graph("Batching", "Products per Directus batch write (average), and Directus write requests (POST, PATCH) per settled event: the relay's work grows with the products that changed, not with the orders.", "short",
			q{"sum(" + rate("shop_catalog_relay_batch_products_sum", s()) + ") / sum(" + rate("shop_catalog_relay_batch_products_count", s()) + ")", "products per batch"},
			q{"sum(" + rate("shop_catalog_target_requests_total", s(`method=~"POST|PATCH"`)) + ") / sum(" + rate("shop_catalog_events_relayed_total", s()) + ")", "writes per event"})).
		WithPanel(graph("Push failures", "By reason: unavailable (Directus away, relay paused), refused, undecodable, dead (dead-lettered). 0 when none.", "short",
			q{"sum by (reason) (increase(shop_catalog_events_failed_total" + s() + "[$__rate_interval]))\nor vector(0)", "{{reason}}"})).
		WithPanel(graph("Outbox", "Events not yet relayed, and dead-lettered events (see last_error in catalog_outbox).", "short",
			q{"max(shop_catalog_outbox_pending" + s() + ")", "pending"},
			q{"max(shop_catalog_outbox_dead" + s() + ")", "dead"})).
		WithRow(row("Reconcile")).
		WithPanel(single("Since last successful reconcile", "Alert ShopCatalogReconcileStale fires after 3 intervals.", "s",
			q{"time() - max(shop_catalog_reconcile_last_success_timestamp_seconds" + s() + ")", "age"}).Span(8)).
		WithPanel(graph("Differences fixed by reconcile", "Items missing from, stale in, or extra in Directus that the reconcile fixed.", "short",
			q{"sum by (kind) (increase(shop_catalog_reconcile_differences_total" + s() + "[$__rate_interval]))", "{{kind}}"}).Span(8)).
		WithPanel(graph("Reconcile duration", "", "s",
			q{quantile("0.99", "shop_catalog_reconcile_duration_seconds", s(), ""), "p99"}).Span(8))
	return runtimePanels(b, "catalog-sync").Build()
}
