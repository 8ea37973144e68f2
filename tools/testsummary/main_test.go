package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// run feeds the real `go test -json` of testdata/sample to the summary.
func run(t *testing.T, allowed map[string]bool, env ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command("go", "test", "-json", "-count=1", ".")
	cmd.Dir = filepath.Join("testdata", "sample")
	cmd.Env = append(os.Environ(), append(env, "GOWORK=off", "GOFLAGS=")...)
	raw, _ := cmd.Output() // a failing test exits 1: the events say so
	var out bytes.Buffer
	s := &summary{out: &out, running: map[string][]string{}}
	if err := s.read(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	ok := s.report(allowed)
	return out.String(), ok
}

func TestASkipIsShownAndFailsUnlessAllowed(t *testing.T) {
	out, ok := run(t, nil)
	if ok || !strings.Contains(out, "SKIP sample TestSkips (NOT ALLOWED): sample_test.go:10: needs a thing this machine lacks") {
		t.Fatalf("an unlisted skip: ok=%v\n%s", ok, out)
	}
	if strings.Contains(out, "quiet when it passes") || !strings.Contains(out, "ok  \tsample") {
		t.Fatalf("a passing test's output is shown, or the package line is missing:\n%s", out)
	}
	out, ok = run(t, map[string]bool{"sample TestSkips": true})
	if !ok || !strings.Contains(out, "(allowed)") {
		t.Fatalf("an allowed skip: ok=%v\n%s", ok, out)
	}
}

func TestAFailureIsShown(t *testing.T) {
	out, ok := run(t, map[string]bool{"sample TestSkips": true}, "SAMPLE_FAIL=1")
	if ok || !strings.Contains(out, "--- FAIL: TestFailsWhenAsked") || !strings.Contains(out, "asked to fail") {
		t.Fatalf("a failing test: ok=%v\n%s", ok, out)
	}
}

func TestAllowedSkipsFile(t *testing.T) {
	allowed, err := readAllowed([]string{"allowed-skips.txt"})
	if err != nil || len(allowed) == 0 {
		t.Fatalf("allowed-skips.txt: %v %v", allowed, err)
	}
}
