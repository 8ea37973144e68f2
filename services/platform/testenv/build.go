package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// ReleaseBuildFlags are the flags the images build the services with (the
// Dockerfile at the repository root): tests and benchmarks run, and measure,
// the same kind of binary that ships.
var ReleaseBuildFlags = []string{"-trimpath", "-ldflags=-s -w"}

var (
	binMu    sync.Mutex
	binDir   string
	binBuilt = map[string]*binBuild{}
)

type binBuild struct {
	once sync.Once
	path string
	err  error
}

// Binary builds the main package in pkgDir (relative to the test's
// package folder, e.g. "../../cmd/api") once per test process, static and
// stripped like the images, and returns the executable's path. Concurrent
// callers share one build.
func Binary(t testing.TB, pkgDir string) string {
	t.Helper()
	abs, err := filepath.Abs(pkgDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "main.go")); err != nil {
		t.Fatalf("testenv.Binary(%q): no main package there (%v)", pkgDir, err)
	}
	binMu.Lock()
	if binDir == "" {
		if binDir, err = os.MkdirTemp("", "goshop-test-bin-"); err != nil {
			binMu.Unlock()
			t.Fatal(err)
		}
	}
	b, ok := binBuilt[abs]
	if !ok {
		// A folder per build keeps the file named like the command.
		b = &binBuild{path: filepath.Join(binDir, fmt.Sprint(len(binBuilt)), filepath.Base(abs))}
		binBuilt[abs] = b
	}
	binMu.Unlock()
	b.once.Do(func() {
		if b.err = os.MkdirAll(filepath.Dir(b.path), 0o755); b.err != nil {
			return
		}
		args := append(append([]string{"build"}, ReleaseBuildFlags...), "-o", b.path, ".")
		cmd := exec.Command("go", args...)
		cmd.Dir = abs
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", pkgDir, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}
