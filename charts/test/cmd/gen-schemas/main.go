// Command gen-schemas writes every chart's values.schema.json (`make
// schemas`), composed by package schemagen from the charts'
// values.schema.src.json files and the services' `config-schema` output.
// Run it from the repository root: it runs each service with `go run`.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"github.com/goshop-platform/shop/charts/test/schemagen"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen-schemas:", err)
		os.Exit(1)
	}
}

func run() error {
	charts := flag.String("charts", "charts", "the charts folder")
	services := flag.String("services", "services", "the services folder (services/<name>/cmd/<name> has the config-schema command)")
	flag.Parse()
	out, err := schemagen.Generate(*charts, schemagen.FromCommand(func(service string) *exec.Cmd {
		return exec.Command("go", "run", "./"+filepath.Join(*services, service, "cmd", service), "config-schema")
	}))
	if err != nil {
		return err
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		path := filepath.Join(*charts, n, "values.schema.json")
		if err := os.WriteFile(path, out[n], 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}
	return nil
}
