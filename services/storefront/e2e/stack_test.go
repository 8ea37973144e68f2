// Package e2e runs the storefront in a real browser against the real stack:
// PostgreSQL, Redis, Directus, and real api, order-worker, catalog-sync and
// storefront processes; the browser part is web/e2e/shop.e2e.mjs
// (playwright-core driving Debian's Chromium).
package e2e_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// binaries builds the four services (the storefront after its SPA, so that
// it embeds the current build) and returns their paths by name.
func binaries(t *testing.T) map[string]string {
	t.Helper()
	bins := map[string]string{}
	for _, name := range []string{"api", "order-worker", "catalog-sync", "storefront"} {
		bins[name] = testenv.Binary(t, "../../"+name+"/cmd/"+name)
	}
	return bins
}

// service runs `bin serve` until the test ends and waits for /readyz.
func service(t *testing.T, bin, addr string, env ...string) {
	t.Helper()
	testenv.StartService(t, filepath.Base(bin), bin, env, "serve").WaitHTTP(t, "http://"+addr+"/readyz", 60*time.Second)
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func addr(t *testing.T) string { return fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)) }
