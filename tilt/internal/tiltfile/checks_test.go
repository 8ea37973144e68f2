package tiltfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each check is shown to fail on a Tiltfile that breaks its rule, next to
// one that keeps it.

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: IMAGE
          ports: [{containerPort: 8080}]
          volumeMounts: [{name: live, mountPath: /live}]
      volumes: [{name: live, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop}
data: {a: b}
`

// fixture writes files into a fresh repository and evaluates its Tiltfile.
func fixture(t *testing.T, files map[string]string, args ...string) (string, *Result, *Model, error) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Evaluate(Options{Root: dir, Args: args})
	if err != nil {
		return dir, res, nil, err
	}
	return dir, res, Assemble(res), nil
}

func mustEval(t *testing.T, files map[string]string, args ...string) (string, *Result, *Model) {
	t.Helper()
	dir, res, m, err := fixture(t, files, args...)
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	return dir, res, m
}

func wantProblem(t *testing.T, what string, problems []string, substr string) {
	t.Helper()
	for _, p := range problems {
		if strings.Contains(p, substr) {
			return
		}
	}
	t.Errorf("%s: want a problem containing %q, got %q", what, substr, problems)
}

func wantNone(t *testing.T, what string, problems []string) {
	t.Helper()
	if len(problems) > 0 {
		t.Errorf("%s: want no problem, got %q", what, problems)
	}
}

const good = `
docker_build('goshop/web', 'ctx', dockerfile='Dockerfile.dev', live_update=[sync('ctx/web', '/live/web')])
k8s_yaml('app.yaml')
k8s_resource('web', objects=['web-config:configmap'], port_forwards=[port_forward(8080, 8080)],
             resource_deps=['build'], labels=['shop'])
local_resource('build', cmd=['scripts/build.sh'], deps=['src'], labels=['build'])
`

func goodFiles() map[string]string {
	return map[string]string{
		"Tiltfile":          good,
		"Dockerfile.dev":    "FROM scratch\n",
		"app.yaml":          strings.ReplaceAll(deployment, "IMAGE", "goshop/web:dev"),
		"scripts/build.sh":  "#!/bin/sh\n",
		"src/main.go":       "package main\n",
		"ctx/web":           "binary",
		"k8s/namespace.txt": "",
	}
}

func with(files map[string]string, name, body string) map[string]string {
	out := map[string]string{}
	for k, v := range files {
		out[k] = v
	}
	if body == "" {
		delete(out, name)
	} else {
		out[name] = body
	}
	return out
}

func TestTheGoodFixturePassesEveryCheck(t *testing.T) {
	dir, res, m := mustEval(t, goodFiles())
	if len(m.Errors) > 0 {
		t.Fatalf("model errors: %v", m.Errors)
	}
	wantNone(t, "deps", CheckResourceDeps(m))
	wantNone(t, "objects", CheckAllObjectsResourced(m))
	wantNone(t, "labels", CheckLabels(m))
	wantNone(t, "paths", CheckPaths(dir, res, m, ".dev/"))
	wantNone(t, "images", CheckImages(res, m))
	wantNone(t, "live update", CheckLiveUpdate(dir, res, m))
	wantNone(t, "port forwards", CheckPortForwards(res, m))
	if r := m.Resources["web"]; r == nil || len(r.Objects) != 3 {
		t.Fatalf("resource web should hold the Deployment, its Service and the ConfigMap: %+v", r)
	}
}

func TestEvaluationFailsOnWhatTiltRefuses(t *testing.T) {
	for _, c := range []struct{ name, tiltfile, want string }{
		{"unknown builtin", "dcoker_build('a', '.')", "undefined: dcoker_build"},
		{"misspelt keyword", "local_resource('a', cmd='true', resource_dep=['b'])", `unexpected keyword argument "resource_dep"`},
		{"missing argument", "docker_build('a')", "missing argument for context"},
		{"too many positional", "link('a', 'b', 'c')", "at most 2"},
		{"missing Dockerfile", "docker_build('a', '.', dockerfile='nope/Dockerfile')", "error reading dockerfile"},
		{"missing yaml", "k8s_yaml('nope.yaml')", "no such file"},
		{"unknown extension", "load('ext://restart_process', 'docker_build_with_restart')", `extension "restart_process" has no stub`},
		{"fail()", "fail('stop here')", "stop here"},
		{"positional args without args=True", "config.define_bool('x')\nconfig.parse()", "positional CLI args"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{}
			if strings.Contains(c.name, "positional") {
				args = []string{"api"}
			}
			_, _, _, err := fixture(t, map[string]string{"Tiltfile": c.tiltfile}, args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// Paths in a loaded file resolve against that file's folder while it
// executes, but against the caller's when its functions run later (as in Tilt).
func TestLoadResolvesPathsLikeTilt(t *testing.T) {
	files := map[string]string{
		"Tiltfile": "load('./lib/helpers.star', 'top', 'later')\nk8s_yaml(later())",
		"lib/helpers.star": "top = read_file('here.txt')\n" +
			"def later():\n    return read_file('app.yaml')\n",
		"lib/here.txt": "x",
		"app.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\n",
	}
	if _, _, _, err := fixture(t, files); err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	files["Tiltfile"] = "load('./lib/helpers.star', 'top')\nk8s_yaml(read_file('here.txt'))"
	if _, _, _, err := fixture(t, files); err == nil || !strings.Contains(err.Error(), "here.txt") {
		t.Fatalf("a path relative to the loaded file used from the Tiltfile: err = %v, want not found", err)
	}
}

func TestConfigFlags(t *testing.T) {
	tf := "config.define_bool('addons')\nconfig.define_string_list('to-run', args=True)\ncfg = config.parse()\n" +
		"if cfg.get('addons', True):\n    fail('addons on')\n"
	if _, _, _, err := fixture(t, map[string]string{"Tiltfile": tf}, "--addons=false", "api"); err != nil {
		t.Fatalf("--addons=false: %v", err)
	}
	if _, _, _, err := fixture(t, map[string]string{"Tiltfile": tf}); err == nil || !strings.Contains(err.Error(), "addons on") {
		t.Fatalf("default: err = %v, want the default true", err)
	}
	if _, _, _, err := fixture(t, map[string]string{"Tiltfile": tf}, "--adons"); err == nil {
		t.Fatal("an undefined flag was accepted")
	}
}

func TestModelErrors(t *testing.T) {
	for _, c := range []struct{ name, extra, want string }{
		{"unknown workload", "k8s_resource('wbe', labels=['x'])", `unknown resource "wbe"`},
		{"unknown object", "k8s_resource(new_name='cfg', objects=['nope:configmap'])", `fragment "nope:configmap"`},
		{"object taken twice", "k8s_resource(new_name='cfg', objects=['web-config:configmap'])", "already belongs"},
		{"ambiguous fragment", "k8s_resource(new_name='cfg', objects=['web'])", "not a unique fragment"},
		{"duplicate resource name", "local_resource('web', cmd='true')", `two resources are named "web"`},
		{"duplicate object", "k8s_yaml('app.yaml')", "duplicate YAML entity"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, m := mustEval(t, with(goodFiles(), "Tiltfile", good+c.extra+"\n"))
			wantProblem(t, c.name, m.Errors, c.want)
		})
	}
}

func TestCheckResourceDeps(t *testing.T) {
	_, _, m := mustEval(t, with(goodFiles(), "Tiltfile", strings.Replace(good, "resource_deps=['build']", "resource_deps=['biuld']", 1)))
	wantProblem(t, "undefined dep", CheckResourceDeps(m), `depends on "biuld"`)
	_, _, m = mustEval(t, with(goodFiles(), "Tiltfile", good+"local_resource('a', cmd='true', resource_deps=['web'], labels=['x'])\n"+
		"k8s_resource('web', resource_deps=['a'])\n"))
	wantProblem(t, "cycle", CheckResourceDeps(m), "dependency cycle")
}

func TestCheckAllObjectsResourced(t *testing.T) {
	_, _, m := mustEval(t, with(goodFiles(), "Tiltfile", strings.Replace(good, "objects=['web-config:configmap'], ", "", 1)))
	wantProblem(t, "unassigned ConfigMap", CheckAllObjectsResourced(m), "ConfigMap/web-config")
}

func TestCheckLabels(t *testing.T) {
	_, _, m := mustEval(t, with(goodFiles(), "Tiltfile", strings.Replace(good, ", labels=['build']", "", 1)))
	wantProblem(t, "unlabelled", CheckLabels(m), `"build" has no label`)
}

func TestCheckPaths(t *testing.T) {
	cases := []struct{ name, tiltfile, want string }{
		{"missing dep", strings.Replace(good, "deps=['src']", "deps=['scr']", 1), `dep "scr"`},
		{"missing script", strings.Replace(good, "scripts/build.sh", "scripts/biuld.sh", 1), `program "scripts/biuld.sh"`},
		{"missing context", strings.Replace(good, "'ctx'", "'ctxx'", 1), `context "ctxx"`},
		{"generated context nobody builds first", strings.NewReplacer("'ctx'", "'.dev/ctx'", "'ctx/web'", "'.dev/ctx/web'", "resource_deps=['build'], ", "").Replace(good),
			"without waiting for a local_resource"},
		{"missing helm_resource values", "helm_resource = load_dynamic('ext://helm_resource')['helm_resource']\n" + good +
			"helm_resource('kps', 'r/kps', flags=['--version', '1.0.0', '--values', 'k8s/nope.yaml'], labels=['x'])\n", `values file "k8s/nope.yaml"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, res, m := mustEval(t, with(goodFiles(), "Tiltfile", c.tiltfile))
			wantProblem(t, c.name, CheckPaths(dir, res, m, ".dev/"), c.want)
		})
	}
	// A generated context is fine when the deploying resource waits for a local_resource.
	tf := strings.NewReplacer("'ctx'", "'.dev/ctx'", "'ctx/web'", "'.dev/ctx/web'").Replace(good)
	dir, res, m := mustEval(t, with(goodFiles(), "Tiltfile", tf))
	wantNone(t, "generated context", CheckPaths(dir, res, m, ".dev/"))

	files := with(goodFiles(), "scripts/build.sh", "")
	files["scripts/build"] = "#!/bin/sh\n" // not executable (no .sh)
	dir, res, m = mustEval(t, with(files, "Tiltfile", strings.Replace(good, "scripts/build.sh", "scripts/build", 1)))
	wantProblem(t, "not executable", CheckPaths(dir, res, m, ".dev/"), "not executable")
}

func TestCheckImages(t *testing.T) {
	_, res, m := mustEval(t, with(goodFiles(), "Tiltfile", good+"docker_build('goshop/unused', 'ctx', dockerfile='Dockerfile.dev')\n"))
	wantProblem(t, "unused image", CheckImages(res, m), "goshop/unused is built but no workload runs it")

	files := with(goodFiles(), "app.yaml", strings.ReplaceAll(deployment, "IMAGE", "goshop/other"))
	_, res, m = mustEval(t, files)
	problems := CheckImages(res, m)
	wantProblem(t, "unbuilt, unpinned image", problems, "runs goshop/other")
	wantProblem(t, "built image not used", problems, "goshop/web is built")

	files = with(goodFiles(), "app.yaml", goodFiles()["app.yaml"]+"---\n"+strings.ReplaceAll(
		strings.ReplaceAll(strings.Split(deployment, "---")[0], "web", "db"), "IMAGE", "docker.io/library/postgres:15.18"))
	_, res, m = mustEval(t, with(files, "Tiltfile", good+"k8s_resource('db', labels=['infra'])\n"))
	wantNone(t, "pinned third-party image", CheckImages(res, m))
}

func TestCheckLiveUpdate(t *testing.T) {
	cases := []struct{ name, tiltfile, yaml, want string }{
		{"sync outside the context", strings.Replace(good, "sync('ctx/web'", "sync('src/main.go'", 1), "", "outside the build context"},
		{"target not on a volume", strings.Replace(good, "'/live/web'", "'/app/web'", 1), "", "/app/web, which is not on a writable emptyDir"},
		{"read-only mount", "", strings.Replace(deployment, "mountPath: /live}", "mountPath: /live, readOnly: true}", 1), "not on a writable emptyDir"},
		{"command overrides the entrypoint", "", strings.Replace(deployment, "image: IMAGE", "image: IMAGE\n          command: [/web]", 1), "sets command"},
		{"restart_container", strings.Replace(good, "'/live/web')]", "'/live/web'), restart_container()]", 1), "", "containerd"},
		{"run", strings.Replace(good, "'/live/web')]", "'/live/web'), run('touch /tmp/x')]", 1), "", "shell"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := goodFiles()
			if c.tiltfile != "" {
				files = with(files, "Tiltfile", c.tiltfile)
			}
			if c.yaml != "" {
				files = with(files, "app.yaml", strings.ReplaceAll(c.yaml, "IMAGE", "goshop/web:dev"))
			}
			dir, res, m := mustEval(t, files)
			wantProblem(t, c.name, CheckLiveUpdate(dir, res, m), c.want)
		})
	}
}

func TestCheckPortForwards(t *testing.T) {
	_, res, m := mustEval(t, with(goodFiles(), "Tiltfile", strings.Replace(good, "port_forward(8080, 8080)", "port_forward(8080, 9999)", 1)))
	wantProblem(t, "undeclared container port", CheckPortForwards(res, m), "port 9999")
	_, res, m = mustEval(t, with(goodFiles(), "Tiltfile", good+"local_resource('ui', serve_cmd='sleep 1', labels=['x'], "+
		"readiness_probe=probe(http_get=http_get_action(port=8080)))\n"))
	wantProblem(t, "port taken twice", CheckPortForwards(res, m), "local port 8080 is forwarded twice")
}

func TestDecodeStrictAndPodSecurity(t *testing.T) {
	obj, known, err := DecodeStrict([]byte(strings.ReplaceAll(strings.Split(deployment, "---")[0], "IMAGE", "x:1")))
	if err != nil || !known {
		t.Fatalf("a valid Deployment: %v %v", known, err)
	}
	if _, _, err := DecodeStrict([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {selectr: {a: b}}\n")); err == nil ||
		!strings.Contains(err.Error(), "selectr") {
		t.Fatalf("unknown field: err = %v", err)
	}
	if _, _, err := DecodeStrict([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: eighty}]}\n")); err == nil {
		t.Fatal("a string port was accepted")
	}
	if _, known, err := DecodeStrict([]byte("apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: a}\n")); known || err != nil {
		t.Fatalf("a custom resource: known=%v err=%v", known, err)
	}
	meta, spec := PodTemplate(obj)
	why, err := PodSecurity("restricted", meta, spec)
	if err != nil || !strings.Contains(why, "allowPrivilegeEscalation") {
		t.Fatalf("a pod without a security context under restricted: %q %v", why, err)
	}
	if why, _ := PodSecurity("baseline", meta, spec); why != "" {
		t.Fatalf("the same pod under baseline: %q", why)
	}
}
