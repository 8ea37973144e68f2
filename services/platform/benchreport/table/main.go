// Command table reads the rows `make bench` recorded (JSON lines) and prints
// one table with ratios against the baselines and the design targets, then
// writes the whole report as one JSON document.
//
//	go run ./services/platform/benchreport/table rows.jsonl report.json
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/goshop-platform/shop/services/platform/benchreport"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: table ROWS.jsonl REPORT.json (run by make bench)")
		os.Exit(2)
	}
	rows, err := read(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "read bench rows: %v (run the benchmarks with BENCH_REPORT set first: make bench)\n", err)
		os.Exit(1)
	}
	print(os.Stdout, rows)
	if err := write(os.Args[2], rows); err != nil {
		fmt.Fprintf(os.Stderr, "write report: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("\nJSON report: %s\n", os.Args[2])
}

func read(path string) ([]benchreport.Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []benchreport.Row
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		var r benchreport.Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 && sc.Err() == nil {
		return nil, fmt.Errorf("%s holds no rows", path)
	}
	return rows, sc.Err()
}

func print(w io.Writer, rows []benchreport.Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SECTION\tMEASUREMENT\tVALUE\tBASELINE (same run)\tRATIO\tTARGET\tMET")
	for _, r := range rows {
		base, ratio := "", ""
		if r.Baseline != 0 {
			base = fmt.Sprintf("%.2f %s (%s)", r.Baseline, r.Unit, r.Against)
			ratio = fmt.Sprintf("%.2f", r.Ratio())
		}
		met := ""
		if m, ok := r.Met(); ok {
			met = map[bool]string{true: "yes", false: "NO"}[m]
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f %s\t%s\t%s\t%s\t%s\n", r.Section, r.Name, r.Value, r.Unit, base, ratio, r.Target, met)
	}
	tw.Flush()
}

type report struct {
	Time time.Time      `json:"time"`
	Host map[string]any `json:"host"`
	Rows []reportRow    `json:"rows"`
}

type reportRow struct {
	benchreport.Row
	Ratio float64 `json:"ratio,omitempty"`
	Met   *bool   `json:"met,omitempty"`
}

func write(path string, rows []benchreport.Row) error {
	host, _ := os.Hostname()
	rep := report{Time: time.Now().UTC(), Host: map[string]any{"name": host, "cpus": runtime.NumCPU(), "go": runtime.Version()}}
	for _, r := range rows {
		rr := reportRow{Row: r, Ratio: r.Ratio()}
		if m, ok := r.Met(); ok {
			rr.Met = &m
		}
		rep.Rows = append(rep.Rows, rr)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
