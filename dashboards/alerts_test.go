package dashboards_test

import (
	"os"
	"os/exec"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"
)

var ruleTests = []string{"shop.rules.test.yml", "catalog.rules.test.yml", "storefront.rules.test.yml", "lifecycle.rules.test.yml"}

// promtool (Debian's prometheus package) checks the rules and runs their
// unit tests.
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found. Fix: sudo apt-get install -y --no-install-recommends prometheus (ships promtool); .ci/run does this.")
	}
	for _, args := range [][]string{
		{"check", "rules", "shop.rules.yml"},
		append([]string{"test", "rules"}, ruleTests...),
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "alerts"
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}

// Every alert has at least one test case where it fires and one where it
// must stay silent, so a rule that can never fire (or always fires) fails.
func TestEveryAlertHasFiringAndSilentCases(t *testing.T) {
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
			} `json:"rules"`
		} `json:"groups"`
	}
	readYAML(t, "alerts/shop.rules.yml", &rules)
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, f := range ruleTests {
		var tests struct {
			Tests []struct {
				AlertRuleTest []struct {
					Alertname string `json:"alertname"`
					ExpAlerts []any  `json:"exp_alerts"`
				} `json:"alert_rule_test"`
			} `json:"tests"`
		}
		readYAML(t, "alerts/"+f, &tests)
		for _, g := range tests.Tests {
			for _, c := range g.AlertRuleTest {
				if len(c.ExpAlerts) > 0 {
					fires[c.Alertname] = true
				} else {
					silent[c.Alertname] = true
				}
			}
		}
	}
	var alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts = append(alerts, r.Alert)
			if !fires[r.Alert] || !silent[r.Alert] {
				t.Errorf("alert %s: firing case %v, silent case %v; both are required", r.Alert, fires[r.Alert], silent[r.Alert])
			}
		}
	}
	for name := range fires {
		if !slices.Contains(alerts, name) {
			t.Errorf("tests expect alert %s, which shop.rules.yml does not define", name)
		}
	}
	if len(alerts) < 10 {
		t.Fatalf("only %d alerts parsed from shop.rules.yml", len(alerts))
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
