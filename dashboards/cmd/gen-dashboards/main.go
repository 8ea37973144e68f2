// Command gen-dashboards writes the shop's Grafana dashboards as JSON into a
// directory and, with -charts, what each Helm chart ships of them and of the
// alert rules into the chart (`make dashboards` writes dashboards/grafana/
// and charts/*/files/).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goshop-platform/shop/dashboards"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen-dashboards:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "grafana", "directory to write the dashboard JSON files into")
	charts := flag.String("charts", "", "the charts folder to write each chart's dashboards and alert rule groups into (empty: none)")
	rules := flag.String("rules", "alerts/shop.rules.yml", "the alert rules the charts' groups are cut from")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for _, b := range dashboards.All() {
		data, err := dashboards.Render(b)
		if err != nil {
			return err
		}
		path := filepath.Join(*out, b.File)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}
	if *charts == "" {
		return nil
	}
	src, err := os.ReadFile(*rules)
	if err != nil {
		return err
	}
	files, err := dashboards.ChartFiles(*charts, src)
	if err != nil {
		return err
	}
	wrote, err := dashboards.WriteChartFiles(*charts, files)
	for _, p := range wrote {
		fmt.Println("wrote", p)
	}
	return err
}
