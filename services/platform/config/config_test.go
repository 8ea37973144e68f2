package config_test

import (
	"bytes"
	"context"
	"errors"
	"github.com/goshop-platform/shop/services/platform/testenv"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/platform/config"
)

// testSpec has the shapes a real service spec has: nested structs, a
// duration, a list, an int and secrets.
type testSpec struct {
	HTTP           httpSpec      `json:"http"`
	Database       databaseSpec  `json:"database"`
	Auth           authSpec      `json:"auth"`
	AllowedOrigins []string      `json:"allowedOrigins"`
	Workers        int           `json:"workers"`
	APIKey         config.Secret `json:"apiKey"`
}

type httpSpec struct {
	Addr        string        `json:"addr"`
	ReadTimeout time.Duration `json:"readTimeout"`
}

// authSpec has acronyms in its names, which stay one word in the
// environment: activeKeyID <- ..._ACTIVE_KEY_ID.
type authSpec struct {
	ActiveKeyID    config.Secret `json:"activeKeyID"`
	AccessTokenTTL time.Duration `json:"accessTokenTTL"`
}

type databaseSpec struct {
	URL      config.Secret `json:"url"`
	MaxConns int           `json:"maxConns"`
}

func (s testSpec) Validate() config.FieldErrors {
	var errs config.FieldErrors
	errs.Check(s.HTTP.Addr != "", "spec.http.addr", "must not be empty")
	errs.Check(s.HTTP.ReadTimeout > 0, "spec.http.readTimeout", "must be a positive duration")
	errs.Check(s.Database.MaxConns >= 1 && s.Database.MaxConns <= 100, "spec.database.maxConns", "must be between 1 and 100")
	errs.Check(s.Workers >= 1, "spec.workers", "must be at least 1")
	return errs
}

const (
	apiVersion = "shop.goshop.dev/v1alpha1"
	kind       = "TestConfig"
)

func defaults() testSpec {
	return testSpec{
		HTTP:           httpSpec{Addr: ":8080", ReadTimeout: 5 * time.Second},
		Database:       databaseSpec{URL: "postgres://default", MaxConns: 10},
		Auth:           authSpec{ActiveKeyID: "key-1", AccessTokenTTL: 15 * time.Minute},
		AllowedOrigins: []string{"https://shop.example"},
		Workers:        4,
	}
}

// loader returns a Loader whose environment is exactly env ("K=V" pairs),
// never the process environment.
func loader(env ...string) config.Loader[testSpec] {
	return config.Loader[testSpec]{
		APIVersion: apiVersion,
		Kind:       kind,
		EnvPrefix:  "TEST",
		Defaults:   defaults(),
		Environ:    func() []string { return env },
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDefaultsOnly(t *testing.T) {
	doc, err := loader().Load("")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if doc.APIVersion != apiVersion || doc.Kind != kind {
		t.Errorf("apiVersion/kind = %q/%q, want %q/%q", doc.APIVersion, doc.Kind, apiVersion, kind)
	}
	if !reflect.DeepEqual(doc.Spec, defaults()) {
		t.Errorf("spec = %+v, want defaults %+v", doc.Spec, defaults())
	}
}

func TestLoadFileOverridesDefaults(t *testing.T) {
	path := writeFile(t, t.TempDir(), "config.yaml", `
apiVersion: shop.goshop.dev/v1alpha1
kind: TestConfig
spec:
  http:
    readTimeout: 750ms
  database:
    url: postgres://from-file
  allowedOrigins: [https://a.example, https://b.example]
  apiKey: key-from-file
`)
	doc, err := loader().Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := defaults()
	want.HTTP.ReadTimeout = 750 * time.Millisecond
	want.Database.URL = "postgres://from-file"
	want.AllowedOrigins = []string{"https://a.example", "https://b.example"}
	want.APIKey = "key-from-file"
	if !reflect.DeepEqual(doc.Spec, want) {
		t.Errorf("spec = %+v\nwant   %+v", doc.Spec, want)
	}
}

func TestLoadEnvironmentOverrides(t *testing.T) {
	secretDir := t.TempDir()
	keyFile := writeFile(t, secretDir, "api-key", "key-from-file\r\n")
	path := writeFile(t, t.TempDir(), "config.yaml", `
spec:
  http:
    readTimeout: 1s
  workers: 2
`)
	tests := []struct {
		name string
		env  []string
		path string
		want func(*testSpec)
	}{
		{
			name: "nested duration beats file",
			env:  []string{"TEST_HTTP_READ_TIMEOUT=2m30s"},
			path: path,
			want: func(s *testSpec) { s.HTTP.ReadTimeout = 150 * time.Second; s.Workers = 2 },
		},
		{
			name: "nested string and int",
			env:  []string{"TEST_HTTP_ADDR=127.0.0.1:9000", "TEST_DATABASE_MAX_CONNS=42"},
			want: func(s *testSpec) { s.HTTP.Addr = "127.0.0.1:9000"; s.Database.MaxConns = 42 },
		},
		{
			name: "comma separated list",
			env:  []string{"TEST_ALLOWED_ORIGINS=https://a.example,https://b.example,https://c.example"},
			want: func(s *testSpec) {
				s.AllowedOrigins = []string{"https://a.example", "https://b.example", "https://c.example"}
			},
		},
		{
			name: "secret from variable",
			env:  []string{"TEST_DATABASE_URL=postgres://user:pw@db/shop"},
			want: func(s *testSpec) { s.Database.URL = "postgres://user:pw@db/shop" },
		},
		{
			name: "secret from _FILE with trailing newline trimmed",
			env:  []string{"TEST_API_KEY_FILE=" + keyFile},
			want: func(s *testSpec) { s.APIKey = "key-from-file" },
		},
		{
			name: "acronyms in field names",
			env:  []string{"TEST_AUTH_ACTIVE_KEY_ID=key-2", "TEST_AUTH_ACCESS_TOKEN_TTL=1h"},
			want: func(s *testSpec) { s.Auth = authSpec{ActiveKeyID: "key-2", AccessTokenTTL: time.Hour} },
		},
		{
			name: "unrelated variables are ignored",
			env:  []string{"OTHER_HTTP_ADDR=:1", "TEST=x", "TESTHTTP_ADDR=:2", "NO_EQUALS_SIGN"},
			want: func(*testSpec) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := loader(tt.env...).Load(tt.path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := defaults()
			if tt.path != "" {
				want.HTTP.ReadTimeout = time.Second
				want.Workers = 2
			}
			tt.want(&want)
			if !reflect.DeepEqual(doc.Spec, want) {
				t.Errorf("spec = %+v\nwant   %+v", doc.Spec, want)
			}
		})
	}
}

func TestLoadSecretFileMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := loader("TEST_DATABASE_URL_FILE=" + missing).Load("")
	if err == nil {
		t.Fatal("Load succeeded with a missing secret file")
	}
	for _, want := range []string{"TEST_DATABASE_URL_FILE", "spec.database.url", missing} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v does not wrap os.ErrNotExist", err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		file string // "" means no file
		env  []string
		want []string // substrings of the error
	}{
		{
			name: "unknown nested key",
			file: "spec:\n  http:\n    adress: ':9090'\n",
			want: []string{"'spec.http' has invalid keys: adress"},
		},
		{
			// viper lower-cases keys, so a camelCase typo is reported lower-cased.
			name: "misspelt camelCase key",
			file: "spec:\n  http:\n    readTimout: 1s\n",
			want: []string{"'spec.http' has invalid keys: readtimout"},
		},
		{
			name: "unknown top-level key",
			file: "apiVersion: shop.goshop.dev/v1alpha1\nmetadata:\n  name: x\n",
			want: []string{"has invalid keys: metadata"},
		},
		{
			name: "wrong apiVersion",
			file: "apiVersion: shop.goshop.dev/v2\nkind: TestConfig\n",
			want: []string{`apiVersion: must be "shop.goshop.dev/v1alpha1", got "shop.goshop.dev/v2"`},
		},
		{
			name: "wrong kind",
			file: "apiVersion: shop.goshop.dev/v1alpha1\nkind: WorkerConfig\n",
			want: []string{`kind: must be "TestConfig", got "WorkerConfig"`},
		},
		{
			name: "malformed YAML",
			file: "spec: [unclosed\n",
			want: []string{"read config file"},
		},
		{
			name: "duration that does not parse",
			file: "spec:\n  http:\n    readTimeout: soon\n",
			want: []string{"'spec.http.readTimeout' time: invalid duration"},
		},
		{
			name: "int from env that does not parse",
			env:  []string{"TEST_WORKERS=many"},
			want: []string{"'spec.workers' cannot parse value as 'int'"},
		},
		{
			name: "every Validate error with its path",
			file: "spec:\n  http:\n    addr: ''\n    readTimeout: -1s\n  database:\n    maxConns: 0\n",
			want: []string{
				"spec.http.addr: must not be empty",
				"spec.http.readTimeout: must be a positive duration",
				"spec.database.maxConns: must be between 1 and 100",
			},
		},
		{
			name: "Validate error caused by env",
			env:  []string{"TEST_WORKERS=0"},
			want: []string{"spec.workers: must be at least 1", "(defaults and environment)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, t.TempDir(), "config.yaml", tt.file)
			}
			doc, err := loader(tt.env...).Load(path)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", doc)
			}
			if doc != nil {
				t.Errorf("Load returned a document with its error: %+v", doc)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

func TestLoadValidateErrorsAreFieldErrors(t *testing.T) {
	_, err := loader("TEST_WORKERS=0", "TEST_HTTP_ADDR=").Load("")
	var fe config.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("error %v does not wrap FieldErrors", err)
	}
	want := config.FieldErrors{
		{Field: "spec.http.addr", Message: "must not be empty"},
		{Field: "spec.workers", Message: "must be at least 1"},
	}
	if !reflect.DeepEqual(fe, want) {
		t.Errorf("field errors = %#v, want %#v", fe, want)
	}
}

func TestFieldErrors(t *testing.T) {
	var errs config.FieldErrors
	errs.Check(true, "spec.a", "never recorded")
	errs.Add("spec.b", "is wrong")
	errs.Check(false, "spec.c", "is also wrong")
	if got, want := errs.Error(), "spec.b: is wrong; spec.c: is also wrong"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestPrintMasksSecrets(t *testing.T) {
	doc, err := loader(
		"TEST_DATABASE_URL=postgres://user:hunter2@db/shop",
		"TEST_API_KEY=sk_live_abc",
	).Load("")
	if err != nil {
		t.Fatal(err)
	}
	out, err := config.Print(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, leaked := range []string{"hunter2", "sk_live_abc", "postgres://", "key-1"} {
		if strings.Contains(out, leaked) {
			t.Errorf("Print leaks %q:\n%s", leaked, out)
		}
	}
	for _, want := range []string{
		"apiVersion: shop.goshop.dev/v1alpha1",
		"kind: TestConfig",
		"apiKey: '******'",
		"activeKeyID: '******'",
		"url: '******'",
		"addr: :8080",
		"maxConns: 10",
		"workers: 4",
		"- https://shop.example",
		"readTimeout: 5s", // durations render as configured
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Print output lacks %q:\n%s", want, out)
		}
	}
	// Masking happens only in rendering: the loaded value is intact.
	if got := doc.Spec.Database.URL.Value(); got != "postgres://user:hunter2@db/shop" {
		t.Errorf("secret value = %q", got)
	}
}

func TestPrintedDocumentLoadsBack(t *testing.T) {
	doc, err := loader("TEST_HTTP_READ_TIMEOUT=3s").Load("")
	if err != nil {
		t.Fatal(err)
	}
	out, err := config.Print(doc)
	if err != nil {
		t.Fatal(err)
	}
	back, err := loader().Load(writeFile(t, t.TempDir(), "printed.yaml", out))
	if err != nil {
		t.Fatalf("printed document does not load: %v\n%s", err, out)
	}
	want := doc.Spec
	want.Database.URL = "******" // masked on print, so masked on reload
	want.Auth.ActiveKeyID = "******"
	if !reflect.DeepEqual(back.Spec, want) {
		t.Errorf("reloaded spec = %+v\nwant            %+v", back.Spec, want)
	}
}

func TestSecretString(t *testing.T) {
	tests := []struct {
		s       config.Secret
		str, js string
	}{
		{"", "", `""`},
		{"hunter2", "******", `"******"`},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.str {
			t.Errorf("Secret(%q).String() = %q, want %q", tt.s.Value(), got, tt.str)
		}
		b, err := tt.s.MarshalJSON()
		if err != nil || string(b) != tt.js {
			t.Errorf("Secret(%q).MarshalJSON() = %s, %v; want %s", tt.s.Value(), b, err, tt.js)
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "secret", tt.s)
		if tt.s != "" && strings.Contains(buf.String(), tt.s.Value()) {
			t.Errorf("slog prints the secret: %s", buf.String())
		}
	}
}

func TestEnvNames(t *testing.T) {
	want := []string{
		"TEST_ALLOWED_ORIGINS",
		"TEST_API_KEY",
		"TEST_API_KEY_FILE",
		"TEST_AUTH_ACCESS_TOKEN_TTL",
		"TEST_AUTH_ACTIVE_KEY_ID",
		"TEST_AUTH_ACTIVE_KEY_ID_FILE",
		"TEST_DATABASE_MAX_CONNS",
		"TEST_DATABASE_URL",
		"TEST_DATABASE_URL_FILE",
		"TEST_HTTP_ADDR",
		"TEST_HTTP_READ_TIMEOUT",
		"TEST_WORKERS",
	}
	if got := loader().EnvNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("EnvNames() =\n%q\nwant\n%q", got, want)
	}
}

// replaceFile swaps the file's content atomically, the way editors do, so
// Watch never sees a half-written file.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		t.Fatal(err)
	}
}

// configMapVolume lays files out like a Kubernetes ConfigMap volume:
// dir/config.yaml -> ..data/config.yaml, ..data -> ..<version>, and an
// update swaps the ..data symlink atomically to a new version directory.
type configMapVolume struct {
	t       *testing.T
	dir     string
	version int
}

func (v *configMapVolume) update(content string) {
	v.t.Helper()
	v.version++
	versionDir := "..v" + strconv.Itoa(v.version)
	if err := os.Mkdir(filepath.Join(v.dir, versionDir), 0o755); err != nil {
		v.t.Fatal(err)
	}
	writeFile(v.t, filepath.Join(v.dir, versionDir), "config.yaml", content)
	tmpLink := filepath.Join(v.dir, "..data_tmp")
	if err := os.Symlink(versionDir, tmpLink); err != nil {
		v.t.Fatal(err)
	}
	if err := os.Rename(tmpLink, filepath.Join(v.dir, "..data")); err != nil {
		v.t.Fatal(err)
	}
	if v.version == 1 {
		if err := os.Symlink(filepath.Join("..data", "config.yaml"), filepath.Join(v.dir, "config.yaml")); err != nil {
			v.t.Fatal(err)
		}
	}
}

func workersDoc(n int) string {
	return "apiVersion: shop.goshop.dev/v1alpha1\nkind: TestConfig\nspec:\n  workers: " + strconv.Itoa(n) + "\n"
}

func TestWatch(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the path to watch and a function that changes its content.
		setup func(t *testing.T) (path string, edit func(content string))
	}{
		{
			name: "file replaced in place",
			setup: func(t *testing.T) (string, func(string)) {
				path := filepath.Join(t.TempDir(), "config.yaml")
				edit := func(c string) { replaceFile(t, path, c) }
				return path, edit
			},
		},
		{
			name: "ConfigMap volume symlink swap",
			setup: func(t *testing.T) (string, func(string)) {
				v := &configMapVolume{t: t, dir: t.TempDir()}
				return filepath.Join(v.dir, "config.yaml"), v.update
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, edit := tt.setup(t)
			edit(workersDoc(1))
			testWatch(t, path, edit)
		})
	}
}

// Warm-up edits write workers > warmBase; the edits under test write less.
const warmBase = 100

func testWatch(t *testing.T, path string, edit func(string)) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &testenv.LogBuffer{}
	applied := make(chan int, 100)
	done := make(chan error, 1)
	go func() {
		done <- loader().Watch(ctx, path, slog.New(slog.NewJSONHandler(logs, nil)), func(d *config.Document[testSpec]) {
			applied <- d.Spec.Workers
		})
	}()

	// Watch gives no signal when its watcher is in place, so keep making
	// distinct valid edits until one of them is applied.
	deadline := time.Now().Add(10 * time.Second)
	warm := warmBase
	for warmedUp := false; !warmedUp; {
		if time.Now().After(deadline) {
			t.Fatalf("no edit was applied within the deadline; logs:\n%s", logs.String())
		}
		warm++
		edit(workersDoc(warm))
		select {
		case n := <-applied:
			if n <= warmBase || n > warm {
				t.Fatalf("applied workers=%d, which was never written", n)
			}
			warmedUp = true
		case <-time.After(300 * time.Millisecond):
		}
	}

	// A valid change is applied with its new value.
	edit(workersDoc(7))
	waitApplied(t, applied, 7, logs)

	// An invalid edit is logged and not applied.
	edit("apiVersion: shop.goshop.dev/v1alpha1\nkind: TestConfig\nspec:\n  workers: 3\n  bogus: 1\n")
	pollUntil(t, func() bool { return strings.Contains(logs.String(), "config reload rejected") }, "the invalid edit to be rejected", logs)
	select {
	case n := <-applied:
		t.Fatalf("apply called with workers=%d for an invalid edit", n)
	default:
	}
	if !strings.Contains(logs.String(), "has invalid keys: bogus") {
		t.Errorf("rejection log does not name the bad key:\n%s", logs.String())
	}

	// A value that Validate rejects is not applied either.
	edit(workersDoc(0))
	pollUntil(t, func() bool { return strings.Contains(logs.String(), "spec.workers: must be at least 1") }, "the invalid value to be rejected", logs)
	select {
	case n := <-applied:
		t.Fatalf("apply called with workers=%d for an invalid value", n)
	default:
	}

	// Watching continues after rejected edits.
	edit(workersDoc(9))
	waitApplied(t, applied, 9, logs)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Watch returned %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after its context was cancelled")
	}
}

// waitApplied waits for apply to see want, skipping values of warm-up edits
// that may still have been in flight.
func waitApplied(t *testing.T, applied <-chan int, want int, logs *testenv.LogBuffer) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case n := <-applied:
			if n == want {
				return
			}
			if n <= warmBase {
				t.Fatalf("applied workers=%d, want %d", n, want)
			}
		case <-timeout:
			t.Fatalf("workers=%d was not applied within the deadline; logs:\n%s", want, logs.String())
		}
	}
}

func pollUntil(t *testing.T, cond func() bool, what string, logs *testenv.LogBuffer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; logs:\n%s", what, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWatchWithoutPathReturnsAtOnce(t *testing.T) {
	err := loader().Watch(context.Background(), "", slog.New(slog.DiscardHandler), func(*config.Document[testSpec]) {
		t.Error("apply called without a file")
	})
	if err != nil {
		t.Errorf("Watch(\"\") = %v, want nil", err)
	}
}
