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

const (
	adminEmail    = "admin@shop.example"
	adminPassword = "storefront-e2e-admin"
	syncToken     = "storefront-e2e-sync-token"
	demoProducts  = 10
)

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

// The shop in a real browser on the real stack: browse the Directus
// catalogue, register, buy, watch the order confirmed live; an order beyond
// the stock fails with the reason; an admin's new product reaches the shop;
// a customer cannot open admin pages; then the order lifecycle: pay (a
// declined card, then 4242…), cancel (the stock comes back), an admin ships
// and delivers while the customer's page follows live, an admin cancels and
// refunds. Screenshots go to SCREENSHOT_DIR (default: web/e2e/screenshots,
// ignored by git); E2E_ONLY (a regular expression) picks scenarios by name.
func TestShopInTheBrowser(t *testing.T) {
	browser := chromium(t)
	began := time.Now()
	web, _ := filepath.Abs("../web")
	if out, err := exec.Command("../../../scripts/storefront-web.sh").CombinedOutput(); err != nil {
		t.Fatalf("build the SPA: %v\n%s", err, out)
	}
	spaBuilt := time.Since(began)
	bin := binaries(t)
	t.Logf("SPA built in %s, services built in %s", spaBuilt.Round(time.Millisecond), (time.Since(began) - spaBuilt).Round(time.Millisecond))

	d := testenv.Directus(t)
	dbURL, redisURL := schematest.MigratedDatabase(t), testenv.Redis(t)
	apiAddr, workerAddr, syncAddr, shopAddr := addr(t), addr(t), addr(t), addr(t)
	shopURL, apiURL := "http://"+shopAddr, "http://"+apiAddr

	keys := t.TempDir()
	apiEnv := []string{"API_DATABASE_URL=" + dbURL, "API_REDIS_URL=" + redisURL, "API_AUTH_KEYS_DIR=" + keys,
		"API_AUTH_ACTIVE_KEY_ID=k1", "API_HTTP_ADDR=" + apiAddr, "API_HTTP_DRAIN_DELAY=0s",
		"API_AUTH_PASSWORD_MEMORY_KB=1024", "API_AUTH_PASSWORD_ITERATIONS=1", "API_TELEMETRY_LOG_LEVEL=warn",
		"API_AUTH_BOOTSTRAP_ADMIN_EMAIL=" + adminEmail, "API_AUTH_BOOTSTRAP_ADMIN_PASSWORD=" + adminPassword,
		"API_CORS_ALLOWED_ORIGINS=" + shopURL}
	for _, args := range [][]string{{"gen-key", "--dir", keys, "--kid", "k1"}, {"seed-demo"}} {
		cmd := exec.Command(bin["api"], args...)
		cmd.Env = append(os.Environ(), apiEnv...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("api %s: %v\n%s", args[0], err, out)
		}
	}
	service(t, bin["api"], apiAddr, apiEnv...)
	service(t, bin["order-worker"], workerAddr, "WORKER_DATABASE_URL="+dbURL, "WORKER_REDIS_URL="+redisURL,
		"WORKER_HTTP_ADDR="+workerAddr, "WORKER_HTTP_DRAIN_DELAY=0s", "WORKER_NOTIFIER_KIND=none",
		"WORKER_CONSUMER_BLOCK=200ms", "WORKER_TELEMETRY_LOG_LEVEL=warn")
	service(t, bin["catalog-sync"], syncAddr, "SYNC_DATABASE_URL="+dbURL, "SYNC_DIRECTUS_URL="+d.URL,
		"SYNC_DIRECTUS_TOKEN="+syncToken, "SYNC_DIRECTUS_ADMIN_TOKEN="+d.AdminToken, "SYNC_HTTP_ADDR="+syncAddr,
		"SYNC_HTTP_DRAIN_DELAY=0s", "SYNC_RELAY_POLL_INTERVAL=200ms", "SYNC_TELEMETRY_LOG_LEVEL=warn")
	service(t, bin["storefront"], shopAddr, "STOREFRONT_HTTP_ADDR="+shopAddr, "STOREFRONT_HTTP_DRAIN_DELAY=0s",
		"STOREFRONT_API_URL="+apiURL, "STOREFRONT_DIRECTUS_URL="+d.URL, "STOREFRONT_TELEMETRY_LOG_LEVEL=warn")
	waitFor(t, 60*time.Second, "the demo catalogue in public Directus", func() bool { return publicCount(d.URL) == demoProducts })
	t.Logf("stack ready in %s (storefront %s, api %s, Directus %s)", time.Since(began).Round(time.Millisecond), shopURL, apiURL, d.URL)

	shots := os.Getenv("SCREENSHOT_DIR")
	if shots == "" {
		shots = filepath.Join(web, "e2e", "screenshots")
	}
	shots, _ = filepath.Abs(shots)
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ranAt := time.Now()
	cmd := exec.Command("node", "e2e/shop.e2e.mjs")
	cmd.Dir = web
	cmd.Env = append(os.Environ(), "STOREFRONT_URL="+shopURL, "API_URL="+apiURL, "DIRECTUS_URL="+d.URL,
		"ADMIN_EMAIL="+adminEmail, "ADMIN_PASSWORD="+adminPassword, "SCREENSHOT_DIR="+shots, "CHROMIUM="+browser)
	out, err := cmd.CombinedOutput()
	t.Logf("browser scenarios (%s):\n%s", time.Since(ranAt).Round(time.Millisecond), strings.TrimSpace(string(out)))
	t.Logf("screenshots: %s", shots)
	if err != nil {
		t.Fatalf("browser scenarios failed: %v", err)
	}
}

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
