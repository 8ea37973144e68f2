// Package benchreport collects the figures of `make bench` from the
// benchmarks of every service into one JSON-lines file (named by the
// BENCH_REPORT environment variable) that the table command turns into the
// printed table and the JSON report. Benchmarks record rows; they never
// assert times.
package benchreport

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Row is one measured figure, optionally next to the machine's baseline for
// the same work and the design target it is held against.
type Row struct {
	Section  string  `json:"section"`            // intake, worker, end-to-end, drain, catalog, footprint
	Name     string  `json:"name"`               // what was measured, e.g. "max throughput"
	Value    float64 `json:"value"`              // the figure
	Unit     string  `json:"unit"`               // req/s, ms, MB, s ...
	Baseline float64 `json:"baseline,omitempty"` // the physical limit measured in the same run
	Against  string  `json:"against,omitempty"`  // what the baseline is, e.g. "bare XADD handler"
	// Target is the design target, e.g. ">= 0.7" (of the ratio when a
	// baseline is given, else of the value) or "<= 5".
	Target string `json:"target,omitempty"`
}

// Ratio is Value/Baseline, or 0 without a baseline.
func (r Row) Ratio() float64 {
	if r.Baseline == 0 {
		return 0
	}
	return r.Value / r.Baseline
}

// Met says whether the target holds; ok is false when there is no target
// or it cannot be read.
func (r Row) Met() (met, ok bool) {
	op, num, found := strings.Cut(strings.TrimSpace(r.Target), " ")
	if !found {
		return false, false
	}
	want, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return false, false
	}
	got := r.Value
	if r.Baseline != 0 {
		got = r.Ratio()
	}
	switch op {
	case ">=":
		return got >= want, true
	case "<=":
		return got <= want, true
	}
	return false, false
}

var mu sync.Mutex

// Record prints the row and appends it to $BENCH_REPORT when that is set.
func Record(r Row) error {
	line := fmt.Sprintf("bench %-10s %-44s %10.2f %s", r.Section, r.Name, r.Value, r.Unit)
	if r.Baseline != 0 {
		line += fmt.Sprintf("   vs %s %.2f → ratio %.2f", r.Against, r.Baseline, r.Ratio())
	}
	fmt.Println(line)
	path := os.Getenv("BENCH_REPORT")
	if path == "" {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open bench report %s: %w", path, err)
	}
	defer f.Close()
	_, err = f.Write(append(b, '\n'))
	return err
}

// Smoke reports whether BENCH_SMOKE asks for the short run that only keeps
// the harness working (make bench-smoke): benchmarks shrink their sizes.
func Smoke() bool { return os.Getenv("BENCH_SMOKE") != "" }

// Pick returns full, or smoke in a smoke run.
func Pick[T any](full, smoke T) T {
	if Smoke() {
		return smoke
	}
	return full
}

// RSS returns the resident set size of process pid in MB (Linux): private
// memory plus the pages of the binary it has mapped (shared, clean page
// cache, so a 40 MB Go binary adds up to ~20 MB that a second replica on
// the same node shares).
func RSS(pid int) (float64, error) { return status(pid, "VmRSS:") }

// Anon returns the private (anonymous) resident memory of pid in MB: heap,
// stacks and runtime, without the mapped binary.
func Anon(pid int) (float64, error) { return status(pid, "RssAnon:") }

func status(pid int, field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, field); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// FileMB is the size of a file in MB.
func FileMB(path string) (float64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return float64(st.Size()) / (1 << 20), nil
}

// WaitReady polls url every 2 ms until it answers 200 and returns how long
// that took; start-to-ready figures use it right after starting a process.
func WaitReady(url string, timeout time.Duration) (time.Duration, error) {
	began := time.Now()
	client := &http.Client{Timeout: time.Second}
	for time.Since(began) < timeout {
		if r, err := client.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return time.Since(began), nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s not ready after %s", url, timeout)
}
