package compose

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// profiles are the profiles docker-compose.yml defines.
func profiles(t *testing.T) []string {
	set := map[string]bool{}
	for _, s := range full(t).Services {
		for _, p := range s.Profiles {
			set[p] = true
		}
	}
	var out []string
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// The file is valid for the compose-spec loader (schema, interpolation,
// depends_on consistency) with no profile, each profile alone, and all.
func TestComposeFileLoads(t *testing.T) {
	ps := profiles(t)
	for _, want := range []string{"observability", "n8n", "appsmith", "loadgen"} {
		if !slices.Contains(ps, want) {
			t.Errorf("no service has profile %q", want)
		}
	}
	sets := [][]string{nil, ps}
	for _, p := range ps {
		sets = append(sets, []string{p})
	}
	for _, set := range sets {
		p, err := load(t, testEnv(t), set...)
		if err != nil {
			t.Errorf("profiles %v: %v", set, err)
			continue
		}
		if len(p.Services) == 0 {
			t.Errorf("profiles %v: no services", set)
		}
	}
	// Only the heavy optional parts sit behind profiles: the shop itself
	// (and Directus, which the storefront reads) starts without any.
	base, err := load(t, testEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"postgres", "redis", "migrate", "api", "order-worker", "catalog-sync", "storefront", "directus"} {
		if _, err := base.GetService(name); err != nil {
			t.Errorf("%s needs a profile; it should start by default", name)
		}
	}
}

// No secret is written in docker-compose.yml: secrets are ${VAR:?} references
// that .env.example declares (empty, for the user to set), loading fails
// with a message naming .env when one is missing, and every variable the
// file uses is in .env.example (and every .env.example setting is used).
func TestSecretsComeFromEnv(t *testing.T) {
	raw := readFile(t, "docker-compose.yml")
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatal(err)
	}
	secretName := regexp.MustCompile(`(PASSWORD|SECRET|TOKEN|_KEY|SALT)$`)
	credentialURL := regexp.MustCompile(`://[^/@\s]*:[^/@\s]*@`)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, sub := range v {
				if s, ok := sub.(string); ok && secretName.MatchString(k) && !strings.Contains(s, "${") {
					t.Errorf("%s.%s is a literal secret; use ${VAR:?...} and .env", path, k)
				}
				walk(path+"."+k, sub)
			}
		case []any:
			for i, sub := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), sub)
			}
		case string:
			if m := credentialURL.FindString(v); m != "" && !strings.Contains(m, "${") {
				t.Errorf("%s holds credentials in a URL: %q", path, v)
			}
		}
	}
	walk("", doc)

	keys, values := envExample(t)
	declared := map[string]bool{}
	for _, k := range keys {
		declared[k] = true
	}
	used := map[string]bool{}
	code := regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(raw, "")
	for _, m := range interpolationRef.FindAllStringSubmatch(code, -1) {
		name, op := m[1], m[2]
		used[name] = true
		if (op == "" || op == ":?" || op == "?") && !declared[name] {
			t.Errorf("docker-compose.yml needs ${%s} but .env.example does not declare it", name)
		}
		if (op == ":?" || op == "?") && values[name] != "" {
			t.Errorf(".env.example gives the required secret %s a value; leave it empty for the user (make compose-env fills it)", name)
		}
	}
	for _, k := range keys {
		if !used[k] && !strings.HasPrefix(k, "COMPOSE_") {
			t.Errorf(".env.example sets %s, which docker-compose.yml does not use", k)
		}
	}
	env := testEnv(t)
	env["POSTGRES_PASSWORD"] = ""
	if _, err := load(t, env); err == nil || !strings.Contains(err.Error(), "POSTGRES_PASSWORD") || !strings.Contains(err.Error(), ".env") {
		t.Errorf("an empty POSTGRES_PASSWORD must stop compose with a hint at .env, got %v", err)
	}
}

// Every depends_on target exists, health conditions point at services with a
// healthcheck, completion conditions at one-shot services, and our
// distroless images carry no healthcheck they could not run.
func TestDependenciesResolve(t *testing.T) {
	p := full(t)
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		for dep, d := range s.DependsOn {
			target, err := p.GetService(dep)
			if err != nil {
				t.Errorf("%s depends on %s, which does not exist", name, dep)
				continue
			}
			switch d.Condition {
			case types.ServiceConditionHealthy:
				if target.HealthCheck == nil || target.HealthCheck.Disable || len(target.HealthCheck.Test) == 0 {
					t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
				}
			case types.ServiceConditionCompletedSuccessfully:
				if target.Restart != types.RestartPolicyNo {
					t.Errorf("%s waits for %s to complete, but %s restarts (%q): it never completes", name, dep, dep, target.Restart)
				}
			case types.ServiceConditionStarted:
			default:
				t.Errorf("%s depends on %s with condition %q", name, dep, d.Condition)
			}
			if !d.Required && len(target.Profiles) == 0 {
				t.Errorf("%s: optional dependency on %s, which has no profile: make it required", name, dep)
			}
		}
		if s.Build != nil && s.HealthCheck != nil && !s.HealthCheck.Disable {
			t.Errorf("%s runs a distroless image (no shell, curl or wget) but has a healthcheck %v", name, s.HealthCheck.Test)
		}
		if s.Restart == "" {
			t.Errorf("%s has no restart policy", name)
		}
		if s.Restart == types.RestartPolicyNo && len(s.Profiles) == 0 {
			dependedOn := false
			for _, other := range p.Services {
				if d, ok := other.DependsOn[name]; ok && d.Condition == types.ServiceConditionCompletedSuccessfully {
					dependedOn = true
				}
			}
			if !dependedOn {
				t.Errorf("one-shot service %s: nothing waits for it to complete", name)
			}
		}
	}
	// Our long-running services restart; the one-shots run once per `up`.
	for _, name := range []string{"api", "order-worker", "catalog-sync", "storefront"} {
		if s := service(t, p, name); s.Restart != types.RestartPolicyUnlessStopped && s.Restart != types.RestartPolicyAlways {
			t.Errorf("%s restart policy %q", name, s.Restart)
		}
	}
	if d := service(t, p, "api").DependsOn["migrate"]; d.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("api must wait for the migrations to complete, has %+v", d)
	}
}

var exactVersion = regexp.MustCompile(`^v?\d+\.\d+([.-][0-9A-Za-z.-]+)?$`)

// Every image is pinned: a tag that is an exact version (never latest, never
// a bare major), or for the images built here the SHOP_IMAGE_TAG variable,
// with the repository the Helm charts use.
func TestImagesPinned(t *testing.T) {
	p := full(t)
	raw := readFile(t, "docker-compose.yml")
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Image == "" {
			t.Errorf("%s has no image", name)
			continue
		}
		ref, digest, _ := strings.Cut(s.Image, "@")
		if digest != "" && !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) {
			t.Errorf("%s: bad digest %q", name, digest)
		}
		slash := strings.LastIndex(ref, "/")
		repo, tag, ok := strings.Cut(ref[slash+1:], ":")
		repo = ref[:slash+1] + repo
		if !ok || tag == "" || tag == "latest" {
			t.Errorf("%s: image %q is not pinned to a tag", name, s.Image)
			continue
		}
		if s.Build != nil {
			if !strings.Contains(raw, "image: "+repo+":${SHOP_IMAGE_TAG") {
				t.Errorf("%s: built image %q should be tagged ${SHOP_IMAGE_TAG...}", name, s.Image)
			}
			if chartRepo := chartImage(t, svcOf(s)); chartRepo != "" && chartRepo != repo {
				t.Errorf("%s: image %s, but charts/%s/values.yaml uses %s", name, repo, svcOf(s), chartRepo)
			}
			continue
		}
		if !exactVersion.MatchString(tag) || strings.Contains(tag, "latest") {
			t.Errorf("%s: tag %q of %s is not an exact version", name, tag, repo)
		}
	}
}

// chartImage is image.repository of charts/<svc>/values.yaml ("" without a chart).
func chartImage(t *testing.T, svc string) string {
	b, err := os.ReadFile(filepath.Join(root, "charts", svc, "values.yaml"))
	if err != nil {
		return ""
	}
	var v struct {
		Image struct{ Repository string } `yaml:"image"`
	}
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("charts/%s/values.yaml: %v", svc, err)
	}
	return v.Image.Repository
}

// Each image builds from the repository root with the one Dockerfile: a
// target that exists, named after a service, with SERVICE set to the same
// name (the loader checks none of this).
func TestBuildContextsExist(t *testing.T) {
	p := full(t)
	for _, s := range ourServices(p) {
		ctx := s.Build.Context
		if st, err := os.Stat(ctx); err != nil || !st.IsDir() {
			t.Errorf("%s: build context %s is not a directory", s.Name, ctx)
			continue
		}
		if filepath.Clean(ctx) != mustAbs(t, root) {
			t.Errorf("%s: build context %s; the Dockerfile copies services/platform too, so the context is the repository root", s.Name, ctx)
		}
		df, err := os.ReadFile(filepath.Join(ctx, s.Build.Dockerfile))
		if err != nil {
			t.Errorf("%s: Dockerfile %s does not exist", s.Name, s.Build.Dockerfile)
			continue
		}
		target := s.Build.Target
		if !regexp.MustCompile(`(?mi)^FROM \S+ AS ` + regexp.QuoteMeta(target) + `$`).Match(df) {
			t.Errorf("%s: %s has no target %q", s.Name, s.Build.Dockerfile, target)
		}
		if _, err := os.Stat(filepath.Join(root, "services", target, "cmd", target)); err != nil {
			t.Errorf("%s: target %q is not a service with a command services/%s/cmd/%s", s.Name, target, target, target)
		}
		if arg := s.Build.Args["SERVICE"]; arg == nil || *arg != target {
			t.Errorf("%s: builds target %q with SERVICE=%v; the Dockerfile compiles services/<SERVICE>, so they must agree", s.Name, target, s.Build.Args["SERVICE"])
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Every published host port is unique (per host address), and the worker
// scales: no container_name, no host port.
func TestHostPortsUnique(t *testing.T) {
	p := full(t)
	owner := map[string]string{}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		for _, port := range s.Ports {
			if port.Published == "" {
				t.Errorf("%s publishes container port %d on a random host port; pin it", name, port.Target)
				continue
			}
			key := port.Published + "/" + port.Protocol
			if prev, dup := owner[key]; dup {
				t.Errorf("host port %s is published by both %s and %s", key, prev, name)
			}
			owner[key] = name
		}
		if s.ContainerName != "" {
			t.Errorf("%s sets container_name: it could not be scaled and clashes between checkouts", name)
		}
	}
	w := service(t, p, "order-worker")
	if len(w.Ports) > 0 {
		t.Errorf("order-worker publishes %v: `--scale order-worker=3` would fail on the second replica", w.Ports)
	}
	if len(owner) < 10 {
		t.Errorf("only %d published ports; docs/compose.md's URLs need them", len(owner))
	}
}

// listening returns the ports each service listens on inside the network.
func listening(t *testing.T, p *types.Project) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		ports := map[string]bool{}
		for _, port := range s.Ports {
			ports[strconv.Itoa(int(port.Target))] = true
		}
		for _, e := range s.Expose {
			ports[e] = true
		}
		if port, ok := listenPort(t, s); ok {
			ports[port] = true
		}
		out[name] = ports
	}
	// Services that publish nothing but are reached inside the network.
	for name, port := range map[string]string{"postgres": "5432", "redis": "6379", "prometheus": "9090"} {
		if out[name] != nil {
			out[name][port] = true
		}
	}
	return out
}

var internalURL = regexp.MustCompile(`\b(?:https?|postgres|redis)://[^\s"',]+`)

// Every URL one service uses to reach another (environment, command,
// healthcheck) names an existing service and a port it listens on.
func TestInternalURLsResolve(t *testing.T) {
	p := full(t)
	ports := listening(t, p)
	checked := 0
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		var texts []string
		for k, v := range s.Environment {
			if v != nil {
				texts = append(texts, k+"="+*v)
			}
		}
		texts = append(texts, s.Command...)
		texts = append(texts, s.Entrypoint...)
		if s.HealthCheck != nil {
			texts = append(texts, s.HealthCheck.Test...)
		}
		for _, text := range texts {
			for _, raw := range internalURL.FindAllString(text, -1) {
				u, err := url.Parse(raw)
				if err != nil {
					t.Errorf("%s: %q: %v", name, raw, err)
					continue
				}
				host, port := u.Hostname(), u.Port()
				if port == "" {
					port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
				}
				switch host {
				case "localhost":
					continue // a browser-facing URL (public URLs); checked against published ports in TestComposeDocs
				case "127.0.0.1":
					host = name // a healthcheck inside the container itself
				}
				target, ok := ports[host]
				if !ok {
					t.Errorf("%s uses %s: no service %q", name, raw, host)
					continue
				}
				if !target[port] {
					t.Errorf("%s uses %s: %s listens on %v, not %s", name, raw, host, keys(target), port)
				}
				checked++
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d internal URLs checked", checked)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
