package scenario

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable prints the summary as a table, one row per request kind, then
// the end-to-end line and hints for the rate limits the run ran into.
func (s *Summary) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "model %s · mix %s · %.1fs · follow %s\n", s.Model, s.Mix, s.Seconds, s.Follow)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tcount\tok/s\terrors\tp50\tp90\tp99\tmax\t  errors by status\t")
	for _, k := range s.Kinds {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%d\t%s\t%s\t%s\t%s\t  %s\t\n", k.Kind, k.Count, k.Throughput, k.Errors,
			dur(k.Latency.P50), dur(k.Latency.P90), dur(k.Latency.P99), dur(k.Latency.Max), byStatus(k.ByStatus))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, k := range s.Kinds {
		for _, e := range k.Samples {
			fmt.Fprintf(w, "%s transport error: %s\n", k.Kind, e)
		}
	}
	if e := s.EndToEnd; e != nil {
		fmt.Fprintf(w, "end to end (202 → final status seen, %s): accepted %d  confirmed %d  failed %d%s  unresolved %d\n",
			s.Follow, e.Accepted, e.Confirmed, e.Failed, reasons(e.Reasons), e.Unresolved)
		if e.Samples > 0 {
			fmt.Fprintf(w, "  p50 %s  p90 %s  p99 %s  max %s over %d orders\n",
				dur(e.Latency.P50), dur(e.Latency.P90), dur(e.Latency.P99), dur(e.Latency.Max), e.Samples)
		}
	}
	for _, h := range s.Hints() {
		fmt.Fprintln(w, "hint:", h)
	}
	return nil
}

// Hints name the api setting behind each kind of 429 the run got.
func (s *Summary) Hints() []string {
	var out []string
	hint := map[Kind]string{
		Checkout: "checkouts got 429: the api allows API_RATE_LIMIT_ORDERS_PER_USER orders per user and window (default 60/min); raise it or use more customers",
		Login:    "logins got 429: raise API_RATE_LIMIT_LOGIN_PER_IP and API_RATE_LIMIT_LOGIN_PER_ACCOUNT on the api, or lower the login weight",
		Live:     "live streams got 429: raise API_ORDERS_MAX_LIVE_STREAMS_PER_USER on the api or use more customers",
	}
	for _, k := range s.Kinds {
		if h, ok := hint[k.Kind]; ok && k.ByStatus["429"] > 0 {
			out = append(out, h)
		}
	}
	return out
}

// WriteJSONFile writes the summary as indented JSON to path.
func (s *Summary) WriteJSONFile(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func dur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func byStatus(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	return joinCounts(m, "%s×%d", " ")
}

func reasons(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	return " (" + joinCounts(m, "%s %d", ", ") + ")"
}

// joinCounts formats each key and its count with format, in key order.
func joinCounts(m map[string]int, format, sep string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf(format, k, m[k]))
	}
	return strings.Join(parts, sep)
}
