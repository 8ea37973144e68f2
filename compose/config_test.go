package compose

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/goshop-platform/shop/services/platform/config"
	"gopkg.in/yaml.v3"
)

// A shop service that reads a configuration document, as its binary
// describes itself: every environment variable it reads is derived from its
// own `print-config` (the complete effective document), so nothing here is a
// hand-kept list that could drift from the code.
type shopConfig struct {
	svc    string            // directory under services/
	prefix string            // API, WORKER, SYNC, STOREFRONT
	bin    string            // built binary
	leaves map[string]string // env name -> "spec.path" of every leaf field
	secret map[string]bool   // env names whose <NAME>_FILE is read too
}

// reads is every environment variable the service reads.
func (c *shopConfig) reads() []string {
	names := []string{c.prefix + "_CONFIG"}
	for n := range c.leaves {
		names = append(names, n)
		if c.secret[n] {
			names = append(names, n+"_FILE")
		}
	}
	sort.Strings(names)
	return names
}

var (
	binDir     string
	configMu   sync.Mutex
	configs    = map[string]*shopConfig{}
	configErrs = map[string]error{}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "goshop-compose-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var parseCall = regexp.MustCompile(`cmdline\.Parse\("([a-z-]+)",\s*"([A-Z]+)"`)

// configOf builds services/<svc>/cmd/<svc> once and reads its configuration
// surface. ok is false for services without a configuration document.
func configOf(t *testing.T, svc string) (*shopConfig, bool) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, "services", svc, svc+".example.yaml")); err != nil {
		return nil, false
	}
	configMu.Lock()
	defer configMu.Unlock()
	if c, ok := configs[svc]; ok {
		return c, true
	}
	if err, ok := configErrs[svc]; ok {
		t.Fatal(err)
	}
	c, err := readConfig(svc)
	if err != nil {
		configErrs[svc] = err
		t.Fatal(err)
	}
	configs[svc] = c
	return c, true
}

func readConfig(svc string) (*shopConfig, error) {
	src, err := os.ReadFile(filepath.Join(root, "services", svc, "cmd", svc, "run.go"))
	if err != nil {
		return nil, fmt.Errorf("%s has an example config document but no cmd/%s/run.go: %v", svc, svc, err)
	}
	m := parseCall.FindSubmatch(src)
	if m == nil {
		return nil, fmt.Errorf("services/%s/cmd/%s/run.go: no cmdline.Parse(name, PREFIX, ...) call to learn the env prefix from", svc, svc)
	}
	c := &shopConfig{svc: svc, prefix: string(m[2]), bin: filepath.Join(binDir, svc), secret: map[string]bool{}}
	build := exec.Command("go", "build", "-o", c.bin, "./cmd/"+svc)
	build.Dir = filepath.Join(root, "services", svc)
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./services/%s/cmd/%s: %v\n%s", svc, svc, err, out)
	}
	doc, err := printConfig(c.bin, nil)
	if err != nil {
		return nil, err
	}
	c.leaves = map[string]string{}
	walkLeaves(doc["spec"], "spec", c.prefix, c.leaves)
	if len(c.leaves) < 5 {
		return nil, fmt.Errorf("%s print-config shows only %d fields", svc, len(c.leaves))
	}
	// Secrets are the fields that also read <NAME>_FILE: point every such
	// variable at a missing file and see which ones the loader trips over.
	probe := map[string]string{}
	for n := range c.leaves {
		probe[n+"_FILE"] = "/nonexistent/goshop-compose-probe"
	}
	failing := regexp.MustCompile(`([A-Z0-9_]+)_FILE: read secret`)
	for range len(c.leaves) + 1 {
		_, err := printConfig(c.bin, probe)
		if err == nil {
			return c, nil
		}
		m := failing.FindStringSubmatch(err.Error())
		if m == nil || !c.secretCandidate(m[1]) {
			return nil, fmt.Errorf("%s print-config with every <VAR>_FILE set: %v", svc, err)
		}
		c.secret[m[1]] = true
		delete(probe, m[1]+"_FILE")
	}
	return nil, fmt.Errorf("%s: secret probing did not finish", svc)
}

func (c *shopConfig) secretCandidate(name string) bool { _, ok := c.leaves[name]; return ok }

// printConfig runs `<bin> print-config` with exactly env (hermetic: nothing
// from the test's own environment) and decodes the document.
func printConfig(bin string, env map[string]string) (map[string]any, error) {
	cmd := exec.Command(bin, "print-config")
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		return nil, fmt.Errorf("%s print-config: %v: %s", filepath.Base(bin), err, msg)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("%s print-config output: %v", filepath.Base(bin), err)
	}
	return doc, nil
}

func walkLeaves(v any, path, env string, out map[string]string) {
	m, ok := v.(map[string]any)
	if !ok {
		out[env] = path
		return
	}
	for k, sub := range m {
		walkLeaves(sub, path+"."+k, env+"_"+config.UpperSnake(k), out)
	}
}

// svcOf is the services/<svc> a compose service is built from: the target
// of the one Dockerfile, which SERVICE names too ("" if none;
// TestBuildContextsExist checks that the two agree).
func svcOf(s types.ServiceConfig) string {
	if s.Build == nil || s.Build.Dockerfile != "Dockerfile" {
		return ""
	}
	return s.Build.Target
}

func envOf(s types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

// The names derived from print-config are the ones the services document
// (their own tests hold docs/configuration.md to their loaders), so the
// derivation is right.
func TestConfigNamesAreTheServicesOwn(t *testing.T) {
	docs := readFile(t, "docs/configuration.md")
	for _, s := range ourServices(full(t)) {
		c, ok := configOf(t, svcOf(s))
		if !ok {
			continue
		}
		for n := range c.leaves {
			if !strings.Contains(docs, "`"+n+"`") {
				t.Errorf("%s: derived variable %s is not in docs/configuration.md: the derivation (config.UpperSnake) or the docs are wrong", c.svc, n)
			}
		}
	}
}

// Every variable a service reads is set by compose or documented in
// docs/configuration.md, every variable compose sets is one the service
// reads (a typo such as API_DATABSE_URL is a silent no-op otherwise), and the
// resulting configuration passes the service's own strict validation.
func TestComposeConfigMatchesTheServices(t *testing.T) {
	ref := readFile(t, "docs/configuration.md")
	p := full(t)
	setBy := map[string]map[string]bool{} // svc -> variables some compose service of it sets
	for _, s := range ourServices(p) {
		svc := svcOf(s)
		c, ok := configOf(t, svc)
		if !ok {
			if svc == "" {
				t.Errorf("compose service %s builds %s target %q, not a service's target of the Dockerfile", s.Name, s.Build.Dockerfile, s.Build.Target)
			}
			continue
		}
		env := envOf(s)
		reads := map[string]bool{}
		for _, n := range c.reads() {
			reads[n] = true
		}
		if setBy[svc] == nil {
			setBy[svc] = map[string]bool{}
		}
		for n := range env {
			setBy[svc][n] = true
			if strings.HasPrefix(n, c.prefix+"_") && !reads[n] {
				t.Errorf("docker-compose.yml service %s sets %s, which %s does not read (typo?)", s.Name, n, svc)
			}
		}
		if _, err := printConfig(c.bin, env); err != nil {
			t.Errorf("compose service %s: its environment is refused by %s: %v", s.Name, svc, err)
		}
	}
	for svc, set := range setBy {
		c, _ := configOf(t, svc)
		for _, n := range c.reads() {
			if !set[n] && !strings.Contains(ref, "`"+n+"`") {
				t.Errorf("%s reads %s: neither set in docker-compose.yml nor documented in docs/configuration.md", svc, n)
			}
		}
		if !strings.Contains(ref, "\n## "+svc+"\n") {
			t.Errorf("docs/configuration.md has no section \"## %s\"", svc)
		}
	}
	if len(setBy) < 4 {
		t.Errorf("only %d configured shop services in docker-compose.yml (api, order-worker, catalog-sync, storefront expected)", len(setBy))
	}
}

// listenPort is the port a shop service listens on inside its container,
// from its effective configuration under compose.
func listenPort(t *testing.T, s types.ServiceConfig) (string, bool) {
	c, ok := configOf(t, svcOf(s))
	if !ok {
		return "", false
	}
	doc, err := printConfig(c.bin, envOf(s))
	if err != nil {
		t.Fatalf("compose service %s: %v", s.Name, err)
	}
	httpCfg, _ := doc["spec"].(map[string]any)["http"].(map[string]any)
	addr, _ := httpCfg["addr"].(string)
	_, port, found := strings.Cut(addr, ":")
	if !found || port == "" {
		t.Fatalf("compose service %s: spec.http.addr %q has no port", s.Name, addr)
	}
	return port, true
}

func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return string(b)
}

// The Helm column of docs/configuration.md names values that exist in each
// chart: `config.<field path>` in charts/<svc>/values.yaml, or the chart's
// `secrets.keys.<key>` for a secret (rows of a service without a chart are skipped).
func TestConfigDocsHelmValuesExist(t *testing.T) {
	doc := readFile(t, "docs/configuration.md")
	cell := regexp.MustCompile("^`(config|secrets\\.keys)\\.([A-Za-z0-9.]+)`$")
	section, checked := "", 0
	for _, line := range strings.Split(doc, "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = strings.TrimSpace(h)
			continue
		}
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 7 {
			continue // not a service settings table
		}
		raw, err := os.ReadFile(filepath.Join(root, "charts", section, "values.yaml"))
		if err != nil {
			continue
		}
		var values map[string]any
		if err := yaml.Unmarshal(raw, &values); err != nil {
			t.Fatalf("charts/%s/values.yaml: %v", section, err)
		}
		m := cell.FindStringSubmatch(strings.TrimSpace(cells[5]))
		if m == nil {
			t.Errorf("docs/configuration.md, %s: Helm cell %q is neither `config.<path>` nor `secrets.keys.<key>`", section, strings.TrimSpace(cells[5]))
			continue
		}
		if !hasKey(values, strings.Split(m[1]+"."+m[2], ".")) {
			t.Errorf("docs/configuration.md, %s: %s.%s is not a value of charts/%s/values.yaml", section, m[1], m[2], section)
		}
		checked++
	}
	if checked < 100 {
		t.Errorf("only %d Helm values checked in docs/configuration.md", checked)
	}
}

// hasKey reports whether the nested key path exists (its value may be empty).
func hasKey(m map[string]any, path []string) bool {
	var v any = m
	for _, p := range path {
		mv, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = mv[p]; !ok {
			return false
		}
	}
	return true
}
