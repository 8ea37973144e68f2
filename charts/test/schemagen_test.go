package charttest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/goshop-platform/shop/charts/test/schemagen"
)

// Every chart's values.schema.json is what `make schemas` generates now
// from the values.schema.src.json files and the services' Go config types
// (each service binary's config-schema): a new Go config field, an edited
// source or a hand-edited schema fails here until make schemas runs.
func TestValuesSchemasAreGenerated(t *testing.T) {
	bySvc := map[string]chartSpec{}
	for _, spec := range charts {
		bySvc[spec.name] = spec
	}
	want, err := schemagen.Generate(filepath.Join(repoRoot(t), "charts"), schemagen.FromCommand(func(service string) *exec.Cmd {
		spec, ok := bySvc[service]
		if !ok {
			t.Fatalf("no chart spec named %s in chart_test.go", service)
		}
		return exec.Command(serviceBinary(t, spec), "config-schema")
	}))
	if err != nil {
		t.Fatalf("make schemas would fail: %v", err)
	}
	for _, spec := range charts {
		path := filepath.Join(repoRoot(t), "charts", spec.name, "values.schema.json")
		got, err := os.ReadFile(path)
		switch {
		case want[spec.name] == nil:
			t.Errorf("charts/%s has no values.schema.src.json to generate its values.schema.json from", spec.name)
		case err != nil:
			t.Errorf("%v: run make schemas", err)
		case !bytes.Equal(got, want[spec.name]):
			t.Errorf("charts/%s/values.schema.json is not what make schemas generates from its sources and the Go config types: run make schemas (never edit the file by hand)", spec.name)
		}
	}
}
