package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/goshop-platform/shop/services/storefront/internal/frontconfig"
)

// hostileServer is the real storefront handler behind a plain or TLS test
// listener.
func hostileServer(t *testing.T, useTLS bool) *httptest.Server {
	t.Helper()
	spec := frontconfig.Defaults()
	spec.APIURL, spec.DirectusURL = "https://api.shop.example", "https://cms.shop.example"
	srv, err := newServer(spec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Router)
	if useTLS {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	return ts
}

// rawRequest sends a request line and headers exactly as given (Go's client
// would clean the path) and returns the response.
func rawRequest(t *testing.T, addr, method, target string, headers ...string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: shop.test\r\n%sConnection: close\r\n\r\n", method, target, strings.Join(headers, ""))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %.80s: %v", method, target, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(body)
}

// Hostile paths, methods and headers get a 4xx or the SPA page, never a 5xx
// or a file from outside the build, and every answer of the handler carries
// the security headers.
func TestHostileRequestsToTheStorefront(t *testing.T) {
	ts := hostileServer(t, false)
	addr := ts.Listener.Addr().String()
	// Text that only files outside the SPA build contain (go.mod, Go
	// sources, /etc/passwd, a .git folder).
	leaks := []string{"module github.com", "package main", "root:x:0:0", "[core]", "go:embed"}
	cases := []struct {
		method, target string
		headers        []string
		want           []int
	}{
		{"GET", "/../../go.mod", nil, []int{400, 404}},
		{"GET", "/%2e%2e/%2e%2e/go.mod", nil, []int{400, 404}},
		{"GET", "/assets/..%2f..%2f..%2fembed.go", nil, []int{400, 404}},
		{"GET", "/assets/%2e%2e/%2e%2e/web.go", nil, []int{400, 404}},
		{"GET", "//etc/passwd", nil, []int{200, 301, 404}},
		{"GET", "/..%5c..%5cgo.mod", nil, []int{400, 404}},
		{"GET", "/.keep", nil, []int{404}},
		{"GET", "/.git/config", nil, []int{404}},
		{"GET", "/assets/missing.js", nil, []int{404}},
		{"GET", "/assets/%00.js", nil, []int{400, 404}},
		{"GET", "/products/%00", nil, []int{200, 400, 404}},
		{"GET", "/" + strings.Repeat("a", 16<<10), nil, []int{200, 404, 414}},
		{"GET", "/products/1?q=" + strings.Repeat("%3Cscript%3E", 500), nil, []int{200}},
		{"GET", "/", []string{"Range: bytes=0-0,1-1,2-2,3-3,4-4,5-5,6-6,7-7,8-8,9-9,10-10,11-11,12-12,13-13,14-14,15-15,16-16,17-17,18-18,19-19,20-20\r\n"}, []int{200, 206, 416}},
		{"GET", "/", []string{"Accept-Encoding: " + strings.Repeat("gzip;q=0,", 2000) + "\r\n"}, []int{200}},
		{"POST", "/", []string{"Content-Length: 5\r\n"}, []int{405}},
		{"PUT", "/config.json", []string{"Content-Length: 0\r\n"}, []int{405}},
		{"DELETE", "/assets/app.js", nil, []int{405}},
		{"TRACE", "/", nil, []int{405}},
		{"GET", "/config.json", []string{"X-Forwarded-Host: evil.example\r\n", "Forwarded: host=evil.example\r\n"}, []int{200}},
	}
	for _, c := range cases {
		res, body := rawRequest(t, addr, c.method, c.target, c.headers...)
		label := fmt.Sprintf("%s %.60s", c.method, c.target)
		if !contains(c.want, res.StatusCode) {
			t.Errorf("%s: status %d, want one of %v", label, res.StatusCode, c.want)
		}
		for _, leak := range leaks {
			if strings.Contains(body, leak) {
				t.Errorf("%s: the answer contains %q: a file outside the SPA build was served", label, leak)
			}
		}
		for _, s := range []string{"evil.example", "<script>"} {
			if strings.Contains(body, s) {
				t.Errorf("%s: the request's %q is reflected in the answer", label, s)
			}
		}
		if res.StatusCode < 500 && res.StatusCode != 414 {
			checkSecurityHeaders(t, label, res.Header)
		}
	}
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func checkSecurityHeaders(t *testing.T, label string, h http.Header) {
	t.Helper()
	for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s = %q, want %q", label, name, got, want)
		}
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-") {
		t.Errorf("%s: Content-Security-Policy %q", label, csp)
	}
}

// Over TLS the page, the config and the probes carry HSTS; over plain HTTP
// nothing does (a browser must not pin a host it reached insecurely).
func TestStorefrontHSTSOnlyOverTLS(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		ts := hostileServer(t, useTLS)
		client := ts.Client()
		client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the test server's certificate
		for _, path := range []string{"/", "/products/7", "/config.json", "/livez", "/assets/missing.js"} {
			res, err := client.Get(ts.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			hsts := res.Header.Get("Strict-Transport-Security")
			if useTLS && !strings.HasPrefix(hsts, "max-age=31536000") {
				t.Errorf("TLS %s: Strict-Transport-Security %q", path, hsts)
			}
			if !useTLS && hsts != "" {
				t.Errorf("plain HTTP %s: Strict-Transport-Security %q", path, hsts)
			}
			checkSecurityHeaders(t, path, res.Header)
		}
	}
}

// Request headers beyond the server's limit are refused before any handler
// runs, and the server keeps serving.
func TestOversizedHeadersAreRefused(t *testing.T) {
	ts := hostileServer(t, false)
	res, _ := rawRequest(t, ts.Listener.Addr().String(), "GET", "/", "X-Junk: "+strings.Repeat("x", 2<<20)+"\r\n")
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("2 MB of headers: status %d, want 431", res.StatusCode)
	}
	res, _ = rawRequest(t, ts.Listener.Addr().String(), "GET", "/livez")
	if res.StatusCode != http.StatusOK {
		t.Errorf("/livez after the oversized request: %d", res.StatusCode)
	}
}
