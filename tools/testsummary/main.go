// Command testsummary reads `go test -json` on stdin and prints what plain
// `go test` would (the output of failing tests, one line per package),
// then every skipped test with its reason. It exits 1 when a test failed or
// was skipped without being listed in the allowed-skips file (first
// argument): a skip in CI would otherwise pass unseen.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
}

type skip struct{ pkg, test, reason string }

type summary struct {
	out     io.Writer
	running map[string][]string // "pkg test" -> its output so far
	skips   []skip
	failed  bool
}

func main() {
	allowed, err := readAllowed(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	s := &summary{out: os.Stdout, running: map[string][]string{}}
	if err := s.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary: reading go test -json:", err)
		os.Exit(2)
	}
	if !s.report(allowed) {
		os.Exit(1)
	}
}

// readAllowed reads "<package> <test>  # reason" lines.
func readAllowed(args []string) (map[string]bool, error) {
	allowed := map[string]bool{}
	if len(args) == 0 {
		return allowed, nil
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		if f := strings.Fields(line); len(f) == 2 {
			allowed[f[0]+" "+f[1]] = true
		}
	}
	return allowed, nil
}

func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(s.out, sc.Text()) // not an event (go command messages): as is
			continue
		}
		s.handle(e)
	}
	return sc.Err()
}

func (s *summary) handle(e event) {
	key := e.Package + " " + e.Test
	switch {
	case e.Action == "build-output":
		fmt.Fprint(s.out, e.Output)
	case e.Action == "build-fail":
		s.failed = true
	case e.Test == "" && e.Action == "output":
		if e.Output != "PASS\n" {
			fmt.Fprint(s.out, e.Output)
		}
	case e.Test == "" && e.Action == "fail":
		s.failed = true
		s.flush(e.Package) // tests cut short by a panic or timeout
	case e.Test == "":
		// a package's start, pass, or skip (no test files)
	case e.Action == "output":
		s.running[key] = append(s.running[key], e.Output)
	case e.Action == "fail":
		s.failed = true
		s.print(key)
	case e.Action == "skip":
		s.skips = append(s.skips, skip{e.Package, e.Test, reason(s.running[key])})
		delete(s.running, key)
	case e.Action == "pass":
		delete(s.running, key)
	}
}

func (s *summary) print(key string) {
	for _, line := range s.running[key] {
		fmt.Fprint(s.out, line)
	}
	delete(s.running, key)
}

// flush prints the output of pkg's tests that never ended.
func (s *summary) flush(pkg string) {
	var keys []string
	for k := range s.running {
		if strings.HasPrefix(k, pkg+" ") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		s.print(k)
	}
}

// reason is what the test logged before skipping, without the run markers.
func reason(lines []string) string {
	var out []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		out = append(out, t)
	}
	return strings.Join(out, " ")
}

// report lists the skips and says whether the run passed.
func (s *summary) report(allowed map[string]bool) bool {
	ok := !s.failed
	if len(s.skips) > 0 {
		fmt.Fprintf(s.out, "\n%d test(s) skipped:\n", len(s.skips))
	}
	for _, k := range s.skips {
		mark := "allowed"
		if !allowed[k.pkg+" "+k.test] {
			mark, ok = "NOT ALLOWED", false
		}
		fmt.Fprintf(s.out, "  SKIP %s %s (%s): %s\n", k.pkg, k.test, mark, k.reason)
	}
	if !s.failed && !ok {
		fmt.Fprintln(s.out, "a skipped test proves nothing: give it what it needs on this machine, or list it with the reason in tools/testsummary/allowed-skips.txt")
	}
	return ok
}
