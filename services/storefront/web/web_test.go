package web_test

import (
	"os/exec"
	"testing"
	"time"
)

// The SPA's own unit tests (Vitest: stores, composables, parsers) run as
// part of `go test`, so `make test` covers them. npm packages are installed
// first when the lock file changed (scripts/storefront-web.sh --deps).
func TestVitest(t *testing.T) {
	began := time.Now()
	if out, err := exec.Command("../../../scripts/storefront-web.sh", "--deps").CombinedOutput(); err != nil {
		t.Fatalf("npm packages: %v\n%s", err, out)
	}
	deps := time.Since(began)
	cmd := exec.Command("node", "node_modules/vitest/vitest.mjs", "run", "--reporter=dot")
	cmd.Env = append(cmd.Environ(), "NO_COLOR=1", "CI=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("vitest: %v\n%s", err, out)
	}
	t.Logf("npm packages ready in %s, vitest in %s:\n%s", deps.Round(time.Millisecond), (time.Since(began) - deps).Round(time.Millisecond), out)
}
