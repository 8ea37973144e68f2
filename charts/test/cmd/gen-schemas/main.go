// Command gen-schemas writes what the charts take from the services' Go
// code (`make schemas`): every chart's values.schema.json, composed by
// package schemagen from the charts' values.schema.src.json files and the
// services' `config-schema` output, and the library chart's template of
// the order stream names (package streamnames, from orderstream). Run it
// from the repository root: it runs each service with `go run`.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"github.com/goshop-platform/shop/charts/test/schemagen"
	"github.com/goshop-platform/shop/charts/test/streamnames"
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
	path := filepath.Join(*charts, streamnames.Path)
	if err := os.WriteFile(path, streamnames.Template(), 0o644); err != nil {
		return err
	}
	fmt.Println("wrote", path)
	return nil
}
