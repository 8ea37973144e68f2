package tilt_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	corev1 "k8s.io/api/core/v1"
	kindv1alpha4 "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	"github.com/goshop-platform/shop/tilt/internal/tiltfile"
)

// The repository root: the Tiltfile's folder.
var root = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(wd)
}()

// helmBinary finds helm: $HELM, the pinned one scripts/install-kube-tools.sh
// builds, or one on PATH.
func helmBinary(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	pinned := filepath.Join(cache, "goshop", "kube-tools-v1.37.2", "bin", "helm")
	if _, err := os.Stat(pinned); err == nil {
		return pinned
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	t.Fatalf("helm not found: the Tiltfile's charts are rendered with `helm template`. Run scripts/install-kube-tools.sh (builds the pinned helm into %s) or set HELM=/path/to/helm", pinned)
	return ""
}

type variant struct {
	name   string
	args   []string
	addons bool
}

var variants = []variant{
	{name: "default", addons: true},
	{name: "no-addons", args: []string{"--addons=false"}},
	{name: "loadgen", args: []string{"--loadgen"}, addons: true},
	{name: "prod-images", args: []string{"--prod-images"}, addons: true},
}

func evaluate(t *testing.T, helm string, v variant) (*tiltfile.Result, *tiltfile.Model) {
	t.Helper()
	res, err := tiltfile.Evaluate(tiltfile.Options{Root: root, Args: v.args, Helm: helm, Context: "kind-shop",
		Env: map[string]string{"HOME": "/home/dev"}})
	if err != nil {
		t.Fatalf("evaluating the Tiltfile (tilt up -- %s): %v", strings.Join(v.args, " "), err)
	}
	m := tiltfile.Assemble(res)
	for _, e := range m.Errors {
		t.Errorf("Tilt would refuse the Tiltfile: %s", e)
	}
	return res, m
}

func report(t *testing.T, check string, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Errorf("%s: %s", check, p)
	}
}

// TestTiltfile evaluates the Tiltfile in each of its modes and checks what
// it declares against the repository and the rendered charts.
func TestTiltfile(t *testing.T) {
	helm := helmBinary(t)
	namespaces := namespaceLevels(t)
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			res, m := evaluate(t, helm, v)
			for _, n := range m.Names() {
				r := m.Resources[n]
				t.Logf("%-22s %-6s objects=%d deps=%v labels=%v", n, r.Type, len(r.Objects), r.Deps, r.Labels)
			}

			report(t, "resource deps", tiltfile.CheckResourceDeps(m))
			report(t, "objects", tiltfile.CheckAllObjectsResourced(m))
			report(t, "labels", tiltfile.CheckLabels(m))
			report(t, "paths", tiltfile.CheckPaths(root, res, m, ".dev/"))
			report(t, "images", tiltfile.CheckImages(res, m))
			report(t, "live update", tiltfile.CheckLiveUpdate(root, res, m))
			report(t, "port forwards", tiltfile.CheckPortForwards(res, m))

			checkSettings(t, res)
			checkChartsDeployed(t, res)
			checkOrder(t, m)
			checkPortsAndLinks(t, m, v.addons)
			checkLoadgen(t, m, slices.Contains(v.args, "--loadgen"))
			checkRendered(t, res, namespaces)
			if v.addons {
				checkAddons(t, res)
			} else if len(res.ByFn("helm_resource")) > 0 || len(res.ByFn("helm_repo")) > 0 {
				t.Errorf("--addons=false still installs third-party charts (needs the network)")
			}
			if !slices.Contains(v.args, "--prod-images") {
				checkDevImages(t, res)
			}
			if slices.Contains(v.args, "--prod-images") {
				checkProdImages(t, res)
			}
		})
	}
}

var devEntrypoint = regexp.MustCompile(`(?m)^ENTRYPOINT \["/devrunner", "run", "--live=([^"]+)", "--", "([^"]+)/\$\{SHOP_SERVICE\}"\]$`)

// checkDevImages: each dev image is tilt/Dockerfile.dev for its service, and
// its live update syncs the host-built binary to the file devrunner watches
// (<live dir>/<service>, from the Dockerfile's ENTRYPOINT).
func checkDevImages(t *testing.T, res *tiltfile.Result) {
	t.Helper()
	df, err := os.ReadFile(filepath.Join(root, "tilt", "Dockerfile.dev"))
	if err != nil {
		t.Fatal(err)
	}
	m := devEntrypoint.FindSubmatch(df)
	if m == nil || !bytes.Contains(df, []byte("ENV SHOP_SERVICE=${SERVICE}")) ||
		!bytes.Contains(df, []byte("COPY ${SERVICE} "+string(m[2])+"/${SERVICE}")) {
		t.Fatalf("tilt/Dockerfile.dev: want the binary copied to the path the ENTRYPOINT runs with devrunner --live=DIR")
	}
	live := string(m[1])
	builds := res.ByFn("docker_build")
	if len(builds) == 0 {
		t.Fatal("no docker_build")
	}
	for _, c := range builds {
		ref := tiltfile.Str(c.Args["ref"])
		svc := strings.TrimPrefix(ref, "goshop/")
		if tiltfile.Str(c.Args["dockerfile"]) != "tilt/Dockerfile.dev" {
			t.Errorf("%s: dockerfile %q, want tilt/Dockerfile.dev", ref, tiltfile.Str(c.Args["dockerfile"]))
		}
		if svcArg := buildArg(c, "SERVICE"); svcArg != svc {
			t.Errorf("%s: build arg SERVICE=%q, want %q", ref, svcArg, svc)
		}
		var targets []string
		for _, step := range tiltfile.List(c.Args["live_update"]) {
			if o, ok := step.(tiltfile.Object); ok && o.Kind == "sync" {
				targets = append(targets, tiltfile.Str(o.Args["remote_path"]))
			}
		}
		if want := live + "/" + svc; !slices.Equal(targets, []string{want}) {
			t.Errorf("%s: live update syncs to %v, want [%s] (what devrunner watches)", ref, targets, want)
		}
	}
}

// checkProdImages: with --prod-images each image is a plain build (no live
// update) of the release Dockerfile's target for its service, with SERVICE
// set to the same name, as docker-bake.hcl builds it.
func checkProdImages(t *testing.T, res *tiltfile.Result) {
	t.Helper()
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.ByFn("docker_build") {
		ref := tiltfile.Str(c.Args["ref"])
		svc := strings.TrimPrefix(ref, "goshop/")
		if len(tiltfile.List(c.Args["live_update"])) > 0 || tiltfile.Str(c.Args["dockerfile"]) != "Dockerfile" || tiltfile.Str(c.Args["context"]) != "." {
			t.Errorf("--prod-images: %s is not a plain build of the release Dockerfile from the repository root", ref)
		}
		target := tiltfile.Str(c.Args["target"])
		if target != svc || buildArg(c, "SERVICE") != svc {
			t.Errorf("--prod-images: %s builds target %q with SERVICE=%q, want %q for both", ref, target, buildArg(c, "SERVICE"), svc)
		}
		if !regexp.MustCompile(`(?mi)^FROM \S+ AS ` + regexp.QuoteMeta(target) + `$`).Match(df) {
			t.Errorf("--prod-images: %s: the Dockerfile has no target %q", ref, target)
		}
	}
}

// buildArg is a build argument of a docker_build call ("" when not set).
func buildArg(c tiltfile.Call, name string) string {
	d, ok := c.Args["build_args"].(interface {
		Get(starlark.Value) (starlark.Value, bool, error)
	})
	if !ok {
		return ""
	}
	v, _, _ := d.Get(starlark.String(name))
	return tiltfile.Str(v)
}

// checkSettings: no update check, only the kind cluster.
func checkSettings(t *testing.T, res *tiltfile.Result) {
	t.Helper()
	vs := res.ByFn("version_settings")
	if len(vs) != 1 || vs[0].Args["check_updates"] == nil || tiltfile.Bool(vs[0].Args["check_updates"]) {
		t.Errorf("want exactly one version_settings(check_updates=False), got %d calls", len(vs))
	}
	ctx := res.ByFn("allow_k8s_contexts")
	if len(ctx) != 1 || !slices.Equal(tiltfile.Strs(ctx[0].Args["contexts"]), []string{"kind-shop"}) {
		t.Errorf("want allow_k8s_contexts('kind-shop') only")
	}
}

// checkChartsDeployed: every application chart under charts/ is deployed,
// with its dev values (which exist: helm template would have failed
// otherwise), and its dependencies (the shop-lib library chart) are built
// before helm() renders it: a leftover build in the working tree must not
// be what makes it work.
func checkChartsDeployed(t *testing.T, res *tiltfile.Result) {
	t.Helper()
	charts, _ := filepath.Glob(filepath.Join(root, "charts", "*", "Chart.yaml"))
	if len(charts) == 0 {
		t.Fatal("no charts under charts/")
	}
	rendered := map[string]tiltfile.Render{}
	for _, r := range res.Renders {
		rendered[r.Chart] = r
	}
	for _, c := range charts {
		dir := filepath.Dir(c)
		var meta struct {
			Type         string `json:"type"`
			Dependencies []any  `json:"dependencies"`
		}
		b, err := os.ReadFile(c)
		if err == nil {
			err = yaml.Unmarshal(b, &meta)
		}
		if err != nil {
			t.Fatalf("%s: %v", rel(c), err)
		}
		r, ok := rendered[dir]
		if meta.Type == "library" {
			if ok {
				t.Errorf("library chart %s cannot be deployed", rel(dir))
			}
			continue
		}
		if len(meta.Dependencies) > 0 && !builtBeforeRender(res, rel(dir)) {
			t.Errorf("chart %s has dependencies, but the Tiltfile does not run local(['helm', 'dependency', 'build', '%s']) before helm() renders it", rel(dir), rel(dir))
		}
		if !ok {
			t.Errorf("chart %s is not deployed by the Tiltfile", rel(dir))
			continue
		}
		want := filepath.Join("tilt", "values", filepath.Base(dir)+".yaml")
		if len(r.Values) == 0 || r.Values[0] != want {
			t.Errorf("chart %s: values %v, want %s first", rel(dir), r.Values, want)
		}
		if r.Namespace != "shop" {
			t.Errorf("chart %s deployed to namespace %q, want shop", rel(dir), r.Namespace)
		}
	}
}

// builtBeforeRender: a local() call runs `helm dependency build chart`
// before the helm() call that renders chart.
func builtBeforeRender(res *tiltfile.Result, chart string) bool {
	built := false
	for _, c := range res.Calls {
		switch c.Fn {
		case "local":
			if slices.Equal(tiltfile.Strs(c.Args["command"]), []string{"helm", "dependency", "build", chart}) {
				built = true
			}
		case "helm":
			if tiltfile.Str(c.Args["paths"]) == chart {
				return built
			}
		}
	}
	return false
}

func rel(p string) string {
	r, _ := filepath.Rel(root, p)
	return r
}

// dependsOn reports whether resource a (transitively) waits for b.
func dependsOn(m *tiltfile.Model, a, b string) bool {
	seen := map[string]bool{}
	var walk func(n string) bool
	walk = func(n string) bool {
		if seen[n] {
			return false
		}
		seen[n] = true
		r, ok := m.Resources[n]
		if !ok {
			return false
		}
		for _, d := range r.Deps {
			if d == b || walk(d) {
				return true
			}
		}
		return false
	}
	return walk(a)
}

// checkOrder: the start order the services need.
func checkOrder(t *testing.T, m *tiltfile.Model) {
	t.Helper()
	for _, want := range [][2]string{
		{"postgres", "dev-secrets"}, {"directus", "postgres"},
		{"api-migrate", "postgres"}, {"api", "api-migrate"}, {"api", "redis"}, {"api", "jwt-key"}, {"api", "api-config"},
		{"order-worker", "api"}, {"order-worker", "redis"}, {"catalog-sync", "api"}, {"catalog-sync", "directus"},
		{"storefront", "api"}, {"demo-data", "api"}, {"loadgen", "demo-data"},
	} {
		if !dependsOn(m, want[0], want[1]) {
			t.Errorf("resource %q does not wait for %q", want[0], want[1])
		}
	}
}

// checkPortsAndLinks: the forwards and links the README promises.
func checkPortsAndLinks(t *testing.T, m *tiltfile.Model, addons bool) {
	t.Helper()
	ports := tiltfile.LocalPorts(m)
	want := map[int]string{8080: "api", 8088: "storefront", 8055: "directus"}
	links := []string{"http://localhost:8088", "http://localhost:8055/admin"}
	if addons {
		want[3000], want[9090], want[16686] = "grafana", "prometheus", "jaeger-ui"
		links = append(links, "http://localhost:3000", "http://localhost:16686", "http://localhost:9090")
	}
	for port, res := range want {
		if ports[port] != res {
			t.Errorf("local port %d: forwarded by %q, want %q", port, ports[port], res)
		}
	}
	got := tiltfile.Links(m)
	for _, l := range links {
		if _, ok := got[l]; !ok {
			t.Errorf("no link to %s", l)
		}
	}
}

// checkLoadgen: the load generator starts only when asked.
func checkLoadgen(t *testing.T, m *tiltfile.Model, asked bool) {
	t.Helper()
	r, ok := m.Resources["loadgen"]
	if !ok {
		t.Fatal("no loadgen resource")
	}
	if r.AutoInit != asked || r.Manual == asked {
		t.Errorf("loadgen: auto_init=%v manual=%v, want auto_init=%v manual=%v", r.AutoInit, r.Manual, asked, !asked)
	}
}

// namespaceLevels reads the enforced Pod Security level of each namespace of k8s/namespaces.yaml.
func namespaceLevels(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range manifests(t, filepath.Join(root, "k8s", "namespaces.yaml")) {
		obj, known, err := tiltfile.DecodeStrict(d)
		if err != nil || !known {
			t.Fatalf("k8s/namespaces.yaml: %v", err)
		}
		ns, ok := obj.(*corev1.Namespace)
		if !ok {
			t.Fatalf("k8s/namespaces.yaml holds a %T", obj)
		}
		out[ns.Name] = ns.Labels["pod-security.kubernetes.io/enforce"]
	}
	return out
}

// checkRendered: everything the Tiltfile applies decodes strictly into its
// k8s.io/api type (CRDs aside), lands in a namespace of k8s/namespaces.yaml,
// and its pods pass that namespace's Pod Security level.
func checkRendered(t *testing.T, res *tiltfile.Result, levels map[string]string) {
	t.Helper()
	for _, d := range res.Docs {
		obj, known, err := tiltfile.DecodeStrict(d.Raw)
		if err != nil {
			t.Errorf("%s/%s (%s): %v", d.Kind(), d.Name(), d.Source, err)
			continue
		}
		if d.Kind() == "Namespace" || !known && d.Namespace() == "" {
			continue
		}
		level, ok := levels[d.Namespace()]
		if !ok {
			t.Errorf("%s/%s is in namespace %q, which k8s/namespaces.yaml does not create", d.Kind(), d.Name(), d.Namespace())
			continue
		}
		if !known {
			continue
		}
		if meta, spec := tiltfile.PodTemplate(obj); spec != nil {
			why, err := tiltfile.PodSecurity(level, meta, spec)
			if err != nil {
				t.Fatal(err)
			}
			if why != "" {
				t.Errorf("%s/%s in %s would be refused by Pod Security %q: %s", d.Kind(), d.Name(), d.Namespace(), level, why)
			}
		}
	}
}

var exactVersion = regexp.MustCompile(`^v?\d+\.\d+\.\d+$`)

// checkAddons: the third-party charts are installed at exact versions with
// values files of k8s/values/.
func checkAddons(t *testing.T, res *tiltfile.Result) {
	t.Helper()
	releases := map[string]bool{}
	for _, c := range res.ByFn("helm_resource") {
		releases[tiltfile.Str(c.Args["name"])] = true
		flags := tiltfile.Strs(c.Args["flags"])
		i := slices.Index(flags, "--version")
		if i < 0 || i+1 >= len(flags) || !exactVersion.MatchString(flags[i+1]) {
			t.Errorf("helm_resource %s: flags %v pin no exact --version", tiltfile.Str(c.Args["name"]), flags)
		}
		j := slices.Index(flags, "--values")
		if j < 0 || j+1 >= len(flags) || !strings.HasPrefix(flags[j+1], "k8s/values/") {
			t.Errorf("helm_resource %s: no --values k8s/values/... in %v", tiltfile.Str(c.Args["name"]), flags)
		}
	}
	for _, want := range []string{"kps", "keda", "jaeger"} {
		if !releases[want] {
			t.Errorf("add-on %s is not installed", want)
		}
	}
}

func manifests(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, part := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(part, "")) != "" {
			out = append(out, []byte(part))
		}
	}
	return out
}

// TestK8sManifests: every manifest in k8s/ (but the add-on values) decodes
// strictly into its k8s.io/api type, images are pinned, and pods pass the
// Pod Security level their namespace enforces.
func TestK8sManifests(t *testing.T) {
	levels := namespaceLevels(t)
	for _, ns := range []string{"shop", "shop-infra"} {
		if levels[ns] != "restricted" {
			t.Errorf("namespace %s enforces %q, want restricted", ns, levels[ns])
		}
	}
	var files []string
	err := filepath.WalkDir(filepath.Join(root, "k8s"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "values" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil || len(files) < 5 {
		t.Fatalf("manifests under k8s/: %v %v", files, err)
	}
	for _, f := range files {
		for i, raw := range manifests(t, f) {
			obj, known, err := tiltfile.DecodeStrict(raw)
			switch {
			case err != nil:
				t.Errorf("%s #%d: %v", rel(f), i+1, err)
				continue
			case !known:
				t.Errorf("%s #%d: not a built-in Kubernetes kind", rel(f), i+1)
				continue
			}
			meta, spec := tiltfile.PodTemplate(obj)
			if spec == nil {
				continue
			}
			var ns struct {
				Metadata struct{ Namespace string } `json:"metadata"`
			}
			_ = yaml.Unmarshal(raw, &ns)
			level := levels[ns.Metadata.Namespace]
			if level == "" {
				t.Errorf("%s #%d: namespace %q has no enforced Pod Security level", rel(f), i+1, ns.Metadata.Namespace)
				continue
			}
			why, err := tiltfile.PodSecurity(level, meta, spec)
			if err != nil {
				t.Fatal(err)
			}
			if why != "" {
				t.Errorf("%s #%d: refused by Pod Security %q: %s", rel(f), i+1, level, why)
			}
			for _, c := range append(spec.InitContainers, spec.Containers...) {
				if tag := c.Image[strings.LastIndex(c.Image, ":")+1:]; !strings.Contains(c.Image, ":") || tag == "latest" {
					t.Errorf("%s #%d: image %s is not pinned", rel(f), i+1, c.Image)
				}
			}
		}
	}
}

// TestKindConfig: kind-config.yaml is a kind v1alpha4 Cluster named shop
// (context kind-shop) with an ingress-ready node mapping ports 80 and 443.
func TestKindConfig(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "kind-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c kindv1alpha4.Cluster
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		t.Fatalf("kind-config.yaml: %v", err)
	}
	if c.Kind != "Cluster" || c.APIVersion != "kind.x-k8s.io/v1alpha4" || c.Name != "shop" {
		t.Errorf("kind-config.yaml: kind %q apiVersion %q name %q, want Cluster kind.x-k8s.io/v1alpha4 shop", c.Kind, c.APIVersion, c.Name)
	}
	if len(c.Nodes) == 0 || c.Nodes[0].Role != kindv1alpha4.ControlPlaneRole {
		t.Fatalf("kind-config.yaml: want a control-plane node first, got %+v", c.Nodes)
	}
	n := c.Nodes[0]
	if n.Labels["ingress-ready"] != "true" {
		t.Errorf("kind-config.yaml: the node lacks the ingress-ready=true label")
	}
	var hostPorts []int32
	for _, pm := range n.ExtraPortMappings {
		if pm.ContainerPort == pm.HostPort {
			hostPorts = append(hostPorts, pm.HostPort)
		}
	}
	sort.Slice(hostPorts, func(i, j int) bool { return hostPorts[i] < hostPorts[j] })
	if !slices.Equal(hostPorts, []int32{80, 443}) {
		t.Errorf("kind-config.yaml: host port mappings %v, want 80 and 443", hostPorts)
	}
}

// TestAddonPins: k8s/values/charts.yaml names exact chart versions and
// values files that exist; the kube-prometheus-stack values select every
// ServiceMonitor and rule and load the charts' dashboards.
func TestAddonPins(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "k8s", "values", "charts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var pins struct {
		Charts []struct {
			Release, RepoName, Repo, Chart, Version, Namespace, Values string
		} `json:"charts"`
	}
	if err := yaml.UnmarshalStrict(b, &pins); err != nil {
		t.Fatalf("k8s/values/charts.yaml: %v", err)
	}
	if len(pins.Charts) != 3 {
		t.Errorf("k8s/values/charts.yaml: %d charts, want kube-prometheus-stack, keda, jaeger", len(pins.Charts))
	}
	for _, c := range pins.Charts {
		if !exactVersion.MatchString(c.Version) || !strings.HasPrefix(c.Repo, "https://") || c.Release == "" || c.Namespace == "" {
			t.Errorf("charts.yaml: %+v: want an exact version, an https repository, a release and a namespace", c)
		}
		if _, err := os.ReadFile(filepath.Join(root, "k8s", "values", c.Values)); err != nil {
			t.Errorf("charts.yaml: %s: %v", c.Chart, err)
		}
	}
	var kps struct {
		Prometheus struct {
			PrometheusSpec map[string]any `json:"prometheusSpec"`
		} `json:"prometheus"`
		Grafana struct {
			Sidecar struct {
				Dashboards map[string]any `json:"dashboards"`
			} `json:"sidecar"`
		} `json:"grafana"`
	}
	kb, err := os.ReadFile(filepath.Join(root, "k8s", "values", "kube-prometheus-stack.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(kb, &kps); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"serviceMonitorSelectorNilUsesHelmValues", "ruleSelectorNilUsesHelmValues", "podMonitorSelectorNilUsesHelmValues"} {
		if v, ok := kps.Prometheus.PrometheusSpec[key]; !ok || v != false {
			t.Errorf("kube-prometheus-stack values: prometheus.prometheusSpec.%s = %v, want false", key, v)
		}
	}
	d := kps.Grafana.Sidecar.Dashboards
	if d["enabled"] != true || d["label"] != "grafana_dashboard" || d["labelValue"] != "1" || d["searchNamespace"] != "ALL" {
		t.Errorf("kube-prometheus-stack values: grafana.sidecar.dashboards = %v, want enabled, label grafana_dashboard=1, all namespaces", d)
	}
}

// TestScripts: the helper scripts are executable and parse.
func TestScripts(t *testing.T) {
	scripts, _ := filepath.Glob(filepath.Join(root, "tilt", "scripts", "*.sh"))
	if len(scripts) == 0 {
		t.Fatal("no scripts in tilt/scripts")
	}
	for _, s := range scripts {
		fi, err := os.Stat(s)
		if err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", rel(s))
		}
		var stderr bytes.Buffer
		cmd := exec.Command("bash", "-n", s)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", rel(s), err, stderr.String())
		}
	}
}
