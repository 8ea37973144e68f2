// Package scenario generates realistic shop traffic against a running stack
// and summarises it: customers browsing the public catalogue in Directus,
// logging in, checking out (1–5 lines, a hot SKU taking a share of the
// lines, an Idempotency-Key on each) and looking at their orders, in an
// open model (fixed arrival rate) or a closed model (N users with think
// time). Each accepted order can be followed to its final status by polling
// or over the live status stream, which yields the "end to end" latency
// (202 → confirmed/failed) the benchmarks report. The loadgen command is a
// thin wrapper around Run; benchmarks call Run directly.
package scenario

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Kind names a kind of request in the mix and in the summary.
type Kind string

// The kinds a mix can contain, and the ones a follower sends.
const (
	Browse   Kind = "browse"   // GET Directus /items/products (public catalogue page)
	Login    Kind = "login"    // POST /api/v1/auth/login
	Checkout Kind = "checkout" // POST /api/v1/orders
	Status   Kind = "status"   // GET /api/v1/orders/{id} of one of the customer's orders
	Poll     Kind = "poll"     // follower: GET /api/v1/orders/{id} until final
	Live     Kind = "live"     // follower: GET /api/v1/orders/{id}/events (SSE)
)

// MixKinds are the kinds a mix may weight, in summary order.
var MixKinds = []Kind{Browse, Login, Checkout, Status}

// Follow is how accepted orders are followed to their final status.
type Follow string

// The follow modes.
const (
	FollowNone Follow = "none"
	FollowPoll Follow = "poll"
	FollowLive Follow = "live"
)

// Account is a customer's credentials.
type Account struct{ Email, Password string }

// Config describes one run. Zero values take the defaults of Defaults.
type Config struct {
	APIURL      string // api base URL, no trailing slash
	DirectusURL string // Directus base URL (browse); empty when the mix has no browse

	Rate     vegeta.Rate   // open model: arrivals per Per (used when Users == 0)
	Users    int           // closed model: this many users, each waiting for its answer
	Think    time.Duration // closed model: mean think time between a user's requests
	Duration time.Duration
	Mix      Mix

	Follow       Follow
	PollInterval time.Duration // FollowPoll: time between polls of one order
	Drain        time.Duration // after the attack, wait this long for followed orders

	Accounts  []Account // existing customers to log in
	Customers int       // new customers to register at start

	Products    []int64 // catalogue to order from; empty = every active product of the api
	HotProduct  int64   // 0 = the first product
	HotFraction float64 // share of order lines that hit the hot product
	MaxLines    int     // lines per order are 1..MaxLines
	BrowseLimit int     // products per catalogue page

	Timeout    time.Duration // per request
	Workers    uint64        // open model: initial workers
	MaxWorkers uint64        // open model: worker cap (requests in flight)

	Progress io.Writer // one line a second while running; nil = quiet
}

// Defaults are the values used for zero fields.
func Defaults() Config {
	return Config{
		APIURL: "http://127.0.0.1:8080", DirectusURL: "http://127.0.0.1:8055",
		Rate: vegeta.Rate{Freq: 50, Per: time.Second}, Think: time.Second, Duration: 30 * time.Second,
		Mix:    Mix{{Browse, 60}, {Checkout, 25}, {Status, 10}, {Login, 5}},
		Follow: FollowPoll, PollInterval: 50 * time.Millisecond, Drain: 30 * time.Second,
		HotFraction: 0.2, MaxLines: 5, BrowseLimit: 20,
		Timeout: 10 * time.Second, Workers: 16, MaxWorkers: 1024,
	}
}

// Validate reports the first problem with c, naming the setting.
func (c Config) Validate() error {
	switch {
	case c.APIURL == "":
		return errors.New("the api URL is empty")
	case c.Mix.weight(Browse) > 0 && c.DirectusURL == "":
		return errors.New("the mix has browse but no Directus URL is set")
	case c.Users < 0:
		return errors.New("users must be ≥ 0")
	case c.Users == 0 && (c.Rate.Freq <= 0 || c.Rate.Per <= 0):
		return errors.New("the rate must be positive (or use the closed model with users > 0)")
	case c.Duration <= 0:
		return errors.New("duration must be positive")
	case c.HotFraction < 0 || c.HotFraction > 1:
		return fmt.Errorf("hot fraction %v is not between 0 and 1", c.HotFraction)
	case c.MaxLines < 1 || c.MaxLines > 100:
		return fmt.Errorf("max lines %d is not between 1 and 100", c.MaxLines)
	case c.BrowseLimit < 1:
		return errors.New("browse limit must be ≥ 1")
	case c.Follow != FollowNone && c.Follow != FollowPoll && c.Follow != FollowLive:
		return fmt.Errorf("unknown follow mode %q (want none, poll or live)", c.Follow)
	case c.Follow == FollowPoll && c.PollInterval <= 0:
		return errors.New("poll interval must be positive")
	case c.Customers < 0:
		return errors.New("customers must be ≥ 0")
	case c.needsCustomers() && c.Customers == 0 && len(c.Accounts) == 0:
		return errors.New("the mix needs customers: register some or give existing accounts")
	}
	return c.Mix.validate()
}

func (c Config) needsCustomers() bool {
	return c.Mix.weight(Login)+c.Mix.weight(Checkout)+c.Mix.weight(Status) > 0
}

// WeightedKind is one entry of a mix.
type WeightedKind struct {
	Kind   Kind
	Weight int
}

// Mix is the weighted choice of request kinds, e.g. browse=60,checkout=25.
type Mix []WeightedKind

// ParseMix reads "kind=weight,..." with the kinds of MixKinds.
func ParseMix(s string) (Mix, error) {
	var m Mix
	for part := range strings.SplitSeq(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("mix entry %q is not kind=weight", part)
		}
		k := Kind(strings.TrimSpace(name))
		if !known(k) {
			return nil, fmt.Errorf("unknown request kind %q in the mix (known: %s)", k, kindList())
		}
		weight, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || weight < 0 {
			return nil, fmt.Errorf("weight %q of %s is not a whole number ≥ 0", w, k)
		}
		if m.has(k) {
			return nil, fmt.Errorf("request kind %s appears twice in the mix", k)
		}
		m = append(m, WeightedKind{k, weight})
	}
	return m, m.validate()
}

func (m Mix) validate() error {
	if m.total() == 0 {
		return errors.New("the mix has no kind with a weight above 0")
	}
	return nil
}

// String is the mix in ParseMix syntax.
func (m Mix) String() string {
	parts := make([]string, len(m))
	for i, w := range m {
		parts[i] = fmt.Sprintf("%s=%d", w.Kind, w.Weight)
	}
	return strings.Join(parts, ",")
}

func (m Mix) total() (n int) {
	for _, w := range m {
		n += w.Weight
	}
	return n
}

func (m Mix) has(k Kind) bool {
	for _, w := range m {
		if w.Kind == k {
			return true
		}
	}
	return false
}

func (m Mix) weight(k Kind) int {
	for _, w := range m {
		if w.Kind == k {
			return w.Weight
		}
	}
	return 0
}

// pick maps n in [0, total) to a kind.
func (m Mix) pick(n int) Kind {
	for _, w := range m {
		if n < w.Weight {
			return w.Kind
		}
		n -= w.Weight
	}
	return m[len(m)-1].Kind
}

func known(k Kind) bool {
	for _, mk := range MixKinds {
		if k == mk {
			return true
		}
	}
	return false
}

func kindList() string {
	s := make([]string, len(MixKinds))
	for i, k := range MixKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// ParseRate reads an arrival rate: "200/s", "3000/1m", "50/100ms" or "200"
// (per second).
func ParseRate(s string) (vegeta.Rate, error) {
	bad := fmt.Errorf("invalid rate %q: want N/s, N/1m, N/100ms or N (per second) with N > 0", s)
	n, per, hasPer := strings.Cut(strings.TrimSpace(s), "/")
	freq, err := strconv.Atoi(n)
	if err != nil || freq <= 0 {
		return vegeta.Rate{}, bad
	}
	r := vegeta.Rate{Freq: freq, Per: time.Second}
	if !hasPer {
		return r, nil
	}
	if per != "" && (per[0] < '0' || per[0] > '9') {
		per = "1" + per // "s" → "1s"
	}
	if r.Per, err = time.ParseDuration(per); err != nil || r.Per <= 0 {
		return vegeta.Rate{}, bad
	}
	return r, nil
}
