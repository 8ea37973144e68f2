// Package testenv hands tests real PostgreSQL databases and clean Redis
// databases. It picks, once per test binary: TEST_DATABASE_URL /
// TEST_REDIS_URL when set (an existing server the tests may create
// databases on); otherwise the locally installed server binaries
// (postgresql, redis-server) started on free ports in a temp dir; otherwise
// (or with TEST_DOCKER=1) containers of the images docker-compose.yml pins,
// which tools/testdocker starts through dockertest when a Docker engine
// answers (docker.go). When none of these is possible the test fails with a
// message that says how to get one: it never silently skips.
//
// Directus (directus.go) starts a real Directus per test on such a
// database, from the install scripts/install-directus.sh makes.
//
// Packages that use it call testenv.Main from TestMain so that the servers
// stop when the tests end.
package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	mu       sync.Mutex
	cleanups []func()
)

// Main runs the package's tests and then stops every server testenv started.
func Main(m *testing.M) { MainFunc(m.Run) }

// MainFunc is Main for a TestMain that does more than m.Run: run returns the
// exit code.
func MainFunc(run func() int) {
	code := run()
	mu.Lock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	mu.Unlock()
	os.Exit(code)
}

func atExit(f func()) {
	mu.Lock()
	cleanups = append(cleanups, f)
	mu.Unlock()
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	p, err := freePort()
	if err != nil {
		t.Fatalf("testenv: find a free port: %v", err)
	}
	return p
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitFor polls ready until it succeeds or the deadline passes.
func waitFor(timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = ready(); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s: %w", timeout, err)
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// dbName derives a unique, valid database name from the test name.
func dbName(t testing.TB) string {
	n := unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(n) > 40 {
		n = n[:40]
	}
	return fmt.Sprintf("t_%s_%d", n, time.Now().UnixNano()%1e9)
}

func ctxTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}
