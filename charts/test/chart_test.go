package charttest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	k8sjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// chartSpec is what a chart must do for its service.
type chartSpec struct {
	name string
	// service: the chart runs a server with a configuration document,
	// a Service, probes and the monitoring objects (all but loadgen).
	service    bool
	envPrefix  string // API: API_CONFIG, API_DATABASE_URL_FILE...
	configKind string
	job        string // the job label the dashboards and alerts select
	pkg        string // the binary's main package
	// defaultEgress: the egress ports of the default values, sorted ("53/UDP", ...).
	defaultEgress []string
	// dashboards: the dashboard ConfigMaps the full values render.
	dashboards []string
}

var charts = []chartSpec{
	{name: "api", service: true, envPrefix: "API", configKind: "APIConfig", job: "api",
		pkg:           "github.com/goshop-platform/shop/services/api/cmd/api",
		defaultEgress: []string{"4317/TCP", "4318/TCP", "53/TCP", "53/UDP", "5432/TCP", "6379/TCP"},
		dashboards:    []string{"api.json", "shop-overview.json"}},
	{name: "order-worker", service: true, envPrefix: "WORKER", configKind: "OrderWorkerConfig", job: "order-worker",
		pkg:           "github.com/goshop-platform/shop/services/order-worker/cmd/order-worker",
		defaultEgress: []string{"4317/TCP", "4318/TCP", "53/TCP", "53/UDP", "5432/TCP", "6379/TCP"},
		dashboards:    []string{"order-worker.json"}},
	{name: "catalog-sync", service: true, envPrefix: "SYNC", configKind: "CatalogSyncConfig", job: "catalog-sync",
		pkg:           "github.com/goshop-platform/shop/services/catalog-sync/cmd/catalog-sync",
		defaultEgress: []string{"4317/TCP", "4318/TCP", "53/TCP", "53/UDP", "5432/TCP", "8055/TCP"},
		dashboards:    []string{"catalog-sync.json"}},
	{name: "storefront", service: true, envPrefix: "STOREFRONT", configKind: "StorefrontConfig", job: "storefront",
		pkg:           "github.com/goshop-platform/shop/services/storefront/cmd/storefront",
		defaultEgress: []string{"4317/TCP", "4318/TCP", "53/TCP", "53/UDP"}},
	{name: "loadgen", pkg: "github.com/goshop-platform/shop/services/loadgen/cmd/loadgen",
		defaultEgress: []string{"53/TCP", "53/UDP", "8055/TCP", "8080/TCP"}},
}

// repoRoot is the repository's top folder: go test runs a package's tests
// in its folder (charts/test or below), and the root holds go.work. (Not
// runtime.Caller: builds are -trimpath.)
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.work above the test's folder: run the tests inside the repository")
		}
		dir = parent
	}
}

// chartDir is charts/<name> as a user deploys it: with its dependencies
// (the shop-lib library chart) built into its charts/ folder.
func chartDir(t testing.TB, name string) string {
	t.Helper()
	built.once.Do(func() { built.dir, built.err = buildCharts(filepath.Join(repoRoot(t), "charts")) })
	if built.err != nil {
		t.Fatalf("helm dependency build: %v", built.err)
	}
	return filepath.Join(built.dir, name)
}

// built is a copy of charts/ made once per test run, so that the tests
// never use (or overwrite) what a developer's own `helm dependency build`
// left in the working tree.
var built struct {
	once sync.Once
	dir  string
	err  error
}

// buildCharts copies every chart under src (without any dependencies built
// earlier) into a temporary folder and does there what `helm dependency
// build` does for a file:// dependency, with the same Helm library calls:
// load the dependency's folder and save it packaged into the chart's
// charts/. Chart.lock must name exactly the dependencies of Chart.yaml
// (helm dependency build refuses a lock out of sync). `make charts` and the
// Tiltfile run helm dependency build itself.
func buildCharts(src string) (string, error) {
	dst, err := os.MkdirTemp("", "charttest-charts-")
	if err != nil {
		return "", err
	}
	files, err := filepath.Glob(filepath.Join(src, "*", "Chart.yaml"))
	if err != nil {
		return "", err
	}
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f))
		if err := os.CopyFS(filepath.Join(dst, name), os.DirFS(filepath.Dir(f))); err != nil {
			return "", fmt.Errorf("copy chart %s: %w", name, err)
		}
		if err := os.RemoveAll(filepath.Join(dst, name, "charts")); err != nil {
			return "", err
		}
	}
	for _, f := range files {
		dir := filepath.Join(dst, filepath.Base(filepath.Dir(f)))
		c, err := loader.Load(dir)
		if err != nil {
			return "", err
		}
		if err := buildDependencies(dir, c); err != nil {
			return "", fmt.Errorf("charts/%s: %w", c.Name(), err)
		}
	}
	return dst, nil
}

func buildDependencies(dir string, c *chart.Chart) error {
	deps := c.Metadata.Dependencies
	if len(deps) == 0 {
		return nil
	}
	if c.Lock == nil || len(c.Lock.Dependencies) != len(deps) {
		return errors.New("no Chart.lock, or one out of sync with Chart.yaml: run helm dependency update")
	}
	for i, d := range deps {
		if l := c.Lock.Dependencies[i]; l.Name != d.Name || l.Version != d.Version || l.Repository != d.Repository {
			return fmt.Errorf("the Chart.lock has %s %s from %s, Chart.yaml wants %s %s from %s: run helm dependency update", l.Name, l.Version, l.Repository, d.Name, d.Version, d.Repository)
		}
		local, ok := strings.CutPrefix(d.Repository, "file://")
		if !ok {
			return fmt.Errorf("dependency %s: only file:// repositories are built here, not %s", d.Name, d.Repository)
		}
		dep, err := loader.LoadDir(filepath.Join(dir, local))
		if err != nil {
			return fmt.Errorf("dependency %s: %w", d.Name, err)
		}
		if dep.Name() != d.Name || dep.Metadata.Version != d.Version {
			return fmt.Errorf("dependency %s %s: %s holds %s %s", d.Name, d.Version, d.Repository, dep.Name(), dep.Metadata.Version)
		}
		if err := os.MkdirAll(filepath.Join(dir, "charts"), 0o755); err != nil {
			return err
		}
		if _, err := chartutil.Save(dep, filepath.Join(dir, "charts")); err != nil {
			return err
		}
	}
	return nil
}

// loadChart reads charts/<name> from disk (templates, values, schema, files).
func loadChart(t testing.TB, name string) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir(t, name))
	if err != nil {
		t.Fatalf("load chart %s: %v", name, err)
	}
	return c
}

// ciValuesFiles lists charts/<name>/ci/*.yaml.
func ciValuesFiles(t testing.TB, name string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir(t, name), "ci", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("chart %s has no ci/*.yaml values files (%v)", name, err)
	}
	return files
}

func readValues(t testing.TB, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{}
	if err := yaml.Unmarshal(b, &vals); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return vals
}

// Release identity used for every render.
const (
	releaseName      = "shop"
	releaseNamespace = "shop"
)

// renderValues renders the chart the way `helm install` would (schema
// validation, then the engine in strict mode: a reference to a value that
// does not exist is an error) and returns the output per template file.
func renderValues(c *chart.Chart, vals map[string]any) (map[string]string, error) {
	caps := chartutil.DefaultCapabilities.Copy()
	kv, err := chartutil.ParseKubeVersion("v1.37.2")
	if err != nil {
		return nil, err
	}
	caps.KubeVersion = *kv
	top, err := chartutil.ToRenderValues(c, vals,
		chartutil.ReleaseOptions{Name: releaseName, Namespace: releaseNamespace, Revision: 1, IsInstall: true}, caps)
	if err != nil {
		return nil, err
	}
	return engine.Engine{Strict: true}.Render(c, top)
}

// object is one rendered Kubernetes object, decoded into its Go type.
type object struct {
	source string // template file
	obj    k8sruntime.Object
	raw    string
}

var scheme = func() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	for _, add := range []func(*k8sruntime.Scheme) error{
		clientgoscheme.AddToScheme, monitoringv1.AddToScheme, kedav1alpha1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// strictDecoder decodes YAML into the registered Go types and reports
// unknown and duplicate fields as errors.
var strictDecoder = k8sjson.NewSerializerWithOptions(k8sjson.DefaultMetaFactory, scheme, scheme,
	k8sjson.SerializerOptions{Yaml: true, Strict: true})

// decodeAll splits the rendered templates into objects and decodes each
// strictly. NOTES.txt and partials are skipped.
func decodeAll(rendered map[string]string) ([]object, error) {
	paths := make([]string, 0, len(rendered))
	for p := range rendered {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var out []object
	for _, p := range paths {
		if !strings.HasSuffix(p, ".yaml") {
			continue
		}
		manifests := releaseutil.SplitManifests(rendered[p])
		keys := make([]string, 0, len(manifests))
		for k := range manifests {
			keys = append(keys, k)
		}
		sort.Sort(releaseutil.BySplitManifestsOrder(keys))
		for _, k := range keys {
			doc := manifests[k]
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			obj, _, err := strictDecoder.Decode([]byte(doc), nil, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: %w\n%s", p, err, doc)
			}
			out = append(out, object{source: p, obj: obj, raw: doc})
		}
	}
	return out, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// rendered is one chart rendered with one values file.
type rendered struct {
	spec    chartSpec
	values  string // values file, relative to the chart
	files   map[string]string
	objects []object
}

// renderCI renders the chart with each of its ci/*.yaml files and decodes
// the result; any error fails the test.
func renderCI(t *testing.T, spec chartSpec) []rendered {
	t.Helper()
	c := loadChart(t, spec.name)
	var out []rendered
	for _, f := range ciValuesFiles(t, spec.name) {
		rel := filepath.Join("ci", filepath.Base(f))
		files, err := renderValues(c, readValues(t, f))
		if err != nil {
			t.Fatalf("%s with %s: render: %v", spec.name, rel, err)
		}
		objs, err := decodeAll(files)
		if err != nil {
			t.Fatalf("%s with %s: decode: %v", spec.name, rel, err)
		}
		out = append(out, rendered{spec: spec, values: rel, files: files, objects: objs})
	}
	return out
}

// ofType returns the rendered objects of type T.
func ofType[T k8sruntime.Object](r rendered) []T {
	var out []T
	for _, o := range r.objects {
		if v, ok := o.obj.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// one returns the single object of type T named name, failing otherwise.
func one[T interface {
	k8sruntime.Object
	GetName() string
}](t *testing.T, r rendered, name string) T {
	t.Helper()
	var found []T
	for _, o := range ofType[T](r) {
		if o.GetName() == name {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("%s with %s: want one %T named %q, found %d", r.spec.name, r.values, zero, name, len(found))
	}
	return found[0]
}
