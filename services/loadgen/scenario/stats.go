package scenario

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// expected is the status code that counts as success for each kind;
// anything else is an error, counted by code.
var expected = map[Kind]int{Browse: 200, Login: 200, Checkout: 202, Status: 200, Poll: 200, Live: 200}

// allKinds is the summary order.
var allKinds = []Kind{Browse, Login, Checkout, Status, Poll, Live}

// maxSamples is how many distinct transport error messages a kind keeps.
const maxSamples = 3

// recorder collects results from the result loop and the followers.
type recorder struct {
	mu    sync.Mutex
	kinds map[Kind]*kindStats
	e2e   e2eStats

	requests, errors atomic.Int64 // for the progress line
	accepted, final  atomic.Int64
}

type kindStats struct {
	lat     vegeta.LatencyMetrics
	count   int
	byCode  map[string]int
	samples []string
}

type e2eStats struct {
	lat               vegeta.LatencyMetrics
	confirmed, failed int
	reasons           map[string]int
	observations      int
}

func newRecorder() *recorder {
	return &recorder{kinds: map[Kind]*kindStats{}, e2e: e2eStats{reasons: map[string]int{}}}
}

// add records one request of kind k that got code (0: no answer, err says why).
func (r *recorder) add(k Kind, code int, latency time.Duration, errText string) {
	r.requests.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.kinds[k]
	if s == nil {
		s = &kindStats{byCode: map[string]int{}}
		r.kinds[k] = s
	}
	s.count++
	s.lat.Add(latency)
	if code == expected[k] {
		return
	}
	r.errors.Add(1)
	key := strconv.Itoa(code)
	if code == 0 {
		key = "transport"
		if len(s.samples) < maxSamples && !slices.Contains(s.samples, errText) {
			s.samples = append(s.samples, errText)
		}
	}
	s.byCode[key]++
}

// decided records that a followed order reached its final status e2e
// after its 202.
func (r *recorder) decided(status, reason string, e2e time.Duration) {
	r.final.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.e2e.lat.Add(e2e)
	r.e2e.observations++
	if status == "confirmed" {
		r.e2e.confirmed++
		return
	}
	r.e2e.failed++
	r.e2e.reasons[reason]++
}

// Summary is the outcome of a run, per request kind and end to end.
type Summary struct {
	Model    string        `json:"model"` // "open 200/1s" or "closed 50 users, think 1s"
	Mix      string        `json:"mix"`
	Follow   Follow        `json:"follow"`
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"duration_seconds"`
	Kinds    []KindSummary `json:"kinds"`
	EndToEnd *EndToEnd     `json:"end_to_end,omitempty"` // nil when orders were not followed
}

// KindSummary is one row of the summary table.
type KindSummary struct {
	Kind       Kind           `json:"kind"`
	Count      int            `json:"count"`
	Errors     int            `json:"errors"`
	Throughput float64        `json:"throughput_per_second"` // successful requests per second of the run
	Latency    Latency        `json:"latency"`
	ByStatus   map[string]int `json:"errors_by_status,omitempty"` // status code (or "transport") → count
	Samples    []string       `json:"transport_errors,omitempty"`
}

// Latency holds percentiles of one distribution.
type Latency struct {
	P50 time.Duration `json:"-"`
	P90 time.Duration `json:"-"`
	P99 time.Duration `json:"-"`
	Max time.Duration `json:"-"`
	// Milliseconds, for the JSON report.
	P50ms float64 `json:"p50_ms"`
	P90ms float64 `json:"p90_ms"`
	P99ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// EndToEnd is the time from an order's 202 to the moment its final status
// (confirmed or failed) was seen, over the followed orders.
type EndToEnd struct {
	Accepted   int            `json:"accepted"`  // orders answered 202 (each one followed)
	Confirmed  int            `json:"confirmed"` // seen confirmed
	Failed     int            `json:"failed"`    // seen failed
	Reasons    map[string]int `json:"failed_reasons,omitempty"`
	Unresolved int            `json:"unresolved"` // still pending when the drain time ran out
	Samples    int            `json:"samples"`    // latencies recorded (= confirmed + failed)
	Latency    Latency        `json:"latency"`
}

// Errors is the number of requests of every kind that did not get their
// expected status.
func (s *Summary) Errors() (n int) {
	for _, k := range s.Kinds {
		n += k.Errors
	}
	return n
}

// Kind returns the row for k (zero when no request of k was made).
func (s *Summary) Kind(k Kind) KindSummary {
	for _, ks := range s.Kinds {
		if ks.Kind == k {
			return ks
		}
	}
	return KindSummary{Kind: k}
}

func (r *recorder) summary(elapsed time.Duration, follow Follow) *Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &Summary{Duration: elapsed, Seconds: elapsed.Seconds(), Follow: follow}
	for _, k := range allKinds {
		ks := r.kinds[k]
		if ks == nil {
			continue
		}
		errs := 0
		for _, n := range ks.byCode {
			errs += n
		}
		s.Kinds = append(s.Kinds, KindSummary{Kind: k, Count: ks.count, Errors: errs,
			Throughput: float64(ks.count-errs) / elapsed.Seconds(), Latency: latency(ks.lat),
			ByStatus: ks.byCode, Samples: ks.samples})
	}
	if follow != FollowNone {
		accepted := int(r.accepted.Load())
		s.EndToEnd = &EndToEnd{Accepted: accepted, Confirmed: r.e2e.confirmed, Failed: r.e2e.failed,
			Reasons: r.e2e.reasons, Unresolved: accepted - r.e2e.confirmed - r.e2e.failed,
			Samples: r.e2e.observations, Latency: latency(r.e2e.lat)}
	}
	return s
}

func latency(l vegeta.LatencyMetrics) Latency {
	out := Latency{Max: l.Max}
	if l.Total > 0 || l.Max > 0 {
		out.P50, out.P90, out.P99 = l.Quantile(0.5), l.Quantile(0.9), l.Quantile(0.99)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	out.P50ms, out.P90ms, out.P99ms, out.MaxMs = ms(out.P50), ms(out.P90), ms(out.P99), ms(out.Max)
	return out
}
