package testenv_test

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/platform/testenv"
)

// childServer names the server a child run of TestWithoutServersTheFailureSaysHowToGetOne asks for.
const childServer = "TESTENV_TEST_CHILD_SERVER"

// On a machine with neither TEST_*_URL, nor the server binaries, nor a
// Docker engine that can run the pinned images, a test that asks for a
// server fails and names every way to get one. The Docker path goes through
// tools/testdocker for real (built with go run, dockertest's client talking
// to DOCKER_HOST); only the engine is missing or fake, as there is none here.
func TestWithoutServersTheFailureSaysHowToGetOne(t *testing.T) {
	switch os.Getenv(childServer) {
	case "postgres":
		testenv.Database(t)
		return
	case "redis":
		testenv.Redis(t)
		return
	}
	tmp := t.TempDir()
	// PATH holds only the go command (tools/testdocker is built with it):
	// no redis-server, and PG_BIN names a folder without PostgreSQL.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	pathDir, noPG := filepath.Join(tmp, "path"), filepath.Join(tmp, "no-postgres")
	for _, d := range []string{pathDir, noPG} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(goBin, filepath.Join(pathDir, "go")); err != nil {
		t.Fatal(err)
	}
	fake := fakeEngine(t, filepath.Join(tmp, "fake.sock"))

	for _, tc := range []struct {
		name, server, dockerHost string
		want                     []string
	}{
		{"postgres, no engine", "postgres", "unix://" + tmp + "/nothing.sock", []string{
			"no PostgreSQL for tests",
			"PG_BIN=" + noPG + " holds no PostgreSQL server binaries",
			"no Docker engine answered at unix://" + tmp + "/nothing.sock",
			"Fix: install the server (apt-get install -y postgresql), set TEST_DATABASE_URL",
			"or start a Docker engine",
		}},
		{"redis, no engine", "redis", "unix://" + tmp + "/nothing.sock", []string{
			"no Redis for tests",
			"redis-server not found in PATH",
			"no Docker engine answered at unix://" + tmp + "/nothing.sock",
			"Fix: install it (apt-get install -y redis-server), set TEST_REDIS_URL, or start a Docker engine",
		}},
		{"postgres, engine refuses", "postgres", "unix://" + fake.sock, []string{
			"no PostgreSQL for tests",
			"docker run postgres:15.18-bookworm",
			"fake engine: nothing runs here",
		}},
		{"redis, engine refuses", "redis", "unix://" + fake.sock, []string{
			"no Redis for tests",
			"docker run redis:7.0.15-bookworm",
			"fake engine: nothing runs here",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^TestWithoutServersTheFailureSaysHowToGetOne$", "-test.count=1")
			cmd.Env = append(withoutEnv("TEST_DATABASE_URL", "TEST_REDIS_URL", "TEST_DOCKER", "PG_BIN", "PATH",
				"DOCKER_HOST", "DOCKER_URL", "DOCKER_MACHINE_NAME", "DOCKER_CERT_PATH"),
				childServer+"="+tc.server, "PATH="+pathDir, "PG_BIN="+noPG, "DOCKER_HOST="+tc.dockerHost)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the child test passed without a server:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("the failure does not say %q:\n%s", w, out)
				}
			}
		})
	}
	// The pins came from docker-compose.yml, and the engine was asked for them.
	for _, img := range []string{"postgres:15.18-bookworm", "redis:7.0.15-bookworm"} {
		if !fake.asked("/images/" + img + "/json") {
			t.Errorf("the fake engine was not asked for image %s; requests: %v", img, fake.requests())
		}
	}
}

// engine is a Docker engine that answers the ping and refuses all else.
type engine struct {
	sock string
	mu   sync.Mutex
	seen []string
}

func fakeEngine(t *testing.T, sock string) *engine {
	e := &engine{sock: sock}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.seen = append(e.seen, r.Method+" "+r.URL.Path)
		e.mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			_, _ = w.Write([]byte("OK"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"message":"fake engine: nothing runs here"}`))
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return e
}

func (e *engine) requests() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.seen...)
}

func (e *engine) asked(pathSuffix string) bool {
	for _, r := range e.requests() {
		if strings.HasSuffix(r, pathSuffix) {
			return true
		}
	}
	return false
}

func withoutEnv(names ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || name == n
		}
		if !drop {
			env = append(env, kv)
		}
	}
	return env
}
