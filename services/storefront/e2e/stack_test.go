// Package e2e runs the storefront in a real browser against the real stack:
// PostgreSQL, Redis, Directus, and real api, order-worker, catalog-sync and
// storefront processes; the browser parts are web/e2e/*.e2e.mjs
// (playwright-core driving Debian's Chromium).
package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	adminEmail    = "admin@shop.example"
	adminPassword = "storefront-e2e-admin"
	syncToken     = "storefront-e2e-sync-token"
	demoProducts  = 10
)

// stack is the whole shop, started for one browser test.
type stack struct {
	ShopURL, APIURL, WorkerURL, DirectusURL string
	DatabaseURL, RedisURL                   string
	// Chromium is the browser binary; Shots the screenshot directory.
	Chromium, Shots string
	web             string
}

// startStack builds the SPA and the four services, starts PostgreSQL,
// Redis, Directus, api (after gen-key and seed-demo), order-worker,
// catalog-sync and storefront, and waits until the demo catalogue is public
// in Directus. Everything stops when the test ends.
func startStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{Chromium: chromium(t)}
	began := time.Now()
	s.web, _ = filepath.Abs("../web")
	if out, err := exec.Command("../../../scripts/storefront-web.sh").CombinedOutput(); err != nil {
		t.Fatalf("build the SPA: %v\n%s", err, out)
	}
	spaBuilt := time.Since(began)
	bin := binaries(t)
	t.Logf("SPA built in %s, services built in %s", spaBuilt.Round(time.Millisecond), (time.Since(began) - spaBuilt).Round(time.Millisecond))

	d := testenv.Directus(t)
	s.DirectusURL = d.URL
	s.DatabaseURL, s.RedisURL = schematest.MigratedDatabase(t), testenv.Redis(t)
	apiAddr, workerAddr, syncAddr, shopAddr := addr(t), addr(t), addr(t), addr(t)
	s.ShopURL, s.APIURL, s.WorkerURL = "http://"+shopAddr, "http://"+apiAddr, "http://"+workerAddr

	keys := t.TempDir()
	apiEnv := []string{"API_DATABASE_URL=" + s.DatabaseURL, "API_REDIS_URL=" + s.RedisURL, "API_AUTH_KEYS_DIR=" + keys,
		"API_AUTH_ACTIVE_KEY_ID=k1", "API_HTTP_ADDR=" + apiAddr, "API_HTTP_DRAIN_DELAY=0s",
		"API_AUTH_PASSWORD_MEMORY_KB=1024", "API_AUTH_PASSWORD_ITERATIONS=1", "API_TELEMETRY_LOG_LEVEL=warn",
		"API_AUTH_BOOTSTRAP_ADMIN_EMAIL=" + adminEmail, "API_AUTH_BOOTSTRAP_ADMIN_PASSWORD=" + adminPassword,
		"API_CORS_ALLOWED_ORIGINS=" + s.ShopURL}
	for _, args := range [][]string{{"gen-key", "--dir", keys, "--kid", "k1"}, {"seed-demo"}} {
		cmd := exec.Command(bin["api"], args...)
		cmd.Env = append(os.Environ(), apiEnv...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("api %s: %v\n%s", args[0], err, out)
		}
	}
	service(t, bin["api"], apiAddr, apiEnv...)
	service(t, bin["order-worker"], workerAddr, "WORKER_DATABASE_URL="+s.DatabaseURL, "WORKER_REDIS_URL="+s.RedisURL,
		"WORKER_HTTP_ADDR="+workerAddr, "WORKER_HTTP_DRAIN_DELAY=0s", "WORKER_NOTIFIER_KIND=none",
		"WORKER_CONSUMER_BLOCK=200ms", "WORKER_TELEMETRY_LOG_LEVEL=warn")
	service(t, bin["catalog-sync"], syncAddr, "SYNC_DATABASE_URL="+s.DatabaseURL, "SYNC_DIRECTUS_URL="+d.URL,
		"SYNC_DIRECTUS_TOKEN="+syncToken, "SYNC_DIRECTUS_ADMIN_TOKEN="+d.AdminToken, "SYNC_HTTP_ADDR="+syncAddr,
		"SYNC_HTTP_DRAIN_DELAY=0s", "SYNC_RELAY_POLL_INTERVAL=200ms", "SYNC_TELEMETRY_LOG_LEVEL=warn")
	service(t, bin["storefront"], shopAddr, "STOREFRONT_HTTP_ADDR="+shopAddr, "STOREFRONT_HTTP_DRAIN_DELAY=0s",
		"STOREFRONT_API_URL="+s.APIURL, "STOREFRONT_DIRECTUS_URL="+d.URL, "STOREFRONT_TELEMETRY_LOG_LEVEL=warn")
	waitFor(t, 60*time.Second, "the demo catalogue in public Directus", func() bool { return publicCount(d.URL) == demoProducts })
	t.Logf("stack ready in %s (storefront %s, api %s, Directus %s)", time.Since(began).Round(time.Millisecond), s.ShopURL, s.APIURL, d.URL)

	s.Shots = os.Getenv("SCREENSHOT_DIR")
	if s.Shots == "" {
		s.Shots = filepath.Join(s.web, "e2e", "screenshots")
	}
	s.Shots, _ = filepath.Abs(s.Shots)
	if err := os.MkdirAll(s.Shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return s
}

// browse runs the browser scenarios of script (in web/, e.g.
// e2e/shop.e2e.mjs) against the stack, with env added to theirs, logs what
// they print and fails the test when one of them failed.
func (s *stack) browse(t *testing.T, script string, env ...string) {
	t.Helper()
	ranAt := time.Now()
	cmd := exec.Command("node", script)
	cmd.Dir = s.web
	cmd.Env = append(os.Environ(), "STOREFRONT_URL="+s.ShopURL, "API_URL="+s.APIURL, "DIRECTUS_URL="+s.DirectusURL,
		"ADMIN_EMAIL="+adminEmail, "ADMIN_PASSWORD="+adminPassword, "SCREENSHOT_DIR="+s.Shots, "CHROMIUM="+s.Chromium)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	t.Logf("browser scenarios (%s):\n%s", time.Since(ranAt).Round(time.Millisecond), strings.TrimSpace(string(out)))
	t.Logf("screenshots: %s", s.Shots)
	if err != nil {
		t.Fatalf("browser scenarios failed: %v", err)
	}
}

// chromium is Debian's browser (apt-get install chromium); CHROMIUM overrides.
func chromium(t *testing.T) string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("no Chromium for the browser tests: install it (sudo apt-get install -y chromium; .ci/run does) or set CHROMIUM to a Chromium binary")
	}
	return p
}

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

func publicCount(directus string) int {
	r, err := http.Get(directus + "/items/products?limit=0&meta=filter_count&filter[active][_eq]=true")
	if err != nil {
		return -1
	}
	defer r.Body.Close()
	var body struct {
		Meta struct {
			FilterCount any `json:"filter_count"`
		} `json:"meta"`
	}
	if json.NewDecoder(r.Body).Decode(&body) != nil {
		return -1
	}
	n, err := strconv.Atoi(fmt.Sprint(body.Meta.FilterCount))
	if err != nil {
		return -1
	}
	return n
}
