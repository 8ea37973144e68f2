package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/app"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/syncconfig"
	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// startAPI builds services/api and runs `api serve` as a real process on the
// given database and Redis (extraEnv adds API_* settings); it returns the
// base URL and an admin access token.
func startAPI(t testing.TB, dbURL, redisURL string, extraEnv ...string) (base, token string) {
	t.Helper()
	dir := t.TempDir()
	bin := testenv.Binary(t, "../../../api/cmd/api")
	keys := filepath.Join(dir, "keys")
	if out, err := exec.Command(bin, "gen-key", "--dir", keys, "--kid", "k1").CombinedOutput(); err != nil {
		t.Fatalf("api gen-key: %v\n%s", err, out)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	var logs testenv.LogBuffer
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"API_DATABASE_URL="+dbURL,
		"API_REDIS_URL="+redisURL,
		"API_AUTH_KEYS_DIR="+keys,
		"API_AUTH_ACTIVE_KEY_ID=k1",
		"API_AUTH_PASSWORD_MEMORY_KB=1024",
		"API_AUTH_PASSWORD_ITERATIONS=1",
		"API_HTTP_ADDR="+addr,
		"API_HTTP_DRAIN_DELAY=0s",
		"API_AUTH_BOOTSTRAP_ADMIN_EMAIL=admin@example.com",
		"API_AUTH_BOOTSTRAP_ADMIN_PASSWORD=admin-password-123",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("api logs:\n%s", logs.String())
		}
	})
	base = "http://" + addr
	waitFor(t, 30*time.Second, "api /readyz 200", func() bool {
		select {
		case <-exited:
			t.Fatalf("api exited before ready:\n%s", logs.String())
		default:
		}
		return status(base+"/readyz") == http.StatusOK
	})
	var sess struct {
		AccessToken string `json:"access_token"`
	}
	resp, b := apiCall(t, http.MethodPost, base+"/api/v1/auth/login", "", nil,
		map[string]string{"email": "admin@example.com", "password": "admin-password-123"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, &sess); err != nil || sess.AccessToken == "" {
		t.Fatalf("login body %s: %v", b, err)
	}
	return base, sess.AccessToken
}

func apiCall(t testing.TB, method, url, token string, hdr map[string]string, body any) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Error(err)
		return nil, nil
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, url, err)
		return nil, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// Product writes made through the real api process (create, update with
// If-Match, racing stock adjustments, archive) reach the public Directus
// collection exactly as Postgres ends up.
func TestProductWritesThroughTheAPIReachDirectus(t *testing.T) {
	e := newEnv(t)
	spec := syncconfig.Defaults()
	spec.Target = syncconfig.TargetDirectus
	spec.HTTP.Addr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	spec.HTTP.DrainDelay = 0
	spec.Database.URL = config.Secret(e.dbURL)
	spec.Directus.URL, spec.Directus.Token, spec.Directus.Timeout = e.d.URL, "catalog-sync-api-e2e-token", 5*time.Second
	spec.Directus.AdminToken = config.Secret(e.d.AdminToken)
	spec.Relay.PollInterval, spec.Relay.RetryInitial, spec.Relay.RetryMax = 200*time.Millisecond, 50*time.Millisecond, time.Second
	spec.Reconcile.Interval = 0
	s, err := app.New(context.Background(), spec, e.log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 20*time.Second, "catalog-sync /readyz 200", func() bool { return status("http://"+spec.HTTP.Addr+"/readyz") == http.StatusOK })

	began := time.Now()
	base, token := startAPI(t, e.dbURL, testenv.Redis(t))
	t.Logf("api built and ready in %s", time.Since(began).Round(time.Millisecond))

	const initialStock = 5
	resp, b := apiCall(t, http.MethodPost, base+"/api/v1/products", token, nil, map[string]any{
		"sku": "E2E-1", "name": "Original", "price_minor": 1000, "currency": "EUR", "stock": initialStock})
	if resp == nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %v %s", resp, b)
	}
	var created struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(b, &created); err != nil || created.ID == 0 {
		t.Fatalf("create body %s: %v", b, err)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("create response has no ETag")
	}
	productURL := fmt.Sprintf("%s/api/v1/products/%d", base, created.ID)

	resp, b = apiCall(t, http.MethodPut, productURL, token, map[string]string{"If-Match": etag}, map[string]any{
		"sku": "E2E-1", "name": "Updated through the api", "price_minor": 2345, "currency": "EUR"})
	if resp == nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("update: %v %s", resp, b)
	}

	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, b := apiCall(t, http.MethodPost, productURL+"/stock-adjustments", token, nil, map[string]any{"delta": 1})
			if resp != nil && resp.StatusCode/100 != 2 {
				t.Errorf("stock adjustment: %d %s", resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	resp, b = apiCall(t, http.MethodDelete, productURL, token, nil, nil)
	if resp == nil || resp.StatusCode/100 != 2 {
		t.Fatalf("archive: %v %s", resp, b)
	}
	writesDone := time.Now()

	var pgVersion, pgStock int64
	var pgActive bool
	if err := e.db.QueryRow(context.Background(), `SELECT version, stock, active FROM products WHERE id = $1`, created.ID).
		Scan(&pgVersion, &pgStock, &pgActive); err != nil {
		t.Fatal(err)
	}
	if pgStock != initialStock+10 || pgActive {
		t.Fatalf("postgres: stock %d active %v, want stock %d active false", pgStock, pgActive, initialStock+10)
	}

	type item struct {
		// Directus returns bigint columns as JSON strings.
		ID         json.Number `json:"id"`
		Name       string      `json:"name"`
		PriceMinor json.Number `json:"price_minor"`
		Stock      json.Number `json:"stock"`
		Version    json.Number `json:"version"`
		Active     bool        `json:"active"`
	}
	var last string
	ok := func() bool {
		r, err := http.Get(fmt.Sprintf("%s/items/products/%d", e.d.URL, created.ID))
		if err != nil {
			last = err.Error()
			return false
		}
		defer r.Body.Close()
		raw, _ := io.ReadAll(r.Body)
		if r.StatusCode != http.StatusOK {
			last = fmt.Sprintf("%d %s", r.StatusCode, raw)
			return false
		}
		var body struct {
			Data item `json:"data"`
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			last = err.Error()
			return false
		}
		it := body.Data
		last = fmt.Sprintf("%+v", it)
		num := func(n json.Number) int64 { v, _ := n.Int64(); return v }
		return num(it.ID) == created.ID && num(it.Version) == pgVersion && !it.Active && it.Name == "Updated through the api" &&
			num(it.PriceMinor) == 2345 && num(it.Stock) == initialStock+10
	}
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("Directus never showed version %d archived, stock %d; last: %s", pgVersion, initialStock+10, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("Directus shows version %d (13 writes) %s after the last api write", pgVersion, time.Since(writesDone).Round(time.Millisecond))
}
