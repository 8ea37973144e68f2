//lint:file-ignore SA1019 the classic dashboard JSON (dashboard.Dashboard) is what Grafana's file provisioning loads; dashboardv2 needs Grafana 12's v2 API.

package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

func api() (dashboard.Dashboard, error) {
	s := func(extra ...string) string { return sel("api", extra...) }
	b := newBoard("shop-api", "Shop api", "api").
		Description("The public HTTP API: RED per route, order intake, live status streams, runtime.").
		WithRow(row("HTTP (RED per route)")).
		WithPanel(graph("Requests by route and status", "", "reqps",
			q{"sum by (route, code) (" + rate("http_server_requests_total", s()) + ")", "{{route}} {{code}}"})).
		WithPanel(graph("5xx ratio by route", "0 for routes without 5xx.", "percentunit",
			q{"sum by (route) (" + rate("http_server_requests_total", s(`code=~"5.."`)) + ")\n/ sum by (route) (" +
				rate("http_server_requests_total", s()) + ")\nor sum by (route) (" + rate("http_server_requests_total", s()) + ") * 0",
				"{{route}}"})).
		WithPanel(graph("Latency p99 by route", "", "s",
			q{quantile("0.99", "http_server_request_duration_seconds", s(), "route"), "{{route}}"})).
		WithPanel(graph("Requests in flight", "", "short",
			q{"sum by (instance) (http_server_requests_in_flight" + s() + ")", "{{instance}}"})).
		WithRow(row("Orders")).
		WithPanel(graph("Orders accepted", "replayed=true: a retry with a known Idempotency-Key got the same order back.", "reqps",
			q{"sum by (replayed) (" + rate("shop_orders_accepted_total", s()) + ")", "replayed={{replayed}}"})).
		WithPanel(graph("Orders refused at intake", "By reason: bad_request (400), invalid (422), rate_limited (429), unavailable (503).", "reqps",
			q{"sum by (reason) (" + rate("shop_orders_intake_rejected_total", s()) + ")", "{{reason}}"})).
		WithPanel(graph("Live status streams", "Open server-sent event streams per replica.", "short",
			q{"sum by (instance) (shop_live_status_streams" + s() + ")", "{{instance}}"}))
	return runtimePanels(b, "api").Build()
}

// runtimePanels are the Go process panels of a service: CPU, memory,
// goroutines per instance.
func runtimePanels(b *dashboard.DashboardBuilder, job string) *dashboard.DashboardBuilder {
	return b.WithRow(row("Runtime")).
		WithPanel(graph("CPU", "Cores used per instance.", "short",
			q{"sum by (instance) (" + rate("process_cpu_seconds_total", sel(job)) + ")", "{{instance}}"}).Span(8)).
		WithPanel(graph("Memory", "Resident memory and Go heap in use per instance.", "bytes",
			q{"sum by (instance) (process_resident_memory_bytes" + sel(job) + ")", "RSS {{instance}}"},
			q{"sum by (instance) (go_memstats_heap_inuse_bytes" + sel(job) + ")", "heap {{instance}}"}).Span(8)).
		WithPanel(graph("Goroutines", "", "short",
			q{"sum by (instance) (go_goroutines" + sel(job) + ")", "{{instance}}"}).Span(8))
}
