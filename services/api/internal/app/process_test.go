package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// apiBinary builds cmd/api once per test run.
func apiBinary(t testing.TB) string { return testenv.Binary(t, "../../cmd/api") }

// proc is a running `api serve` child process.
type proc struct {
	base string
	cmd  *exec.Cmd
	out  *testenv.LogBuffer
	// exited is set by a test that waited for the process itself.
	exited bool
}

// processEnv is the environment that configures a child api entirely by
// API_* variables, as the chart and compose do.
func processEnv(dbURL, redisURL, keys string, extra ...string) []string {
	env := append(os.Environ(),
		"API_DATABASE_URL="+dbURL, "API_REDIS_URL="+redisURL,
		"API_AUTH_KEYS_DIR="+keys, "API_AUTH_ACTIVE_KEY_ID=k1",
		"API_AUTH_PASSWORD_MEMORY_KB=1024", "API_AUTH_PASSWORD_ITERATIONS=1",
		"API_HTTP_DRAIN_DELAY=0s")
	return append(env, extra...)
}

func startProc(t testing.TB, env []string) *proc {
	t.Helper()
	port := testenv.FreePort(t)
	cmd := exec.Command(apiBinary(t), "serve")
	cmd.Env = append(env, fmt.Sprintf("API_HTTP_ADDR=127.0.0.1:%d", port))
	out := &testenv.LogBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{base: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, out: out}
	t.Cleanup(func() {
		if !p.exited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("api process output:\n%s", out.String())
		}
	})
	eventually(t, 20*time.Second, "api process to become ready", func() bool {
		r, err := http.Get(p.base + "/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	return p
}

// TestLoginRateLimitAcrossProcesses: the per-account limit is shared by two
// api processes through Redis, so alternating between them does not help.
func TestLoginRateLimitAcrossProcesses(t *testing.T) {
	keys := t.TempDir()
	writeKey(t, keys, "k1")
	env := processEnv(schematest.MigratedDatabase(t), testenv.Redis(t), keys,
		"API_RATE_LIMIT_LOGIN_PER_ACCOUNT=4", "API_RATE_LIMIT_LOGIN_PER_IP=1000", "API_RATE_LIMIT_LOGIN_WINDOW=1m")
	a, b := startProc(t, env), startProc(t, env)
	expect(t, call(t, a.base, req{method: "POST", path: "/api/v1/auth/register", body: map[string]string{"email": "rl@example.com", "password": "right-password"}}), 201)
	wrong := map[string]string{"email": "rl@example.com", "password": "wrong-password"}
	for i, p := range []*proc{a, b, a, b} {
		if r := call(t, p.base, req{method: "POST", path: "/api/v1/auth/login", body: wrong}); r.status != 401 {
			t.Fatalf("attempt %d: status %d, want 401", i+1, r.status)
		}
	}
	for _, p := range []*proc{a, b} {
		r := expect(t, call(t, p.base, req{method: "POST", path: "/api/v1/auth/login", body: wrong}), 429)
		if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("429 Retry-After %q", ra)
		}
		r.problem(t)
	}
	// Even the right password waits out the window: the account is locked, not the guess.
	expect(t, call(t, a.base, req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"email": "rl@example.com", "password": "right-password"}}), 429)
}

// TestLoginRateLimitPerIP: one client address guessing across many accounts.
func TestLoginRateLimitPerIP(t *testing.T) {
	e := newEnv(t, func(s *apiconfig.Spec) { s.RateLimit.LoginPerIP = 3 })
	for i := 0; i < 3; i++ {
		expect(t, e.do(req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"email": fmt.Sprintf("u%d@x.io", i), "password": "guess-guess"}}), 401)
	}
	expect(t, e.do(req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"email": "u9@x.io", "password": "guess-guess"}}), 429)
}

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	db := testenv.Database(t)
	run := func() (string, error) {
		cmd := exec.Command(apiBinary(t), "migrate")
		cmd.Env = append(os.Environ(), "API_DATABASE_URL="+db)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	var wg sync.WaitGroup
	outs := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); outs[i], errs[i] = run() }()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("concurrent migrate %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	applied := strings.Count(outs[0]+outs[1], `"0001_init.sql"`)
	if applied != 1 {
		t.Fatalf("the migration was applied %d times by two concurrent runs, want once:\n%s\n%s", applied, outs[0], outs[1])
	}
	out, err := run()
	if err != nil || !strings.Contains(out, `"count":0`) {
		t.Fatalf("third migrate: %v\n%s", err, out)
	}
}

func TestPrintConfigMasksSecretsAndRejectsUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "admin-password")
	if err := os.WriteFile(secretFile, []byte("file-secret-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "api.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: shop.goshop.dev/v1alpha1\nkind: APIConfig\nspec:\n  http:\n    addr: \":9999\"\n  auth:\n    keysDir: /keys\n    activeKeyID: k1\n    bootstrapAdmin:\n      email: root@shop.test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(apiBinary(t), "--config", cfg, "print-config")
	cmd.Env = append(os.Environ(), "API_DATABASE_URL=postgres://shop:db-secret-pw@db:5432/shop",
		"API_AUTH_BOOTSTRAP_ADMIN_PASSWORD_FILE="+secretFile, "API_HTTP_ADDR=:7777")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("print-config: %v\n%s", err, out)
	}
	s := string(out)
	for _, secret := range []string{"db-secret-pw", "file-secret-password"} {
		if strings.Contains(s, secret) {
			t.Fatalf("print-config leaked %q:\n%s", secret, s)
		}
	}
	for _, want := range []string{"addr: :7777", "url: '******'", "password: '******'", "email: root@shop.test", "kind: APIConfig"} {
		if !strings.Contains(s, want) {
			t.Fatalf("print-config lacks %q:\n%s", want, s)
		}
	}
	if err := os.WriteFile(cfg, []byte("apiVersion: shop.goshop.dev/v1alpha1\nkind: APIConfig\nspec:\n  http:\n    adress: \":1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(apiBinary(t), "--config", cfg, "print-config").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "adress") {
		t.Fatalf("unknown key accepted or not named: %v\n%s", err, out)
	}
}

// TestSIGTERMDrains: on SIGTERM /readyz turns 503 during the drain delay,
// then the process exits 0.
func TestSIGTERMDrains(t *testing.T) {
	keys := t.TempDir()
	writeKey(t, keys, "k1")
	env := processEnv(schematest.MigratedDatabase(t), testenv.Redis(t), keys)
	p := startProc(t, append(env, "API_HTTP_DRAIN_DELAY=1500ms"))
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "readyz to report draining", func() bool {
		r, err := http.Get(p.base + "/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 503
	})
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		p.exited = true
		if err != nil {
			t.Fatalf("api exited with %v after SIGTERM, want 0\n%s", err, p.out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("api did not exit within 15s of SIGTERM")
	}
	if !strings.Contains(p.out.String(), `"msg":"http server stopped"`) {
		t.Fatalf("no clean stop logged:\n%s", p.out.String())
	}
}

func TestCreateAdminAndSeedDemo(t *testing.T) {
	keys := t.TempDir()
	writeKey(t, keys, "k1")
	db := schematest.MigratedDatabase(t)
	env := processEnv(db, testenv.Redis(t), keys)
	cmd := exec.Command(apiBinary(t), "create-admin", "--email", "boss@shop.test")
	cmd.Env = env
	cmd.Stdin = bytes.NewBufferString("boss-password-123\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("create-admin: %v\n%s", err, out)
	}
	for range 2 {
		cmd := exec.Command(apiBinary(t), "seed-demo")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("seed-demo: %v\n%s", err, out)
		}
	}
	p := startProc(t, env)
	var s session
	expect(t, call(t, p.base, req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"email": "boss@shop.test", "password": "boss-password-123"}}), 200).json(t, &s)
	var me struct{ Role string }
	expect(t, call(t, p.base, req{method: "GET", path: "/api/v1/me", token: s.AccessToken}), 200).json(t, &me)
	if me.Role != "admin" {
		t.Fatalf("create-admin made role %q", me.Role)
	}
	var page struct{ Total int }
	expect(t, call(t, p.base, req{method: "GET", path: "/api/v1/products"}), 200).json(t, &page)
	if page.Total != 10 {
		t.Fatalf("seed-demo twice gave %d products, want 10", page.Total)
	}
}

// TestSecretsNeverReachTheLogs runs a real api process with secrets set,
// drives logins (good and bad), refreshes and orders, and greps everything
// the process printed for the secrets and the tokens it handed out.
func TestSecretsNeverReachTheLogs(t *testing.T) {
	keys := t.TempDir()
	writeKey(t, keys, "k1")
	keyPEM, err := os.ReadFile(filepath.Join(keys, "k1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	const adminPW, guessPW = "bootstrap-secret-Zq81", "wrong-guess-Pz77"
	env := processEnv(schematest.MigratedDatabase(t), testenv.Redis(t), keys,
		"API_AUTH_BOOTSTRAP_ADMIN_EMAIL=root@shop.test", "API_AUTH_BOOTSTRAP_ADMIN_PASSWORD="+adminPW, "API_TELEMETRY_LOG_LEVEL=debug",
		"API_AUTH_REFRESH_REUSE_GRACE=0s") // the reuse below must count as theft
	p := startProc(t, env)
	expect(t, call(t, p.base, req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"email": "root@shop.test", "password": guessPW}}), 401)
	var s session
	expect(t, call(t, p.base, req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"email": "root@shop.test", "password": adminPW}}), 200).json(t, &s)
	var s2 session
	expect(t, call(t, p.base, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": s.RefreshToken}}), 200).json(t, &s2)
	expect(t, call(t, p.base, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": s.RefreshToken}}), 401)
	expect(t, call(t, p.base, req{method: "GET", path: "/api/v1/me", token: s2.AccessToken + "x", badRequest: true}), 401)
	expect(t, call(t, p.base, req{method: "POST", path: "/api/v1/orders", token: s2.AccessToken, body: orderBody([2]int{1, 1})}), 202)
	logs := p.out.String()
	if !strings.Contains(logs, `"msg":"http request"`) {
		t.Fatalf("no access logs captured:\n%s", logs)
	}
	keyBody := strings.Split(string(keyPEM), "\n")[1]
	for name, secret := range map[string]string{"admin password": adminPW, "guessed password": guessPW,
		"refresh token": s.RefreshToken, "rotated refresh token": s2.RefreshToken, "access token": s2.AccessToken,
		"token signature": strings.Split(s2.AccessToken, ".")[2], "signing key": keyBody} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the %s appears in the logs", name)
		}
	}
}
