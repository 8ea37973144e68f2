// Package dashboards defines the shop's Grafana dashboards in Go (with
// grafana-foundation-sdk) and renders them to the JSON files in grafana/
// that Grafana provisions (`make dashboards` regenerates them; a test fails
// when the committed files differ). Every panel query selects services by
// job (api, order-worker, catalog-sync) and filters on the template
// variables $namespace and $instance, whose "All" value is the regex ".*" so
// that the queries also match a local Prometheus that adds no namespace
// label.
package dashboards

//lint:file-ignore SA1019 the classic dashboard JSON (dashboard.Dashboard) is what Grafana's file provisioning loads; dashboardv2 needs Grafana 12's v2 API.

import (
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// DatasourceUID is the uid of the Prometheus datasource the provisioning
// file creates; the dashboards also offer a $datasource variable.
const DatasourceUID = "prometheus"

// Board is one dashboard, the file it is written to and the chart that
// ships it to Kubernetes (as a ConfigMap for the Grafana sidecar).
type Board struct {
	File  string // name in grafana/, e.g. "shop-overview.json"
	Chart string // charts/<Chart>/files/dashboards/<File>
	Build func() (dashboard.Dashboard, error)
}

// All lists the shop's dashboards. The overview goes with the api, the
// shop's front door.
func All() []Board {
	return []Board{
		{"shop-overview.json", "api", overview},
		{"api.json", "api", api},
		{"order-worker.json", "order-worker", orderWorker},
		{"catalog-sync.json", "catalog-sync", catalogSync},
	}
}

// q is one panel query: a PromQL expression with its legend.
type q struct{ expr, legend string }

// sel renders a label selector body for job plus the template variables;
// extra matchers come first. `{sel("api", `code=~"5.."`)}` →
// {code=~"5..",job="api",namespace=~"$namespace",instance=~"$instance"}.
func sel(job string, extra ...string) string {
	m := append([]string{}, extra...)
	if job != "" {
		m = append(m, `job="`+job+`"`)
	}
	m = append(m, `namespace=~"$namespace"`, `instance=~"$instance"`)
	return "{" + strings.Join(m, ",") + "}"
}

// rate is rate(metric{selector}[$__rate_interval]).
func rate(metric, selector string) string {
	return "rate(" + metric + selector + "[$__rate_interval])"
}

func dsRef() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}
}

func targets(qs []q) []cog.Builder[variants.Dataquery] {
	return queries(qs, func(b *prometheus.DataqueryBuilder) *prometheus.DataqueryBuilder { return b.Range() })
}

// instantTargets are qs as instant queries: one value each, at the end of
// the dashboard's range.
func instantTargets(qs []q) []cog.Builder[variants.Dataquery] {
	return queries(qs, func(b *prometheus.DataqueryBuilder) *prometheus.DataqueryBuilder { return b.Instant() })
}

// queries builds one Prometheus query per q, of the kind that kind sets.
func queries(qs []q, kind func(*prometheus.DataqueryBuilder) *prometheus.DataqueryBuilder) []cog.Builder[variants.Dataquery] {
	var out []cog.Builder[variants.Dataquery]
	for i, x := range qs {
		out = append(out, kind(prometheus.NewDataqueryBuilder().
			Datasource(dsRef()).
			Expr(x.expr).
			LegendFormat(x.legend)).
			RefId(string(rune('A'+i))))
	}
	return out
}

// graph is a time series panel.
func graph(title, desc, unit string, qs ...q) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).Description(desc).Unit(unit).
		Datasource(dsRef()).Targets(targets(qs)).
		Height(8).Span(12).
		FillOpacity(10).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true))
}

// single is a stat panel showing the last value.
func single(title, desc, unit string, qs ...q) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).Description(desc).Unit(unit).
		Datasource(dsRef()).Targets(targets(qs)).
		Height(4).Span(6).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		GraphMode(common.BigValueGraphModeArea)
}

// bars is a horizontal bar gauge of instant queries, one bar per query in
// the order given (a funnel when the queries are its steps).
func bars(title, desc, unit string, qs ...q) *bargauge.PanelBuilder {
	return bargauge.NewPanelBuilder().
		Title(title).Description(desc).Unit(unit).
		Datasource(dsRef()).Targets(instantTargets(qs)).
		Height(8).Span(12).
		Orientation(common.VizOrientationHorizontal).
		DisplayMode(common.BarGaugeDisplayModeBasic).
		ShowUnfilled(true).
		Decimals(0).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
}

// newBoard starts a dashboard with the shared settings and variables:
// $datasource, $namespace and $instance (instances of job; all jobs when job
// is empty).
func newBoard(uid, title, job string) *dashboard.DashboardBuilder {
	upSel := `up{namespace=~"$namespace"}`
	if job != "" {
		upSel = `up{job="` + job + `",namespace=~"$namespace"}`
	}
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Tags([]string{"goshop"}).
		Refresh("30s").
		Time("now-1h", "now").
		Timezone("browser").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Data source").
			Type("prometheus").
			Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr("Prometheus")},
				Value: dashboard.StringOrArrayOfString{String: cog.ToPtr(DatasourceUID)}})).
		WithVariable(queryVariable("namespace", "Namespace", `label_values(up, namespace)`)).
		WithVariable(queryVariable("instance", "Instance", `label_values(`+upSel+`, instance)`))
}

// queryVariable is a multi-select label_values variable whose "All" is the
// regex ".*" (not Grafana's default alternation of the found values): with
// no namespace label at all, as locally, "All" still matches every series.
func queryVariable(name, label, query string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(dsRef()).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr("All")},
			Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("$__all")}})
}

// row is a collapsed=false row header.
func row(title string) *dashboard.RowBuilder { return dashboard.NewRowBuilder(title) }
