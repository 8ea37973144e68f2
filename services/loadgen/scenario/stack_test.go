package scenario_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const adminPW = "loadgen-admin-password"

// binary builds a service's command once per test binary.
func binary(t *testing.T, name string) string {
	return testenv.Binary(t, "../../"+name+"/cmd/"+name)
}

// start runs a service process until the test ends and waits for its
// /readyz on addr.
func start(t *testing.T, name, addr string, env ...string) {
	t.Helper()
	testenv.StartService(t, name, binary(t, name), env, "serve").WaitHTTP(t, "http://"+addr+"/readyz", 30*time.Second)
}

// stack is a real api (and order-worker) on a fresh database and Redis.
type stack struct {
	api   string
	db    *pgxpool.Pool
	admin string // admin bearer
}

// newStack starts an api with the given extra environment and, when
// worker is true, one order-worker.
func newStack(t *testing.T, worker bool, apiEnv ...string) *stack {
	t.Helper()
	dbURL, redisURL := schematest.MigratedDatabase(t), testenv.Redis(t)
	keys := t.TempDir()
	if out, err := exec.Command(binary(t, "api"), "gen-key", "--dir", keys, "--kid", "k1").CombinedOutput(); err != nil {
		t.Fatalf("api gen-key: %v\n%s", err, out)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	start(t, "api", addr, append([]string{"API_DATABASE_URL=" + dbURL, "API_REDIS_URL=" + redisURL,
		"API_AUTH_KEYS_DIR=" + keys, "API_AUTH_ACTIVE_KEY_ID=k1", "API_HTTP_ADDR=" + addr, "API_HTTP_DRAIN_DELAY=0s",
		"API_AUTH_PASSWORD_MEMORY_KB=1024", "API_AUTH_PASSWORD_ITERATIONS=1", "API_TELEMETRY_LOG_LEVEL=warn",
		"API_AUTH_BOOTSTRAP_ADMIN_EMAIL=admin@loadgen.example", "API_AUTH_BOOTSTRAP_ADMIN_PASSWORD=" + adminPW}, apiEnv...)...)
	if worker {
		waddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
		start(t, "order-worker", waddr, "WORKER_DATABASE_URL="+dbURL, "WORKER_REDIS_URL="+redisURL,
			"WORKER_HTTP_ADDR="+waddr, "WORKER_HTTP_DRAIN_DELAY=0s", "WORKER_NOTIFIER_KIND=none",
			"WORKER_CONSUMER_BLOCK=200ms", "WORKER_TELEMETRY_LOG_LEVEL=warn")
	}
	db, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	s := &stack{api: "http://" + addr, db: db}
	var sess struct {
		AccessToken string `json:"access_token"`
	}
	s.post(t, "/api/v1/auth/login", map[string]string{"email": "admin@loadgen.example", "password": adminPW}, 200, &sess)
	s.admin = "Bearer " + sess.AccessToken
	return s
}

// product creates an active product through the admin API and returns its id.
func (s *stack) product(t *testing.T, sku string, stock int) int64 {
	t.Helper()
	var p struct {
		ID int64 `json:"id"`
	}
	s.post(t, "/api/v1/products", map[string]any{"sku": sku, "name": "Product " + sku, "price_minor": 1299,
		"currency": "EUR", "stock": stock}, 201, &p)
	return p.ID
}

func (s *stack) post(t *testing.T, path string, body any, want int, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.api+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if s.admin != "" {
		req.Header.Set("Authorization", s.admin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d %s, want %d", path, resp.StatusCode, raw, want)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
}

func (s *stack) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
