// Package e2e runs the storefront in a real browser against the real stack:
// PostgreSQL, Redis, Directus, and real api, order-worker, catalog-sync and
// storefront processes; the browser part is web/e2e/shop.e2e.mjs
// (playwright-core driving Debian's Chromium).
package e2e_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// binaries builds the four services into one temp dir, in parallel. The
// storefront is built after its SPA so that it embeds the current build.
func binaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, name := range []string{"api", "order-worker", "catalog-sync", "storefront"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), "../../"+name+"/cmd/"+name).CombinedOutput(); err != nil {
				errs <- fmt.Errorf("build %s: %v\n%s", name, err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return dir
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
