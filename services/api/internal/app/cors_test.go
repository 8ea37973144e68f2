package app_test

import (
	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"net/http"
	"testing"
)

func TestCORSAllowListIsExact(t *testing.T) {
	e := newEnv(t, func(s *apiconfig.Spec) {
		s.CORS.AllowedOrigins = []string{"https://shop.example", "http://localhost:8000"}
	})
	preflight := func(origin string) *http.Response {
		r, _ := http.NewRequest(http.MethodOptions, e.base+"/api/v1/orders", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "POST")
		r.Header.Set("Access-Control-Request-Headers", "authorization, content-type, idempotency-key")
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	ok := preflight("https://shop.example")
	if ok.StatusCode != 204 || ok.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		ok.Header.Get("Access-Control-Allow-Headers") == "" || ok.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("allowed preflight: %d %v", ok.StatusCode, ok.Header)
	}
	for _, origin := range []string{"https://evil.example", "https://shop.example.evil.com", "null", "http://localhost:8001"} {
		res := preflight(origin)
		if res.StatusCode != 403 || res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("origin %s: preflight %d, ACAO %q; want 403 and none", origin, res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	r := e.do(req{method: "GET", path: "/api/v1/products", headers: map[string]string{"Origin": "http://localhost:8000"}})
	if r.header.Get("Access-Control-Allow-Origin") != "http://localhost:8000" || r.header.Get("Access-Control-Expose-Headers") == "" {
		t.Fatalf("simple request from an allowed origin: headers %v", r.header)
	}
	r = e.do(req{method: "GET", path: "/api/v1/products", headers: map[string]string{"Origin": "https://evil.example"}})
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("simple request from another origin got ACAO %q", r.header.Get("Access-Control-Allow-Origin"))
	}
}
