package dashboards_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"sigs.k8s.io/yaml"
)

// ruleTests are the promtool unit test files of alerts/shop.rules.yml
// (alerts/*.rules.test.yml), by name.
func ruleTests(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("alerts/*.rules.test.yml")
	if err != nil || len(files) < 5 {
		t.Fatalf("alerts/*.rules.test.yml: %d files (%v), want the 5 or more of the alert tests", len(files), err)
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f)
	}
	return names
}

// promtool (Debian's prometheus package) checks the rules and runs their
// unit tests.
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found. Fix: sudo apt-get install -y --no-install-recommends prometheus (ships promtool); .ci/run does this.")
	}
	for _, args := range [][]string{
		{"check", "rules", "shop.rules.yml"},
		append([]string{"test", "rules"}, ruleTests(t)...),
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
	for _, f := range ruleTests(t) {
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

// runbooks is where every alert's runbook_url points: a section of
// docs/runbooks.md, as GitHub renders it.
const runbooks = "https://github.com/goshop-platform/shop/blob/main/docs/runbooks.md#"

// Every alert says what happened (summary, description) and links its
// runbook: a heading of docs/runbooks.md, by the anchor GitHub gives it, so a
// renamed heading or a new alert without a section fails here rather than
// leaving a dead link in a page. Links between sections are checked too.
func TestEveryAlertHasARunbook(t *testing.T) {
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `json:"alert"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	readYAML(t, "alerts/shop.rules.yml", &rules)
	doc, err := os.ReadFile("../docs/runbooks.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := headingAnchors(string(doc))
	alerts := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			for _, key := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[key]) == "" {
					t.Errorf("alert %s has no %s annotation", r.Alert, key)
				}
			}
			url := r.Annotations["runbook_url"]
			anchor, ok := strings.CutPrefix(url, runbooks)
			switch {
			case url == "":
				t.Errorf("alert %s has no runbook_url annotation (want %s<anchor of its section>)", r.Alert, runbooks)
			case !ok:
				t.Errorf("alert %s: runbook_url %q is not %s<anchor>", r.Alert, url, runbooks)
			case !anchors[anchor]:
				t.Errorf("alert %s: runbook_url %q: docs/runbooks.md has no heading whose anchor is %q", r.Alert, url, anchor)
			}
		}
	}
	if alerts < 20 {
		t.Fatalf("only %d alerts parsed from shop.rules.yml", alerts)
	}
	for _, m := range localLink.FindAllStringSubmatch(string(doc), -1) {
		if !anchors[m[1]] {
			t.Errorf("docs/runbooks.md links #%s, which is no heading of it", m[1])
		}
	}
}

var (
	atxHeading = regexp.MustCompile(`^#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`)
	mdLink     = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	localLink  = regexp.MustCompile(`\]\(#([^)\s]+)\)`)
)

// headingAnchors returns the anchors GitHub gives the headings of a
// Markdown document (fenced code skipped): the heading's text, links
// reduced to their text, lower-cased, with every character but letters,
// digits, marks, "_" and "-" dropped and each space turned into "-"; a
// repeated anchor gets "-1", "-2", ... appended.
func headingAnchors(doc string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	fence := ""
	sc := bufio.NewScanner(strings.NewReader(doc))
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		m := atxHeading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		a := githubAnchor(m[1])
		if n := seen[a]; n > 0 {
			seen[a]++
			a += "-" + strconv.Itoa(n)
		} else {
			seen[a] = 1
		}
		out[a] = true
	}
	return out
}

func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(mdLink.ReplaceAllString(heading, "$1")) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), unicode.IsMark(r), r == '_', r == '-':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// The anchors are GitHub's: punctuation dropped, spaces kept as hyphens,
// repeats numbered, code fences ignored.
func TestHeadingAnchors(t *testing.T) {
	doc := "# Runbooks: what to do\n\n## ShopOrderDeadLetters\n```sh\n# not a heading\n```\n" +
		"### `order-worker dlq` & [replay](x.md) (v2)\n## Notes ##\n## Notes\n#NoSpace\n"
	got := headingAnchors(doc)
	want := map[string]bool{"runbooks-what-to-do": true, "shoporderdeadletters": true,
		"order-worker-dlq--replay-v2": true, "notes": true, "notes-1": true}
	if len(got) != len(want) {
		t.Errorf("anchors %v, want %v", got, want)
	}
	for a := range want {
		if !got[a] {
			t.Errorf("anchors %v lack %q", got, a)
		}
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
