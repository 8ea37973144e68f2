package compose

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// composeDocs is the page about the compose stack, docs/compose.md.
func composeDocs(t *testing.T) string {
	return readFile(t, "docs/compose.md")
}

func publishes(s types.ServiceConfig, port string) bool {
	for _, p := range s.Ports {
		if p.Published == port {
			return true
		}
	}
	return false
}

var tableRow = regexp.MustCompile("(?m)^\\| *((?:`[a-z0-9-]+`[ ,]*)+)\\|([^|]*)\\|")

// docs/compose.md names services that exist (and every service of
// docker-compose.yml), gives URLs on ports those services publish, and the
// exact commands: copy .env.example, make compose-up, scaling, profiles,
// logs, down, and the Appsmith import of the export that is in the repo.
func TestComposeDocs(t *testing.T) {
	sec := composeDocs(t)
	p := full(t)
	named := map[string]bool{}
	rows := tableRow.FindAllStringSubmatch(sec, -1)
	if len(rows) < 5 {
		t.Fatalf("docs/compose.md: want a table of services (| `name` | URL | ...), found %d rows", len(rows))
	}
	for _, row := range rows {
		var cells []types.ServiceConfig
		for _, m := range regexp.MustCompile("`([a-z0-9-]+)`").FindAllStringSubmatch(row[1], -1) {
			named[m[1]] = true
			s, err := p.GetService(m[1])
			if err != nil {
				t.Errorf("docs/compose.md names service %q, which docker-compose.yml does not have", m[1])
				continue
			}
			cells = append(cells, s)
		}
		for _, raw := range regexp.MustCompile(`https?://[^\s>)]+`).FindAllString(row[2], -1) {
			u, err := url.Parse(raw)
			if err != nil {
				t.Errorf("docs/compose.md: %q: %v", raw, err)
				continue
			}
			if !slices.ContainsFunc(cells, func(s types.ServiceConfig) bool { return publishes(s, u.Port()) }) {
				t.Errorf("docs/compose.md gives %s for %s, which publishes no port %s", raw, strings.TrimSpace(row[1]), u.Port())
			}
		}
	}
	for _, name := range p.ServiceNames() {
		if !named[name] {
			t.Errorf("docs/compose.md's table does not list service %s", name)
		}
	}
	for _, want := range []string{
		"cp .env.example .env", "make compose-env", "make compose-up", "--scale order-worker=3", "COMPOSE_PROFILES",
		"make compose-logs", "make compose-down", appsmithExport, "SYNC_TARGET=n8n", "docker compose",
		"PowerShell", "WSL",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("docs/compose.md does not mention %q", want)
		}
	}
	for _, prof := range profiles(t) {
		if !strings.Contains(sec, "`"+prof+"`") {
			t.Errorf("docs/compose.md does not explain profile %s", prof)
		}
	}
	// Credentials: where each default login comes from.
	for _, v := range []string{"ADMIN_EMAIL", "ADMIN_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "POSTGRES_PASSWORD"} {
		if !strings.Contains(sec, v) {
			t.Errorf("docs/compose.md does not say where %s is set", v)
		}
	}
}

// make compose-up, compose-down and compose-logs exist, are listed by make
// help, and drive `docker compose`.
func TestMakefileTargets(t *testing.T) {
	mk := readFile(t, "Makefile")
	for _, target := range []string{"compose-env", "compose-up", "compose-down", "compose-logs"} {
		m := regexp.MustCompile(`(?m)^` + target + `:[^\n]*## .+\n((?:\t[^\n]*\n)+)`).FindStringSubmatch(mk)
		if m == nil {
			t.Errorf("Makefile has no %q target with a ## help comment", target)
			continue
		}
		if target != "compose-env" && !strings.Contains(m[1], "docker compose") && !strings.Contains(m[1], "$(COMPOSE)") {
			t.Errorf("make %s does not run docker compose:\n%s", target, m[1])
		}
	}
	if !regexp.MustCompile(`(?m)^\.PHONY:.*\bcompose-up\b`).MatchString(mk) {
		t.Error("compose-up is not .PHONY")
	}
}
