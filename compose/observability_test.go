package compose

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

type promConfig struct {
	Global struct {
		ScrapeInterval string `yaml:"scrape_interval"`
	} `yaml:"global"`
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
		DNSSDConfigs []struct {
			Names []string `yaml:"names"`
			Type  string   `yaml:"type"`
			Port  int      `yaml:"port"`
		} `yaml:"dns_sd_configs"`
	} `yaml:"scrape_configs"`
}

// flagValue is the value of --name=value in a command.
func flagValue(cmd types.ShellCommand, name string) string {
	for _, a := range cmd {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// The Prometheus config mounted into the prometheus service passes
// `promtool check config` (with the rule files it names, as mounted), loads
// every alert rule file of dashboards/alerts, and scrapes every shop
// service's metrics port by DNS service discovery, which finds every replica
// of a scaled service, under the job name the dashboards select on.
func TestPrometheusScrapesEveryService(t *testing.T) {
	p := full(t)
	prom := service(t, p, "prometheus")
	cfgTarget := flagValue(prom.Command, "config.file")
	if cfgTarget == "" {
		t.Fatalf("prometheus command %v has no --config.file", prom.Command)
	}
	cfgPath := hostPath(prom, cfgTarget)
	if cfgPath == "" {
		t.Fatalf("prometheus reads %s, which no bind mount provides", cfgTarget)
	}
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg promConfig
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("%s: %v", cfgPath, err)
	}

	// promtool on a copy whose rule files point at what is mounted there.
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var mounted []string
	for i, rf := range cfg.RuleFiles {
		host := hostPath(prom, rf)
		if host == "" {
			t.Errorf("rule file %s is not mounted into the prometheus service", rf)
			continue
		}
		if _, err := os.Stat(host); err != nil {
			t.Errorf("rule file %s is mounted from %s, which does not exist", rf, host)
		}
		abs, _ := filepath.Abs(host)
		doc["rule_files"].([]any)[i] = abs
		mounted = append(mounted, abs)
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	check := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(check, out, 0o644); err != nil {
		t.Fatal(err)
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found: install Debian's prometheus package (sudo apt-get install -y --no-install-recommends prometheus)")
	}
	if res, err := exec.Command(promtool, "check", "config", check).CombinedOutput(); err != nil {
		t.Errorf("promtool check config %s: %v\n%s", cfgPath, err, res)
	}

	rules, _ := filepath.Glob(filepath.Join(root, "dashboards", "alerts", "*.rules.yml"))
	if len(rules) == 0 {
		t.Fatal("no dashboards/alerts/*.rules.yml")
	}
	for _, r := range rules {
		abs, _ := filepath.Abs(r)
		if !slices.Contains(mounted, abs) {
			t.Errorf("alert rules %s are not loaded by the compose Prometheus", r)
		}
	}

	jobs := map[string][]string{} // job -> "name:port" targets
	for _, sc := range cfg.ScrapeConfigs {
		for _, d := range sc.DNSSDConfigs {
			if d.Type != "A" {
				t.Errorf("job %s: dns_sd type %q; Docker's DNS answers A records", sc.JobName, d.Type)
			}
			for _, n := range d.Names {
				jobs[sc.JobName] = append(jobs[sc.JobName], n+":"+strconv.Itoa(d.Port))
			}
		}
		for _, s := range sc.StaticConfigs {
			for _, target := range s.Targets {
				if host, _, _ := strings.Cut(target, ":"); p.Services[host].Name != "" {
					t.Errorf("job %s scrapes %s statically: only one replica would be seen; use dns_sd_configs", sc.JobName, target)
				}
			}
		}
	}
	for _, s := range ourServices(p) {
		port, ok := listenPort(t, s)
		if !ok || s.Restart == types.RestartPolicyNo {
			continue // one-shot steps serve no metrics
		}
		want := s.Name + ":" + port
		if !slices.Contains(jobs[s.Name], want) {
			t.Errorf("no scrape job %q discovering %s (DNS name and metrics port); jobs: %v", s.Name, want, jobs)
		}
	}

	// Grafana derives $__rate_interval from the datasource's timeInterval.
	ds := grafanaDatasources(t, p)
	if got := ds["prometheus"].JSONData["timeInterval"]; got != cfg.Global.ScrapeInterval {
		t.Errorf("Grafana's Prometheus datasource timeInterval %v != scrape_interval %s", got, cfg.Global.ScrapeInterval)
	}
}

type datasource struct {
	Name     string         `yaml:"name"`
	UID      string         `yaml:"uid"`
	Type     string         `yaml:"type"`
	URL      string         `yaml:"url"`
	JSONData map[string]any `yaml:"jsonData"`
}

// grafanaDatasources reads every datasource file mounted into Grafana's
// provisioning folder, keyed by uid.
func grafanaDatasources(t *testing.T, p *types.Project) map[string]datasource {
	g := service(t, p, "grafana")
	out := map[string]datasource{}
	for _, file := range provisioningFiles(t, g, "/etc/grafana/provisioning/datasources") {
		var f struct {
			APIVersion  int          `yaml:"apiVersion"`
			Datasources []datasource `yaml:"datasources"`
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &f); err != nil || f.APIVersion != 1 {
			t.Fatalf("%s: not a Grafana datasource file (apiVersion 1): %v", file, err)
		}
		for _, d := range f.Datasources {
			out[d.UID] = d
		}
	}
	return out
}

// provisioningFiles lists the host files that appear in a Grafana
// provisioning folder: files mounted there one by one, or a mounted folder.
func provisioningFiles(t *testing.T, s types.ServiceConfig, dir string) []string {
	var out []string
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		switch {
		case filepath.Dir(v.Target) == dir:
			out = append(out, v.Source)
		case v.Target == dir:
			files, _ := filepath.Glob(filepath.Join(v.Source, "*.y*ml"))
			out = append(out, files...)
		}
	}
	for _, f := range out {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s mounts %s into %s, which does not exist", s.Name, f, dir)
		}
	}
	if len(out) == 0 {
		t.Fatalf("nothing is mounted into %s of %s", dir, s.Name)
	}
	return out
}

// Grafana's provisioning points at dashboard files that exist: the dashboard
// provider's folder is mounted from dashboards/grafana and holds every
// dashboard; the datasources the dashboards use are provisioned and point at
// compose services that listen there; the home dashboard exists.
func TestGrafanaProvisioning(t *testing.T) {
	p := full(t)
	g := service(t, p, "grafana")
	var providerPaths []string
	for _, file := range provisioningFiles(t, g, "/etc/grafana/provisioning/dashboards") {
		var f struct {
			APIVersion int `yaml:"apiVersion"`
			Providers  []struct {
				Type    string `yaml:"type"`
				Options struct {
					Path string `yaml:"path"`
				} `yaml:"options"`
			} `yaml:"providers"`
		}
		b, _ := os.ReadFile(file)
		if err := yaml.Unmarshal(b, &f); err != nil || f.APIVersion != 1 || len(f.Providers) == 0 {
			t.Fatalf("%s: not a Grafana dashboard provider file: %v", file, err)
		}
		for _, pr := range f.Providers {
			providerPaths = append(providerPaths, pr.Options.Path)
		}
	}
	want, _ := filepath.Glob(filepath.Join(root, "dashboards", "grafana", "*.json"))
	if len(want) == 0 {
		t.Fatal("no dashboards in dashboards/grafana")
	}
	found := map[string]bool{}
	usedUIDs := map[string]bool{}
	for _, pp := range providerPaths {
		host := hostPath(g, pp)
		if host == "" {
			t.Errorf("dashboard provider path %s is not mounted into grafana", pp)
			continue
		}
		files, _ := filepath.Glob(filepath.Join(host, "*.json"))
		for _, f := range files {
			found[filepath.Base(f)] = true
			var d struct {
				UID, Title string
			}
			b, _ := os.ReadFile(f)
			if err := json.Unmarshal(b, &d); err != nil || d.UID == "" || d.Title == "" {
				t.Errorf("%s: not a dashboard with uid and title: %v", f, err)
			}
			collectDatasourceUIDs(b, usedUIDs)
		}
	}
	for _, w := range want {
		if !found[filepath.Base(w)] {
			t.Errorf("dashboard %s is not in any provisioned folder", w)
		}
	}
	ports := listening(t, p)
	ds := grafanaDatasources(t, p)
	for uid := range usedUIDs {
		if _, ok := ds[uid]; !ok {
			t.Errorf("dashboards use datasource uid %q, which is not provisioned (have %v)", uid, dsKeys(ds))
		}
	}
	for _, typ := range []string{"prometheus", "jaeger"} {
		ok := false
		for _, d := range ds {
			ok = ok || d.Type == typ
		}
		if !ok {
			t.Errorf("no %s datasource provisioned", typ)
		}
	}
	for uid, d := range ds {
		host, port, _ := strings.Cut(strings.TrimPrefix(d.URL, "http://"), ":")
		port, _, _ = strings.Cut(port, "/")
		if !ports[host][port] {
			t.Errorf("datasource %s points at %s: no compose service %s listening on %s", uid, d.URL, host, port)
		}
	}
	if home := g.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != nil {
		if h := hostPath(g, *home); h == "" {
			t.Errorf("home dashboard %s is not mounted", *home)
		} else if _, err := os.Stat(h); err != nil {
			t.Errorf("home dashboard %s: %v", *home, err)
		}
	}
}

// collectDatasourceUIDs finds every fixed datasource uid in a dashboard
// (template references such as ${datasource} resolve to the default below).
func collectDatasourceUIDs(b []byte, out map[string]bool) {
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ds, ok := v["datasource"].(map[string]any); ok {
				if uid, ok := ds["uid"].(string); ok && !strings.Contains(uid, "$") && uid != "-- Grafana --" && uid != "grafana" {
					out[uid] = true
				}
			}
			if v["type"] == "datasource" {
				if cur, ok := v["current"].(map[string]any); ok {
					if val, ok := cur["value"].(string); ok && val != "" {
						out[val] = true
					}
				}
			}
			for _, sub := range v {
				walk(sub)
			}
		case []any:
			for _, sub := range v {
				walk(sub)
			}
		}
	}
	var doc any
	if json.Unmarshal(b, &doc) == nil {
		walk(doc)
	}
}

func dsKeys(m map[string]datasource) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
