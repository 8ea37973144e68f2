//lint:file-ignore SA1019 the classic dashboard JSON (dashboard.Dashboard) is what Grafana's file provisioning loads; dashboardv2 needs Grafana 12's v2 API.

package dashboards_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/goshop-platform/shop/dashboards"
)

// The committed JSON is exactly what the Go code generates: edit the code,
// then run `make dashboards`.
func TestCommittedJSONIsGenerated(t *testing.T) {
	files, _ := filepath.Glob("grafana/*.json")
	if len(files) != len(dashboards.All()) {
		t.Errorf("grafana/ holds %d JSON files, the code defines %d dashboards: run `make dashboards` and delete stale files", len(files), len(dashboards.All()))
	}
	for _, b := range dashboards.All() {
		want, err := dashboards.Render(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("grafana", b.File))
		if err != nil {
			t.Fatalf("%v: run `make dashboards`", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("grafana/%s differs from what the code generates: run `make dashboards` (and never edit the JSON by hand)", b.File)
		}
	}
}

// Each file is a valid dashboard: the strict decoder of the SDK rejects
// unknown keys and wrong types (every target names its datasource type, so
// its keys are checked too). In v0.0.22 UnmarshalJSONStrict returns an empty,
// non-nil cog.BuildErrors on success, so only a non-empty one is a failure.
func TestDashboardsAreValidAndConsistent(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	uids := map[string]string{}
	for _, b := range dashboards.All() {
		raw, err := os.ReadFile(filepath.Join("grafana", b.File))
		if err != nil {
			t.Fatal(err)
		}
		var strict dashboard.Dashboard
		if err := strict.UnmarshalJSONStrict(raw); err != nil {
			var be cog.BuildErrors
			if !errors.As(err, &be) || len(be) > 0 {
				t.Errorf("%s: %v", b.File, err)
			}
		}
		var d struct {
			UID       string `json:"uid"`
			Templated struct {
				List []struct {
					Name     string `json:"name"`
					AllValue string `json:"allValue"`
				} `json:"list"`
			} `json:"templating"`
			Panels []struct {
				Type    string `json:"type"`
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("%s and %s share uid %q", b.File, other, d.UID)
		}
		uids[d.UID] = b.File
		vars := map[string]string{}
		for _, v := range d.Templated.List {
			vars[v.Name] = v.AllValue
		}
		for _, name := range []string{"namespace", "instance"} {
			if vars[name] != ".*" {
				t.Errorf("%s: variable $%s has allValue %q, want \".*\" (series without the label must still match)", b.File, name, vars[name])
			}
		}
		for _, p := range d.Panels {
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", b.File, p.Title)
			}
			for _, tg := range p.Targets {
				for _, want := range []string{`namespace=~"$namespace"`, `instance=~"$instance"`} {
					if strings.Contains(tg.Expr, "{") && !strings.Contains(tg.Expr, want) {
						t.Errorf("%s: panel %q query lacks %s: %s", b.File, p.Title, want, tg.Expr)
					}
				}
			}
		}
	}
}
