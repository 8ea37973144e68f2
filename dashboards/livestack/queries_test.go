package livestack_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// promQuery runs a PromQL query through the HTTP API: instant when step is
// 0, else a range query from s.promStart to now.
func promQuery(t *testing.T, s *stack, expr string, step time.Duration) ([]json.RawMessage, error) {
	t.Helper()
	v := url.Values{"query": {expr}}
	path := "/api/v1/query"
	if step > 0 {
		path = "/api/v1/query_range"
		v.Set("start", strconv.FormatInt(s.promStart.Unix(), 10))
		v.Set("end", strconv.FormatInt(time.Now().Unix()+1, 10))
		v.Set("step", step.String())
	}
	resp, err := http.PostForm(s.prometheus+path, v)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s: %s", body.Status, body.Error)
	}
	return body.Data.Result, nil
}

// scalar is the value of a one-series instant query, NaN-free, or -1.
func scalar(t *testing.T, s *stack, expr string) float64 {
	res, err := promQuery(t, s, expr, 0)
	if err != nil || len(res) != 1 {
		return -1
	}
	var r struct {
		Value [2]any `json:"value"`
	}
	_ = json.Unmarshal(res[0], &r)
	f, err := strconv.ParseFloat(fmt.Sprint(r.Value[1]), 64)
	if err != nil {
		return -1
	}
	return f
}

// waitScraped waits until Prometheus has scraped the load's end state (each
// expression at least the value given): every order decided, the dead
// letter, the product writes and the stock changes relayed to Directus.
func waitScraped(t *testing.T, s *stack, l load) {
	t.Helper()
	atLeast := map[string]float64{
		`sum(shop_orders_processed_total{result="confirmed"})`: float64(l.confirmed),
		`sum(shop_orders_processed_total{result="failed"})`:    float64(l.failed),
		`max(shop_order_dead_letters)`:                         1,
		`sum(shop_catalog_sync_lag_seconds_count)`:             float64(l.productWrites),
		`max(shop_catalog_outbox_pending) == bool 0`:           1,
	}
	for expr, v := range atLeast {
		eventually(t, 20*time.Second, fmt.Sprintf("%s >= %v in Prometheus", expr, v), func() (bool, string) {
			got := scalar(t, s, expr)
			return got >= v, fmt.Sprint(got)
		})
	}
	// Two more scrapes of every target, so the end state is a plateau of
	// samples that rate() windows can span.
	after := float64(time.Now().Add(2 * time.Second).Unix())
	eventually(t, 10*time.Second, "two more scrapes of every target", func() (bool, string) {
		got := scalar(t, s, "min(timestamp(up))")
		return got >= after, fmt.Sprint(got)
	})
}

// The dashboards' range queries run as Grafana would: template variables at
// their "All" value (".*"), $__rate_interval as Grafana derives it for the
// test's 1 s scrape interval and step: max(4 x scrape, step + scrape) = 4s,
// and $__range as the dashboards' default time range (now-1h to now), which
// spans the whole run.
var substitutions = strings.NewReplacer(
	"$namespace", ".*", "$instance", ".*", "$__rate_interval", "4s", "$__range", "1h")

const panelStep = time.Second

type panel struct {
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// dashboard is a Grafana dashboard file with its panel queries (nested
// panels included), substituted as Grafana would.
type dashboard struct {
	file      string
	templated []struct {
		Name       string `json:"name"`
		Definition string `json:"definition"`
	}
	queries []query
}

type query struct{ panel, expr string }

func dashboards(t *testing.T) []dashboard {
	files, _ := filepath.Glob("../grafana/*.json")
	if len(files) == 0 {
		t.Fatal("no dashboards in ../grafana")
	}
	var out []dashboard
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels    []panel `json:"panels"`
			Templated struct {
				List []struct {
					Name       string `json:"name"`
					Definition string `json:"definition"`
				} `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		db := dashboard{file: filepath.Base(f), templated: d.Templated.List}
		var walk func([]panel)
		walk = func(ps []panel) {
			for _, p := range ps {
				walk(p.Panels)
				for _, tg := range p.Targets {
					db.queries = append(db.queries, query{p.Title, substitutions.Replace(tg.Expr)})
				}
			}
		}
		walk(d.Panels)
		out = append(out, db)
	}
	return out
}

func checkPanels(t *testing.T, s *stack) {
	ds := dashboards(t)
	queries, live := 0, 0
	var flat []string // only 0 or NaN: nothing of that kind happened in the run
	for _, d := range ds {
		checkInstanceVariable(t, s, d.file, d.templated)
		for _, q := range d.queries {
			queries++
			res, err := promQuery(t, s, q.expr, panelStep)
			switch {
			case err != nil:
				t.Errorf("%s / %q: query failed: %v\n%s", d.file, q.panel, err, q.expr)
			case len(res) == 0:
				t.Errorf("%s / %q: no series\n%s", d.file, q.panel, q.expr)
			case hasRealValue(res):
				live++
			default:
				flat = append(flat, d.file+" / "+q.panel)
			}
		}
	}
	t.Logf("%d panel queries in %d dashboards each returned >= 1 series; %d of them with a non-zero, non-NaN value in the run; only 0/NaN (no such event in the run): %s",
		queries, len(ds), live, strings.Join(flat, "; "))
}

// checkFallbacks: a panel query "X or vector(0)" always returns a series,
// so checkPanels cannot catch a wrong metric name in X. Once every such
// event has happened (the load's poison entry, the incidents' transient
// failures, Directus outage and paused intake), X itself must return one.
func checkFallbacks(t *testing.T, s *stack) {
	checked := 0
	for _, d := range dashboards(t) {
		for _, q := range d.queries {
			for _, bare := range fallbackOperands(q.expr) {
				checked++
				// The last events (the paused intake's 503s) may be newer
				// than Prometheus' last scrapes: rate() needs two.
				var res []json.RawMessage
				var err error
				for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(time.Second) {
					res, err = promQuery(t, s, bare, panelStep)
					if (err == nil && len(res) > 0) || time.Now().After(deadline) {
						break
					}
				}
				if err != nil || len(res) == 0 {
					t.Errorf("%s / %q: without its `or vector(0)` the query returns no series (%v): is the metric name right?\n%s",
						d.file, q.panel, err, bare)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no panel query with `or vector(0)` found: the check looks at nothing")
	}
	t.Logf("%d `or vector(0)` fallbacks checked without the fallback", checked)
}

// fallbackOperands returns, for each "or vector(0)" in expr, the operand to
// its left: up to the enclosing unmatched "(" or the start.
func fallbackOperands(expr string) []string {
	var out []string
	rest := expr
	for {
		i := strings.Index(rest, "or vector(0)")
		if i < 0 {
			return out
		}
		depth, start := 0, 0
		for j := i - 1; j >= 0; j-- {
			if rest[j] == ')' {
				depth++
			} else if rest[j] == '(' {
				if depth == 0 {
					start = j + 1
					break
				}
				depth--
			}
		}
		out = append(out, strings.TrimSpace(rest[start:i]))
		rest = rest[i+len("or vector(0)"):]
	}
}

func hasRealValue(res []json.RawMessage) bool {
	for _, r := range res {
		var v struct {
			Values [][2]any `json:"values"`
		}
		_ = json.Unmarshal(r, &v)
		for _, p := range v.Values {
			if f, err := strconv.ParseFloat(fmt.Sprint(p[1]), 64); err == nil && f != 0 && !math.IsNaN(f) {
				return true
			}
		}
	}
	return false
}

var labelValues = regexp.MustCompile(`^label_values\((.+), *(\w+)\)$`)

// checkInstanceVariable runs the $instance variable's label_values query as
// Grafana does (series matching the selector, their label values): it must
// offer at least one instance. ($namespace offers none locally: there is no
// namespace label without Kubernetes, and its "All" = ".*" covers that.)
func checkInstanceVariable(t *testing.T, s *stack, file string, vars []struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
}) {
	for _, v := range vars {
		m := labelValues.FindStringSubmatch(v.Definition)
		if v.Name != "instance" || m == nil {
			continue
		}
		u := s.prometheus + "/api/v1/label/" + m[2] + "/values?match[]=" + url.QueryEscape(substitutions.Replace(m[1]))
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Data []string `json:"data"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if len(body.Data) == 0 {
			t.Errorf("%s: variable $instance (%s) offers no value", file, v.Definition)
		}
	}
}
