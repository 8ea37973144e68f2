package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/paths"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/api/internal/app"
	"github.com/goshop-platform/shop/services/api/internal/auth"
	"github.com/goshop-platform/shop/services/api/openapi"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/telemetry"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) {
	testenv.MainFunc(func() int {
		code := m.Run()
		if code == 0 && runsEverything() {
			if missing := unexercised(); len(missing) > 0 {
				fmt.Fprintf(os.Stderr, "FAIL: OpenAPI operations no test exercised: %v\n", missing)
				return 1
			}
		}
		return code
	})
}

// runsEverything is false when -run/-skip narrow the tests (then coverage of
// the contract cannot be judged).
func runsEverything() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return true
}

var (
	exercisedMu sync.Mutex
	exercised   = map[string]bool{} // "METHOD /spec/path" with a 2xx answer
)

// unexercised lists the contract's operations that no test called successfully.
func unexercised() []string {
	if specModel == nil {
		return nil // no test called the api
	}
	var missing []string
	for path, item := range specModel.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			key := strings.ToUpper(method) + " " + path
			if !exercised[key] {
				missing = append(missing, key)
			}
		}
	}
	return missing
}

const (
	adminEmail    = "admin@shop.test"
	adminPassword = "admin-password-123"
)

// env is one running api (production wiring from app.New) on a fresh
// database and a clean Redis database.
type env struct {
	t       testing.TB
	base    string
	spec    apiconfig.Spec
	db      *pgxpool.Pool
	rdb     redis.UniversalClient
	keysDir string
	logs    *testenv.LogBuffer
}

// testSpec is a valid configuration on the given database and Redis with a
// fresh signing key "k1" and a cheap password hash.
func testSpec(t testing.TB, dbURL, redisURL string) (apiconfig.Spec, string) {
	t.Helper()
	keys := t.TempDir()
	writeKey(t, keys, "k1")
	s := apiconfig.Defaults()
	s.HTTP.Addr = "127.0.0.1:0"
	s.HTTP.DrainDelay = 0
	s.Database.URL = config.Secret(dbURL)
	s.Redis.URL = config.Secret(redisURL)
	s.Redis.DialTimeout, s.Redis.ReadTimeout, s.Redis.WriteTimeout = 300*time.Millisecond, 500*time.Millisecond, 500*time.Millisecond
	s.Auth.KeysDir, s.Auth.ActiveKeyID = keys, "k1"
	s.Auth.PasswordMemoryKB, s.Auth.PasswordIterations = 1024, 1
	s.Auth.BootstrapAdmin = apiconfig.BootstrapAdmin{Email: adminEmail, Password: adminPassword}
	s.RateLimit.LoginPerAccount, s.RateLimit.LoginPerIP, s.RateLimit.RegisterPerIP, s.RateLimit.OrdersPerUser = 1000, 1000, 1000, 1000
	return s, keys
}

func writeKey(t testing.TB, dir, kid string) {
	t.Helper()
	pemBytes, err := auth.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, kid+".pem"), pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
}

// newEnv starts an api; change adjusts the configuration first.
func newEnv(t testing.TB, change ...func(*apiconfig.Spec)) *env {
	t.Helper()
	spec, keys := testSpec(t, schematest.MigratedDatabase(t), testenv.Redis(t))
	for _, c := range change {
		c(&spec)
	}
	return startEnv(t, spec, keys)
}

var tracingOnce sync.Once

func startEnv(t testing.TB, spec apiconfig.Spec, keys string) *env {
	t.Helper()
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatalf("test config invalid: %v", errs)
	}
	doc := &config.Document[apiconfig.Spec]{APIVersion: apiconfig.Loader.APIVersion, Kind: apiconfig.Loader.Kind, Spec: spec}
	tracingOnce.Do(func() {
		// As `api serve` does: W3C propagation with a tracer provider, no exporter.
		if _, err := telemetry.StartTracing(context.Background(), "api", "test", spec.Telemetry); err != nil {
			t.Fatal(err)
		}
	})
	logs := &testenv.LogBuffer{}
	level := new(slog.LevelVar)
	log := telemetry.NewLogger(logs, "api", level)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, doc, log)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	if err := a.BootstrapAdmin(ctx, spec.Auth.BootstrapAdmin); err != nil {
		t.Fatalf("bootstrap admin: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server did not shut down cleanly: %v", err)
		}
		a.Close()
		if t.Failed() {
			t.Logf("api logs:\n%s", logs.String())
		}
	})
	return &env{t: t, base: "http://" + ln.Addr().String(), spec: spec, db: a.DB, rdb: a.Redis, keysDir: keys, logs: logs}
}

// --- HTTP client with OpenAPI validation -----------------------------------

var (
	specOnce  sync.Once
	specValid validator.Validator
	specModel *v3.Document
	specErr   error
)

func contract(t testing.TB) validator.Validator {
	t.Helper()
	specOnce.Do(func() {
		doc, err := libopenapi.NewDocument(openapi.YAML)
		if err != nil {
			specErr = err
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			specErr = errors.Join(errs...)
			return
		}
		if ok, verrs := v.ValidateDocument(); !ok {
			specErr = fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %s", describe(verrs))
			return
		}
		model, err := doc.BuildV3Model()
		if err != nil {
			specErr = err
			return
		}
		specValid, specModel = v, &model.Model
	})
	if specErr != nil {
		t.Fatalf("load OpenAPI contract: %v", specErr)
	}
	return specValid
}

// req describes one call.
type req struct {
	method, path string
	token        string
	body         any    // marshalled to JSON
	raw          []byte // sent as is (wins over body)
	headers      map[string]string
	// badRequest marks a request that deliberately breaks the contract: it is
	// not validated against the OpenAPI document (the response still is).
	badRequest bool
	// unlisted marks a route or method the contract does not have at all:
	// neither request nor response is validated.
	unlisted bool
}

// resp is a received response.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response is not the expected JSON: %v\n%s", err, r.body)
	}
}

// problem decodes a problem+json response.
func (r resp) problem(t testing.TB) problemBody {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; body %s", ct, r.body)
	}
	var p problemBody
	r.json(t, &p)
	return p
}

type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Pointer   string `json:"pointer"`
		Parameter string `json:"parameter"`
		Detail    string `json:"detail"`
	} `json:"errors"`
	CurrentStatus string `json:"current_status"`
}

// names lists the pointers/parameters of the field errors.
func (p problemBody) names() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Pointer+e.Parameter)
	}
	return out
}

func (e *env) do(r req) resp {
	e.t.Helper()
	return call(e.t, e.base, r)
}

func call(t testing.TB, base string, r req) resp {
	t.Helper()
	body := r.raw
	if body == nil && r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			t.Fatal(err)
		}
	}
	build := func() *http.Request {
		hr, err := http.NewRequest(r.method, base+r.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != nil {
			hr.Header.Set("Content-Type", "application/json")
		}
		if r.token != "" {
			hr.Header.Set("Authorization", "Bearer "+r.token)
		}
		for k, v := range r.headers {
			hr.Header.Set(k, v)
		}
		return hr
	}
	v := contract(t)
	if !r.badRequest && !r.unlisted {
		if ok, errs := v.ValidateHttpRequestSync(build()); !ok {
			t.Fatalf("%s %s: request breaks the OpenAPI contract: %s", r.method, r.path, describe(errs))
		}
	}
	hres, err := http.DefaultClient.Do(build())
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer hres.Body.Close()
	rb, err := io.ReadAll(hres.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := resp{status: hres.StatusCode, header: hres.Header, body: rb}
	hres.Body = io.NopCloser(bytes.NewReader(rb))
	if r.unlisted {
		return out
	}
	if ok, errs := v.ValidateHttpResponse(build(), hres); !ok {
		t.Fatalf("%s %s: response %d breaks the OpenAPI contract: %s\nbody: %s", r.method, r.path, hres.StatusCode, describe(errs), rb)
	}
	if hres.StatusCode < 300 {
		recordExercised(build())
	}
	return out
}

// recordExercised counts hr's operation as answered with a 2xx (callers
// that cannot use call, such as event streams, record it themselves).
func recordExercised(hr *http.Request) {
	if pathItem, _, specPath := paths.FindPath(hr, specModel, nil); pathItem != nil {
		exercisedMu.Lock()
		exercised[hr.Method+" "+specPath] = true
		exercisedMu.Unlock()
	}
}

func describe(errs any) string {
	b, _ := json.Marshal(errs)
	s := string(b)
	if len(s) > 2000 {
		s = s[:2000] + "..."
	}
	return s
}

// expect fails unless the response has the wanted status.
func expect(t testing.TB, r resp, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, strings.TrimSpace(string(r.body)))
	}
	return r
}

// --- shortcuts ---------------------------------------------------------------

type session struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
	TokenType    string `json:"token_type"`
}

func (e *env) login(email, password string) session {
	e.t.Helper()
	var s session
	expect(e.t, e.do(req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"email": email, "password": password}}), 200).json(e.t, &s)
	return s
}

func (e *env) admin() string { return e.login(adminEmail, adminPassword).AccessToken }

// customer registers a new customer and returns its access token and id.
func (e *env) customer(email string) (string, int64) {
	e.t.Helper()
	var u struct {
		ID int64 `json:"id"`
	}
	expect(e.t, e.do(req{method: "POST", path: "/api/v1/auth/register", body: map[string]string{"email": email, "password": "customer-pass-1"}}), 201).json(e.t, &u)
	return e.login(email, "customer-pass-1").AccessToken, u.ID
}

type productView struct {
	ID          int64      `json:"id"`
	SKU         string     `json:"sku"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	PriceMinor  int64      `json:"price_minor"`
	Currency    string     `json:"currency"`
	Stock       int        `json:"stock"`
	ImageURL    string     `json:"image_url"`
	Active      bool       `json:"active"`
	Version     int64      `json:"version"`
	ArchivedAt  *time.Time `json:"archived_at"`
}

func (e *env) createProduct(token, sku string, stock int) productView {
	e.t.Helper()
	var p productView
	expect(e.t, e.do(req{method: "POST", path: "/api/v1/products", token: token, body: map[string]any{
		"sku": sku, "name": "Product " + sku, "price_minor": 1999, "currency": "EUR", "stock": stock,
	}}), 201).json(e.t, &p)
	return p
}

// count runs a COUNT query on the api's database.
func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
