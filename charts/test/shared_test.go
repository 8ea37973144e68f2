package charttest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The dashboards and alert rules in the charts are copies of what
// dashboards/ generates and tests (Helm cannot read files outside a chart);
// `make dashboards` refreshes them.
func TestChartCopiesMatchDashboards(t *testing.T) {
	root := repoRoot(t)
	same := func(chartFile, original string) {
		t.Helper()
		got, err := os.ReadFile(chartFile)
		if err != nil {
			t.Errorf("%v: run `make dashboards`", err)
			return
		}
		want, err := os.ReadFile(original)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s: run `make dashboards`", rel(root, chartFile), rel(root, original))
		}
	}
	shipped := map[string]bool{}
	for _, spec := range charts {
		dir := chartDir(t, spec.name)
		have, _ := filepath.Glob(filepath.Join(dir, "files", "dashboards", "*.json"))
		var names []string
		for _, h := range have {
			names = append(names, filepath.Base(h))
		}
		sort.Strings(names)
		if !slices.Equal(names, spec.dashboards) {
			t.Errorf("charts/%s/files/dashboards holds %v, want %v", spec.name, names, spec.dashboards)
		}
		for _, d := range spec.dashboards {
			same(filepath.Join(dir, "files", "dashboards", d), filepath.Join(root, "dashboards", "grafana", d))
			shipped[d] = true
		}
		rules := filepath.Join(dir, "files", "shop.rules.yml")
		if spec.rules {
			same(rules, filepath.Join(root, "dashboards", "alerts", "shop.rules.yml"))
		} else if _, err := os.Stat(rules); err == nil {
			t.Errorf("charts/%s has a shop.rules.yml it does not need", spec.name)
		}
	}
	generated, _ := filepath.Glob(filepath.Join(root, "dashboards", "grafana", "*.json"))
	for _, g := range generated {
		if !shipped[filepath.Base(g)] {
			t.Errorf("dashboard %s is in no chart: add it to a chart's files/dashboards (Makefile target dashboards) and to this test", filepath.Base(g))
		}
	}
}

// Every rule group of dashboards/alerts/shop.rules.yml is rendered by
// exactly one chart (a new group fails here until a chart takes it), and
// every group a chart names exists.
func TestEveryRuleGroupHasOneChart(t *testing.T) {
	root := repoRoot(t)
	groupsOf := func(path string) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Groups []struct {
				Name string `json:"name"`
			} `json:"groups"`
		}
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var names []string
		for _, g := range f.Groups {
			names = append(names, g.Name)
		}
		return names
	}
	owner := map[string][]string{}
	for _, spec := range charts {
		if !spec.service {
			continue
		}
		vals := readValues(t, filepath.Join(chartDir(t, spec.name), "values.yaml"))
		pr := vals["prometheusRule"].(map[string]any)
		files, _ := filepath.Glob(filepath.Join(chartDir(t, spec.name), "files", "*.rules.yml"))
		var available []string
		for _, f := range files {
			available = append(available, groupsOf(f)...)
		}
		for _, g := range pr["groups"].([]any) {
			name := g.(string)
			owner[name] = append(owner[name], spec.name)
			if !slices.Contains(available, name) {
				t.Errorf("charts/%s renders rule group %q, which is not in its files/*.rules.yml", spec.name, name)
			}
		}
	}
	for _, g := range groupsOf(filepath.Join(root, "dashboards", "alerts", "shop.rules.yml")) {
		if len(owner[g]) != 1 {
			t.Errorf("rule group %s of dashboards/alerts/shop.rules.yml is rendered by charts %v, want exactly one", g, owner[g])
		}
	}
}

// The storefront's own alerts fire when they should and stay silent
// otherwise (promtool test rules, like dashboards/alerts).
func TestStorefrontRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: install Debian's prometheus package (sudo apt-get install -y --no-install-recommends prometheus)")
	}
	dir := filepath.Join(chartDir(t, "storefront"), "files")
	for _, args := range [][]string{{"check", "rules", "storefront.rules.yml"}, {"test", "rules", "storefront.rules.test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func rel(root, p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return p
	}
	return r
}
