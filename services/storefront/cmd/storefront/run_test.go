package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goshop-platform/shop/services/storefront/internal/frontconfig"
)

// capture runs the command with stdout captured.
func capture(t *testing.T, args ...string) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	runErr := run(context.Background(), args, new(slog.LevelVar))
	os.Stdout = old
	w.Close()
	out, _ := io.ReadAll(r)
	return string(out), runErr
}

func TestPrintConfigShowsEnvironmentOverrides(t *testing.T) {
	t.Setenv("STOREFRONT_API_URL", "https://api.shop.example")
	out, err := capture(t, "print-config")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "apiURL: https://api.shop.example") || !strings.Contains(out, "kind: StorefrontConfig") {
		t.Fatalf("print-config:\n%s", out)
	}
}

func TestBadConfigAndUnknownCommandAreErrors(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "storefront.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: shop.goshop.dev/v1alpha1\nkind: StorefrontConfig\nspec:\n  apiEndpoint: http://x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := capture(t, "--config", cfg, "print-config"); err == nil || !strings.Contains(err.Error(), "apiendpoint") {
		t.Fatalf("unknown key: %v", err)
	}
	t.Setenv("STOREFRONT_DIRECTUS_URL", "cms.local")
	if _, err := capture(t, "print-config"); err == nil || !strings.Contains(err.Error(), "spec.directusURL") {
		t.Fatalf("bad url: %v", err)
	}
	t.Setenv("STOREFRONT_DIRECTUS_URL", "")
	os.Unsetenv("STOREFRONT_DIRECTUS_URL")
	if _, err := capture(t, "frobnicate"); err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %v", err)
	}
}

// config-schema prints the document's JSON Schema (the chart's
// values.schema.json is generated from it), even when the configuration in
// the environment is broken: it reads none.
func TestConfigSchema(t *testing.T) {
	t.Setenv("STOREFRONT_DIRECTUS_URL", "cms.local")
	out, err := capture(t, "config-schema")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Title      string `json:"title"`
		Properties struct {
			Spec struct {
				Properties map[string]struct {
					Pattern string `json:"pattern"`
				} `json:"properties"`
			} `json:"spec"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(out), &schema); err != nil {
		t.Fatalf("config-schema: %v\n%s", err, out)
	}
	if schema.Title != "StorefrontConfig" || schema.Properties.Spec.Properties["apiURL"].Pattern != "^https?://" {
		t.Fatalf("config-schema:\n%s", out)
	}
}

// The server answers the probes and metrics, serves /config.json and the
// page with the storefront's CSP (not the API default).
func TestServerRoutes(t *testing.T) {
	spec := frontconfig.Defaults()
	spec.APIURL, spec.DirectusURL = "https://api.shop.example", "https://cms.shop.example"
	srv, err := newServer(spec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Router)
	defer ts.Close()
	for path, want := range map[string]string{"/livez": "ok", "/metrics": "go_goroutines", "/config.json": `"apiURL":"https://api.shop.example"`} {
		r, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %.200s", path, r.StatusCode, b)
		}
	}
	r, err := http.Get(ts.URL + "/products/1")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if c := r.Header.Get("Content-Security-Policy"); !strings.Contains(c, "connect-src 'self' https://api.shop.example https://cms.shop.example") ||
		r.Header.Get("X-Frame-Options") != "DENY" || r.StatusCode != 200 {
		t.Fatalf("page: %d %v", r.StatusCode, r.Header)
	}
	// /readyz follows whether this binary embeds a real build.
	r, err = http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	_, statErr := os.Stat("../../web/dist/index.html")
	if want := map[bool]int{true: 200, false: 503}[statErr == nil]; r.StatusCode != want {
		t.Fatalf("readyz %d, want %d", r.StatusCode, want)
	}
}
