package testenv

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ScrapeTarget is one endpoint Prometheus scrapes (GET http://Addr/metrics),
// labelled job=Job; several targets may share a job (replicas).
type ScrapeTarget struct {
	Job  string
	Addr string // host:port
}

// PrometheusScrapeInterval is how often the server of Prometheus scrapes and
// evaluates rules: short, so a test's few seconds of load become samples.
const PrometheusScrapeInterval = time.Second

const prometheusReadyTimeout = 30 * time.Second

// Prometheus starts a throwaway Prometheus server for t (the Debian package's
// binary, 2.42) on a free port of 127.0.0.1 with its TSDB in a temp dir,
// scraping every target each PrometheusScrapeInterval, plus any rule files
// given with PrometheusRules. It returns the base URL (http://127.0.0.1:<port>)
// once every target has been scraped at least once with up == 1, which takes
// a few seconds: a target appears only after its first scrape, so /-/ready
// alone says too little. The server stops when t ends.
func Prometheus(t testing.TB, targets ...ScrapeTarget) string {
	t.Helper()
	return startPrometheus(t, nil, targets)
}

// PrometheusRules is Prometheus that also loads and evaluates the given rule
// files (absolute paths), e.g. the shop's alerting rules.
func PrometheusRules(t testing.TB, ruleFiles []string, targets ...ScrapeTarget) string {
	t.Helper()
	return startPrometheus(t, ruleFiles, targets)
}

func startPrometheus(t testing.TB, ruleFiles []string, targets []ScrapeTarget) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("testenv: no prometheus binary in PATH for this test.\n" +
			"Fix: sudo apt-get install -y --no-install-recommends prometheus (Debian's 2.42 also ships promtool); .ci/run does this.")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(prometheusConfig(ruleFiles, targets)), 0o644); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := StartService(t, "prometheus", bin, nil,
		"--config.file="+cfg,
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--storage.tsdb.retention.time=1d",
		"--log.level=warn")
	var want []string
	for _, tg := range targets {
		want = append(want, tg.Job+"@"+tg.Addr)
	}
	c.WaitReady(t, prometheusReadyTimeout, func() error {
		up, err := scrapedTargets(base)
		if err != nil {
			return err
		}
		for _, w := range want {
			if !slices.Contains(up, w) {
				return fmt.Errorf("target %s not scraped with up == 1 yet (up: %v)", w, up)
			}
		}
		return nil
	})
	return base
}

// prometheusConfig renders the config: one scrape job per distinct Job.
func prometheusConfig(ruleFiles []string, targets []ScrapeTarget) string {
	iv := PrometheusScrapeInterval.String()
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\n  scrape_timeout: %s\n", iv, iv, iv)
	if len(ruleFiles) > 0 {
		b.WriteString("rule_files:\n")
		for _, f := range ruleFiles {
			fmt.Fprintf(&b, "  - %q\n", f)
		}
	}
	b.WriteString("scrape_configs:\n")
	var jobs []string
	byJob := map[string][]string{}
	for _, tg := range targets {
		if _, ok := byJob[tg.Job]; !ok {
			jobs = append(jobs, tg.Job)
		}
		byJob[tg.Job] = append(byJob[tg.Job], fmt.Sprintf("%q", tg.Addr))
	}
	for _, job := range jobs {
		fmt.Fprintf(&b, "  - job_name: %q\n    static_configs:\n      - targets: [%s]\n", job, strings.Join(byJob[job], ", "))
	}
	return b.String()
}

// scrapedTargets lists "job@instance" of the targets whose up is 1.
func scrapedTargets(base string) ([]string, error) {
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(base + "/api/v1/query?query=" + url.QueryEscape("up == 1"))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/query: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	var up []string
	for _, r := range body.Data.Result {
		up = append(up, r.Metric["job"]+"@"+r.Metric["instance"])
	}
	return up, nil
}
