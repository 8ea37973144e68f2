package spa_test

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/goshop-platform/shop/services/storefront/internal/spa"
)

const csp = "default-src 'self'; connect-src 'self' http://api"

func build() fstest.MapFS {
	return fstest.MapFS{
		"index.html":           {Data: []byte("<!doctype html><title>shop</title>")},
		"assets/index-abc.js":  {Data: []byte(strings.Repeat("console.log('shop');", 100))},
		"assets/index-abc.css": {Data: []byte("body{}")},
		"favicon.svg":          {Data: []byte("<svg/>")},
		".keep":                {Data: []byte("x")},
	}
}

func get(t *testing.T, h http.Handler, path string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRoutesFallBackToIndexWithoutCache(t *testing.T) {
	site, err := spa.New(build(), spa.RuntimeConfig{}, csp)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/index.html", "/products/7", "/admin/products", "/orders/abc-def"} {
		r := get(t, site, p)
		if r.StatusCode != 200 || body(t, r) != "<!doctype html><title>shop</title>" ||
			r.Header.Get("Cache-Control") != "no-cache" || r.Header.Get("Content-Security-Policy") != csp ||
			!strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %v", p, r.StatusCode, r.Header)
		}
	}
}

func TestAssetsAreCachedForeverAndMissingOnes404(t *testing.T) {
	site, _ := spa.New(build(), spa.RuntimeConfig{}, csp)
	r := get(t, site, "/assets/index-abc.css")
	if r.StatusCode != 200 || body(t, r) != "body{}" || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("css: %d %v", r.StatusCode, r.Header)
	}
	if r := get(t, site, "/favicon.svg"); r.StatusCode != 200 || r.Header.Get("Cache-Control") != "public, max-age=3600" {
		t.Fatalf("favicon: %d %v", r.StatusCode, r.Header)
	}
	for _, p := range []string{"/assets/gone-123.js", "/robots.txt", "/.keep", "/assets/../.keep"} {
		if r := get(t, site, p); r.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, r.StatusCode)
		}
	}
}

func TestGzipWhenAccepted(t *testing.T) {
	site, _ := spa.New(build(), spa.RuntimeConfig{}, csp)
	r := get(t, site, "/assets/index-abc.js", "Accept-Encoding", "br, gzip")
	if r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("headers %v", r.Header)
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != strings.Repeat("console.log('shop');", 100) {
		t.Fatalf("decompressed %q", plain)
	}
	r = get(t, site, "/assets/index-abc.js", "Accept-Encoding", "gzip;q=0")
	if r.Header.Get("Content-Encoding") != "" || len(body(t, r)) != 2000 {
		t.Fatalf("identity: %v", r.Header)
	}
}

func TestRuntimeConfig(t *testing.T) {
	site, _ := spa.New(build(), spa.RuntimeConfig{APIURL: "https://api.example", DirectusURL: "https://cms.example", Version: "1.2.3"}, csp)
	rec := httptest.NewRecorder()
	site.Config(rec, httptest.NewRequest(http.MethodGet, "/config.json", nil))
	var got spa.RuntimeConfig
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.APIURL != "https://api.example" || got.DirectusURL != "https://cms.example" || got.Version != "1.2.3" ||
		rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("config %+v %v", got, rec.Header())
	}
}

func TestNotBuiltServesInstructionsAndIsUnready(t *testing.T) {
	site, err := spa.New(fstest.MapFS{".keep": {Data: []byte("x")}}, spa.RuntimeConfig{}, csp)
	if err != nil {
		t.Fatal(err)
	}
	if site.Built() != spa.ErrNotBuilt {
		t.Fatalf("Built() = %v", site.Built())
	}
	if r := get(t, site, "/"); r.StatusCode != 200 || !strings.Contains(body(t, r), "make storefront-web") {
		t.Fatalf("placeholder: %d", r.StatusCode)
	}
	if built, _ := spa.New(build(), spa.RuntimeConfig{}, csp); built.Built() != nil {
		t.Fatal("a build with index.html is not ready")
	}
}

func TestCSPAllowsExactlyTheConfiguredOrigins(t *testing.T) {
	got := spa.CSP("https://api.shop.example", "https://cms.shop.example", []string{"https://img.example"})
	for _, want := range []string{
		"connect-src 'self' https://api.shop.example https://cms.shop.example;",
		"img-src 'self' data: https://cms.shop.example https://img.example;",
		"script-src 'self';", "style-src 'self';", "object-src 'none';", "frame-ancestors 'none'",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("CSP %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "unsafe") || strings.Contains(got, "*") {
		t.Errorf("CSP too wide: %s", got)
	}
}
