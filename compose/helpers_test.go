package compose

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// root is the repository root (this module lives in compose/).
const root = ".."

var composeFile = filepath.Join(root, "docker-compose.yml")

// envExample reads .env.example as the ordered list of its settings.
func envExample(t *testing.T) (keys []string, values map[string]string) {
	t.Helper()
	f, err := os.Open(filepath.Join(root, ".env.example"))
	if err != nil {
		t.Fatalf(".env.example: %v (docs/compose.md tells users to copy it)", err)
	}
	defer f.Close()
	values = map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf(".env.example: %q is not KEY=value", line)
		}
		if _, dup := values[k]; dup {
			t.Fatalf(".env.example sets %s twice", k)
		}
		keys = append(keys, k)
		values[k] = v
	}
	return keys, values
}

// testEnv is .env.example with every empty setting (the secrets a user must
// choose) filled in, the way `make compose-env` does.
func testEnv(t *testing.T) map[string]string {
	keys, values := envExample(t)
	env := map[string]string{}
	for _, k := range keys {
		v := values[k]
		if v == "" {
			v = "test-" + strings.ToLower(strings.ReplaceAll(k, "_", "-"))
		}
		env[k] = v
	}
	return env
}

func environ(env map[string]string) []string {
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// load loads docker-compose.yml with the compose-spec loader, hermetically:
// the given environment instead of the OS's or a .env file.
func load(t *testing.T, env map[string]string, profiles ...string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{composeFile},
		cli.WithWorkingDirectory(root),
		cli.WithName("goshop"),
		cli.WithEnv(environ(env)),
		cli.WithProfiles(profiles),
	)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

var (
	fullOnce    sync.Once
	fullProject *types.Project
	fullErr     error
)

// full is the project with every profile enabled and .env.example's settings.
func full(t *testing.T) *types.Project {
	t.Helper()
	fullOnce.Do(func() { fullProject, fullErr = load(t, testEnv(t), "*") })
	if fullErr != nil {
		t.Fatalf("docker-compose.yml does not load: %v", fullErr)
	}
	return fullProject
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("docker-compose.yml has no service %q: %v", name, err)
	}
	return s
}

// ourServices are the services built from this repository.
func ourServices(p *types.Project) []types.ServiceConfig {
	var out []types.ServiceConfig
	for _, name := range p.ServiceNames() {
		if s := p.Services[name]; s.Build != nil {
			out = append(out, s)
		}
	}
	return out
}

// hostPath maps a path inside a service's container to the repository file
// bind-mounted there ("" when no bind mount covers it).
func hostPath(s types.ServiceConfig, target string) string {
	best := ""
	var src string
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		if target == v.Target || strings.HasPrefix(target, strings.TrimSuffix(v.Target, "/")+"/") {
			if len(v.Target) > len(best) {
				best, src = v.Target, filepath.Join(v.Source, strings.TrimPrefix(target, v.Target))
			}
		}
	}
	return src
}

var interpolationRef = regexp.MustCompile(`\$\{([A-Z0-9_]+)(:?[-?])?`)
