package httpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/goshop-platform/shop/services/platform/httpserver"
	"github.com/goshop-platform/shop/services/platform/problem"
	"github.com/goshop-platform/shop/services/platform/telemetry"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// logLines returns the JSON log records whose msg is msg.
func logLines(t *testing.T, b *testenv.LogBuffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

type testServer struct {
	*httpserver.Server
	logs *testenv.LogBuffer
}

const maxBody = 1024

func newServer(t *testing.T, checks ...httpserver.Check) testServer {
	t.Helper()
	logs := &testenv.LogBuffer{}
	cfg := httpserver.DefaultConfig("127.0.0.1:0")
	cfg.MaxBodyBytes = maxBody
	s := httpserver.New(cfg, telemetry.NewLogger(logs, "test", new(slog.LevelVar)), telemetry.NewMetrics(), checks...)
	s.Router.Get("/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "item "+chi.URLParam(r, "id"))
	})
	s.Router.Get("/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	s.Router.Get("/request-id", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, httpserver.RequestIDFrom(r.Context()))
	})
	s.Router.Post("/orders", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Note string `json:"note"`
		}
		if p := problem.DecodeJSON(r, maxBody, &body); p != nil {
			problem.Write(w, r, p)
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, body.Note)
	})
	return testServer{s, logs}
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestLivez(t *testing.T) {
	ts := httptest.NewServer(newServer(t).Router)
	defer ts.Close()
	res, body := get(t, ts.URL+"/livez")
	if res.StatusCode != 200 || body != "ok\n" {
		t.Errorf("GET /livez = %d %q, want 200 \"ok\\n\"", res.StatusCode, body)
	}
}

func TestReadyz(t *testing.T) {
	ok := func(context.Context) error { return nil }
	failing := func(context.Context) error { return errors.New("dial tcp 127.0.0.1:6379: connection refused") }
	tests := []struct {
		name   string
		checks []httpserver.Check
		status int
		body   map[string]string
	}{
		{"no checks", nil, 200, map[string]string{}},
		{"all pass", []httpserver.Check{{"postgres", ok}, {"redis", ok}}, 200, map[string]string{"postgres": "ok", "redis": "ok"}},
		{
			name:   "one fails",
			checks: []httpserver.Check{{"postgres", ok}, {"redis", failing}},
			status: 503,
			body:   map[string]string{"postgres": "ok", "redis": "failing: dial tcp 127.0.0.1:6379: connection refused"},
		},
		{
			name: "check sees a deadline",
			checks: []httpserver.Check{{"postgres", func(ctx context.Context) error {
				if _, ok := ctx.Deadline(); !ok {
					return errors.New("no deadline")
				}
				return nil
			}}},
			status: 200,
			body:   map[string]string{"postgres": "ok"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(newServer(t, tt.checks...).Router)
			defer ts.Close()
			res, body := get(t, ts.URL+"/readyz")
			if res.StatusCode != tt.status {
				t.Errorf("status = %d, want %d (body %s)", res.StatusCode, tt.status, body)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if !reflect.DeepEqual(got, tt.body) {
				t.Errorf("body = %v, want %v", got, tt.body)
			}
		})
	}
}

func TestPanicYields500AndServerKeepsServing(t *testing.T) {
	s := newServer(t)
	ts := httptest.NewServer(s.Router)
	defer ts.Close()
	for i := 0; i < 2; i++ {
		res, body := get(t, ts.URL+"/panic", "X-Request-Id", "req-panic")
		if res.StatusCode != 500 {
			t.Fatalf("GET /panic = %d, want 500", res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("Content-Type = %q", ct)
		}
		var p problem.Problem
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		want := problem.Problem{Type: "about:blank", Title: "Internal Server Error", Status: 500,
			Detail: "an internal error occurred; it has been logged", Instance: "/panic"}
		if !reflect.DeepEqual(p, want) {
			t.Errorf("problem = %+v, want %+v", p, want)
		}
		if strings.Contains(body, "boom") {
			t.Errorf("panic value leaked to the client: %s", body)
		}
	}
	res, body := get(t, ts.URL+"/items/1")
	if res.StatusCode != 200 || body != "item 1" {
		t.Errorf("after panics GET /items/1 = %d %q", res.StatusCode, body)
	}
	logged := logLines(t, s.logs, "panic while serving request")
	if len(logged) != 2 {
		t.Fatalf("logged %d panics, want 2:\n%s", len(logged), s.logs.String())
	}
	if logged[0]["panic"] != "boom" || logged[0]["request_id"] != "req-panic" || !strings.Contains(logged[0]["stack"].(string), "server_test.go") {
		t.Errorf("panic log lacks panic/request_id/stack: %v", logged[0])
	}
	// The panicking requests are counted as 500s like any other.
	_, metrics := get(t, ts.URL+"/metrics")
	if want := `http_server_requests_total{code="500",method="GET",route="/panic"} 2`; !strings.Contains(metrics, want) {
		t.Errorf("metrics lack %s:\n%s", want, grep(metrics, "http_server_requests_total"))
	}
	access := logLines(t, s.logs, "http request")
	var panics int
	for _, rec := range access {
		if rec["path"] == "/panic" && rec["status"] == 500.0 && rec["level"] == "ERROR" {
			panics++
		}
	}
	if panics != 2 {
		t.Errorf("access log has %d ERROR lines with status 500 for /panic, want 2:\n%s", panics, s.logs.String())
	}
}

// chunkedBody hides its length so the client sends Transfer-Encoding: chunked.
type chunkedBody struct{ r io.Reader }

func (c chunkedBody) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestBodyLimit(t *testing.T) {
	ts := httptest.NewServer(newServer(t).Router)
	defer ts.Close()
	fits := `{"note":"` + strings.Repeat("x", maxBody-11) + `"}`
	tooBig := `{"note":"` + strings.Repeat("x", maxBody) + `"}`
	tests := []struct {
		name    string
		body    io.Reader
		status  int
		chunked bool
	}{
		{"fits, with Content-Length", strings.NewReader(fits), 201, false},
		{"fits, chunked", chunkedBody{strings.NewReader(fits)}, 201, true},
		{"too big, with Content-Length", strings.NewReader(tooBig), 413, false},
		{"too big, chunked", chunkedBody{strings.NewReader(tooBig)}, 413, true},
		{"far too big, chunked", chunkedBody{strings.NewReader(strings.Repeat(" ", 64*maxBody))}, 413, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, ts.URL+"/orders", tt.body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if got := req.ContentLength <= 0; got != tt.chunked {
				t.Fatalf("request chunked = %v, want %v", got, tt.chunked)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (body %s)", res.StatusCode, tt.status, b)
			}
			if tt.status != 413 {
				if string(b) != strings.Repeat("x", maxBody-11) {
					t.Errorf("handler did not get the whole body: %d bytes", len(b))
				}
				return
			}
			var p problem.Problem
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatalf("body %q: %v", b, err)
			}
			if p.Type != "/problems/body-too-large" || p.Detail != "the request body exceeds the limit of 1024 bytes" {
				t.Errorf("problem = %+v", p)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	ts := httptest.NewServer(newServer(t).Router)
	defer ts.Close()
	generated := regexp.MustCompile(`^[0-9a-f]{24}$`)
	long := strings.Repeat("a", 129)
	tests := []struct {
		name     string
		sent     string
		wantEcho bool
	}{
		{"echoed", "client-req-123", true},
		{"128 characters echoed", strings.Repeat("b", 128), true},
		{"generated when absent", "", false},
		{"generated when too long", long, false},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res *http.Response
			var body string
			if tt.sent == "" {
				res, body = get(t, ts.URL+"/request-id")
			} else {
				res, body = get(t, ts.URL+"/request-id", "X-Request-Id", tt.sent)
			}
			id := res.Header.Get("X-Request-Id")
			if tt.wantEcho && id != tt.sent {
				t.Errorf("X-Request-Id = %q, want %q echoed", id, tt.sent)
			}
			if !tt.wantEcho && !generated.MatchString(id) {
				t.Errorf("X-Request-Id = %q, want 24 generated hex characters", id)
			}
			if body != id {
				t.Errorf("RequestIDFrom in the handler = %q, header %q", body, id)
			}
			if seen[id] {
				t.Errorf("request id %q reused", id)
			}
			seen[id] = true
		})
	}
	if got := httpserver.RequestIDFrom(context.Background()); got != "" {
		t.Errorf("RequestIDFrom(empty context) = %q", got)
	}
}

func TestMetricsUseRoutePatterns(t *testing.T) {
	s := newServer(t)
	ts := httptest.NewServer(s.Router)
	defer ts.Close()
	// A route of three parts (/shop/*, /v1/*, /items/{id}): the patterns
	// are cached by their parts, so this one must not meet /items/{id}'s.
	v1 := chi.NewRouter()
	v1.Get("/items/{id}", func(http.ResponseWriter, *http.Request) {})
	s.Router.Route("/shop", func(r chi.Router) { r.Mount("/v1", v1) })
	for _, path := range []string{"/items/1", "/items/2", "/items/3", "/no/such/route", "/shop/v1/items/4", "/shop/v1/items/5"} {
		get(t, ts.URL+path)
	}
	// A made-up method is counted as _OTHER: a client cannot add series.
	brew, err := http.NewRequest("BREW", ts.URL+"/items/1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := http.DefaultClient.Do(brew); err == nil {
		res.Body.Close()
	}
	res, body := get(t, ts.URL+"/metrics")
	if res.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d", res.StatusCode)
	}
	for _, want := range []string{
		`http_server_requests_total{code="200",method="GET",route="/items/{id}"} 3`,
		`http_server_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`http_server_requests_total{code="200",method="GET",route="/shop/v1/items/{id}"} 2`,
		`http_server_requests_total{code="405",method="_OTHER",route="unmatched"} 1`,
		`http_server_request_duration_seconds_count{method="GET",route="/items/{id}"} 3`,
		`http_server_requests_in_flight 1`, // the scrape itself
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, grep(body, "http_server"))
		}
	}
	if strings.Contains(body, "BREW") {
		t.Errorf("metrics carry the made-up method:\n%s", grep(body, "BREW"))
	}
	for _, raw := range []string{"/items/1", "/items/2", "/no/such/route"} {
		if strings.Contains(body, `"`+raw+`"`) {
			t.Errorf("metrics carry the raw path %s", raw)
		}
	}
	// Probes and scrapes are not in the access log; routed requests are,
	// with their pattern and path.
	access := logLines(t, s.logs, "http request")
	var routes []string
	for _, rec := range access {
		routes = append(routes, rec["route"].(string)+" "+rec["path"].(string))
	}
	sort.Strings(routes)
	want := []string{"/items/{id} /items/1", "/items/{id} /items/2", "/items/{id} /items/3",
		"/shop/v1/items/{id} /shop/v1/items/4", "/shop/v1/items/{id} /shop/v1/items/5", "unmatched /items/1", "unmatched /no/such/route"}
	if !reflect.DeepEqual(routes, want) {
		t.Errorf("access log routes = %q, want %q", routes, want)
	}
}

func grep(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestServeDrainsGracefully(t *testing.T) {
	logs := &testenv.LogBuffer{}
	cfg := httpserver.DefaultConfig("127.0.0.1:0")
	cfg.DrainDelay = 300 * time.Millisecond
	cfg.ShutdownTimeout = 10 * time.Second
	s := httpserver.New(cfg, telemetry.NewLogger(logs, "test", new(slog.LevelVar)), telemetry.NewMetrics())
	started, release := make(chan struct{}), make(chan struct{})
	s.Router.Get("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	type result struct {
		status int
		body   string
		err    error
	}
	slow := make(chan result, 1)
	go func() {
		res, err := http.Get(base + "/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		slow <- result{res.StatusCode, string(b), err}
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow request never reached its handler")
	}

	cancel()
	// Every probe on a new connection, as a load balancer's would be.
	probe := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	deadline := time.Now().Add(cfg.DrainDelay)
	for {
		res, err := probe.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("/readyz unreachable during the drain delay: %v", err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable {
			if strings.TrimSpace(string(b)) != `{"server":"draining"}` {
				t.Errorf("draining /readyz body = %s", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still answers %d at the end of the drain delay", res.StatusCode)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// After the delay the listener closes while the slow request is still
	// being served, and Serve waits for it.
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting connections long after the drain delay")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v while a request was in flight", err)
	default:
	}
	close(release)

	select {
	case r := <-slow:
		if r.err != nil || r.status != 200 || r.body != "done" {
			t.Errorf("in-flight request = %d %q %v, want 200 \"done\"", r.status, r.body, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight request did not complete")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the drain")
	}
	if len(logLines(t, logs, "http server stopped")) != 1 {
		t.Errorf("no \"http server stopped\" log:\n%s", logs.String())
	}
}

func TestServeShutdownTimeout(t *testing.T) {
	cfg := httpserver.DefaultConfig("127.0.0.1:0")
	cfg.DrainDelay = 0
	cfg.ShutdownTimeout = 100 * time.Millisecond
	s := httpserver.New(cfg, slog.New(slog.DiscardHandler), telemetry.NewMetrics())
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	s.Router.Get("/stuck", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	go func() {
		if res, err := http.Get("http://" + ln.Addr().String() + "/stuck"); err == nil {
			res.Body.Close()
		}
	}()
	<-started
	cancel()
	select {
	case err := <-served:
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "did not finish within 100ms") {
			t.Errorf("Serve = %v, want the shutdown deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not give up after ShutdownTimeout")
	}
}

func TestRunReportsBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := httpserver.New(httpserver.DefaultConfig(ln.Addr().String()), slog.New(slog.DiscardHandler), telemetry.NewMetrics())
	err = s.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "listen on "+ln.Addr().String()) {
		t.Errorf("Run on a busy port = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*httpserver.Config)
		want   []string
	}{
		{"defaults are valid", func(*httpserver.Config) {}, nil},
		{"zero drain delay is valid", func(c *httpserver.Config) { c.DrainDelay = 0 }, nil},
		{"address without port", func(c *httpserver.Config) { c.Addr = "localhost" }, []string{"http.addr: must be host:port such as :8080"}},
		{"negative drain delay", func(c *httpserver.Config) { c.DrainDelay = -time.Second }, []string{"http.drainDelay: must not be negative"}},
		{"small body limit", func(c *httpserver.Config) { c.MaxBodyBytes = 1023 }, []string{"http.maxBodyBytes: must be at least 1024"}},
		{"trusted proxies: CIDRs and single addresses", func(c *httpserver.Config) {
			c.TrustedProxies = []string{"10.0.0.0/8", "192.168.1.1", "2001:db8::/32", "::1"}
		}, nil},
		{"trusted proxies: bad entries", func(c *httpserver.Config) {
			c.TrustedProxies = []string{"10.0.0.0/8", "not-a-cidr", "10.0.0.0/33", ""}
		}, []string{
			"http.trustedProxies[1]: must be a CIDR such as 10.0.0.0/8 or a single address",
			"http.trustedProxies[2]: must be a CIDR such as 10.0.0.0/8 or a single address",
			"http.trustedProxies[3]: must be a CIDR such as 10.0.0.0/8 or a single address",
		}},
		{
			name: "every timeout",
			change: func(c *httpserver.Config) {
				c.ReadHeaderTimeout, c.ReadTimeout, c.WriteTimeout, c.IdleTimeout, c.ShutdownTimeout = 0, -1, 0, 0, 0
			},
			want: []string{
				"http.idleTimeout: must be a positive duration such as 5s",
				"http.readHeaderTimeout: must be a positive duration such as 5s",
				"http.readTimeout: must be a positive duration such as 5s",
				"http.shutdownTimeout: must be a positive duration such as 5s",
				"http.writeTimeout: must be a positive duration such as 5s",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := httpserver.DefaultConfig(":8080")
			tt.change(&cfg)
			var got []string
			cfg.Validate("http", func(path, msg string) { got = append(got, path+": "+msg) })
			sort.Strings(got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	ts := httptest.NewServer(newServer(t).Router)
	defer ts.Close()
	tls := httptest.NewTLSServer(newServer(t).Router)
	defer tls.Close()
	for _, path := range []string{"/livez", "/items/1", "/no-such-route"} {
		res, _ := get(t, ts.URL+path)
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
			"Referrer-Policy": "no-referrer", "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", path, h, got, want)
			}
		}
		if hsts := res.Header.Get("Strict-Transport-Security"); hsts != "" {
			t.Errorf("%s: HSTS %q sent over plain HTTP", path, hsts)
		}
	}
	res, err := tls.Client().Get(tls.URL + "/livez")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if !strings.HasPrefix(res.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("no HSTS over TLS: %v", res.Header)
	}
}
