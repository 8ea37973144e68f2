package charttest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// binaries builds each service's binary once per test run, the way the
// Dockerfile does (in the service's own module, GOWORK=off).
var binaries = struct {
	sync.Mutex
	dir  string
	path map[string]string
}{path: map[string]string{}}

func serviceBinary(t *testing.T, spec chartSpec) string {
	t.Helper()
	binaries.Lock()
	defer binaries.Unlock()
	if p, ok := binaries.path[spec.name]; ok {
		return p
	}
	if binaries.dir == "" {
		dir, err := os.MkdirTemp("", "charttest-bin-")
		if err != nil {
			t.Fatal(err)
		}
		binaries.dir = dir
	}
	module := filepath.Join(repoRoot(t), "services", spec.name)
	out := filepath.Join(binaries.dir, spec.name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/"+spec.name)
	cmd.Dir = module
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", spec.name, err, b)
	}
	binaries.path[spec.name] = out
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaries.dir != "" {
		os.RemoveAll(binaries.dir)
	}
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// podFiles lays out, under dir, the files a pod would see (the ConfigMap's
// document and the chart's Secrets) and returns the container's plain
// environment with every in-pod path mapped into dir.
func podFiles(t *testing.T, r rendered, pod corev1.PodSpec, c corev1.Container, dir string) []string {
	t.Helper()
	mounts := map[string]string{} // in-pod dir -> local dir
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name != m.Name {
				continue
			}
			local := filepath.Join(dir, v.Name)
			if err := os.MkdirAll(local, 0o755); err != nil {
				t.Fatal(err)
			}
			mounts[m.MountPath] = local
			switch {
			case v.ConfigMap != nil:
				cm := one[*corev1.ConfigMap](t, r, v.ConfigMap.Name)
				for k, data := range cm.Data {
					writeFile(t, filepath.Join(local, k), data)
				}
			case v.Secret != nil:
				for _, s := range ofType[*corev1.Secret](r) {
					if s.Name == v.Secret.SecretName {
						for k, data := range s.Data {
							writeFile(t, filepath.Join(local, k), string(data))
						}
					}
				}
			}
		}
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			continue // resourceFieldRef: GOMAXPROCS, GOMEMLIMIT
		}
		v, best := e.Value, ""
		for in := range mounts {
			if strings.HasPrefix(e.Value, in+"/") && len(in) > len(best) {
				best = in
			}
		}
		if best != "" {
			v = mounts[best] + strings.TrimPrefix(e.Value, best)
		}
		env = append(env, e.Name+"="+v)
	}
	return env
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func runBinary(bin string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The configuration the chart renders is what the service's own strict
// loader accepts: the binary reads the ConfigMap's document (through
// <PREFIX>_CONFIG) and each secret file (through <PREFIX>_..._FILE) and
// prints the effective configuration. Pointing each _FILE variable at a
// missing file must make it fail, which proves the binary reads that name.
func TestServicesAcceptRenderedConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the service binaries")
	}
	for _, spec := range charts {
		if !spec.service {
			continue
		}
		t.Run(spec.name, func(t *testing.T) {
			bin := serviceBinary(t, spec)
			for _, r := range renderCI(t, spec) {
				t.Run(r.values, func(t *testing.T) {
					d := serverDeployment(t, r)
					pods := map[string]corev1.PodSpec{"Deployment/" + d.Name: d.Spec.Template.Spec}
					for _, j := range ofType[*batchv1.Job](r) {
						pods["Job/"+j.Name] = j.Spec.Template.Spec
					}
					for name, pod := range pods {
						c := pod.Containers[0]
						env := podFiles(t, r, pod, c, t.TempDir())
						out, err := runBinary(bin, env, "print-config")
						if err != nil || !strings.Contains(out, "kind: "+spec.configKind) {
							t.Errorf("%s: %s print-config with the chart's config and secrets: %v\n%s", name, spec.name, err, out)
							continue
						}
						for _, e := range env {
							k, _, _ := strings.Cut(e, "=")
							if !strings.HasSuffix(k, "_FILE") {
								continue
							}
							broken := append(append([]string{}, env...), k+"=/nonexistent/"+k)
							out, err := runBinary(bin, broken, "print-config")
							if err == nil || !strings.Contains(out, k) {
								t.Errorf("%s: %s ignores %s (a missing file was not noticed): %v\n%s", name, spec.name, k, err, out)
							}
						}
					}
				})
			}
		})
	}
}

// loadgen accepts the command line the chart renders: with the targets
// pointed at a closed port it gets past flag parsing (exit 2 means a bad
// command line) and fails at setup (exit 1).
func TestLoadgenAcceptsRenderedArgs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the loadgen binary")
	}
	spec := charts[len(charts)-1]
	if spec.name != "loadgen" {
		t.Fatal("charts table changed: loadgen must be last")
	}
	bin := serviceBinary(t, spec)
	for _, r := range renderCI(t, spec) {
		dir := t.TempDir()
		users := filepath.Join(dir, "users.txt")
		writeFile(t, users, "customer@shop.local:shop-customer-demo\n")
		check := func(name string, args []string) {
			var fixed []string
			for _, a := range args {
				switch {
				case strings.HasPrefix(a, "--api="), strings.HasPrefix(a, "--directus="):
					a = a[:strings.Index(a, "=")+1] + "http://127.0.0.1:1"
				case strings.HasPrefix(a, "--users-file="):
					a = "--users-file=" + users
				}
				fixed = append(fixed, a)
			}
			out, err := runBinary(bin, []string{"HOME=" + dir}, fixed...)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Errorf("%s %s: loadgen %v: want exit 1 (setup failed against a closed port), got %v\n%s", r.values, name, fixed, err, out)
			}
		}
		d := one[*appsv1.Deployment](t, r, fullname(spec))
		check("Deployment", d.Spec.Template.Spec.Containers[0].Args)
		for _, p := range ofType[*corev1.Pod](r) {
			check("test pod", p.Spec.Containers[0].Args)
		}
	}
}
