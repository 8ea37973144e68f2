// Command gen-dashboards writes the shop's Grafana dashboards as JSON into a
// directory (`make dashboards` writes dashboards/grafana/).
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
	return nil
}
