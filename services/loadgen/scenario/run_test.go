package scenario_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/goshop-platform/shop/services/loadgen/scenario"
)

// limitsOff lets a test register, log in and order as much as it needs.
var limitsOff = []string{"API_RATE_LIMIT_REGISTER_PER_IP=10000", "API_RATE_LIMIT_LOGIN_PER_IP=10000",
	"API_RATE_LIMIT_LOGIN_PER_ACCOUNT=10000", "API_RATE_LIMIT_ORDERS_PER_USER=1000000", "API_ORDERS_MAX_LIVE_STREAMS_PER_USER=1000"}

func table(s *scenario.Summary) string {
	var b bytes.Buffer
	_ = s.WriteTable(&b)
	return b.String()
}

// Open-model runs against a real api and order-worker: every request gets
// its expected answer, every order the api accepted is in Postgres, and
// every decided order has an end-to-end latency — by polling, over the
// live stream, and in a closed model.
func TestRunsAgainstARealStack(t *testing.T) {
	s := newStack(t, true, limitsOff...)
	hot := s.product(t, "HOT-1", 15) // runs out during the run: some orders fail
	products := []int64{hot}
	for _, sku := range []string{"A-1", "B-1", "C-1", "D-1"} {
		products = append(products, s.product(t, sku, 100000))
	}
	base := func() scenario.Config {
		cfg := scenario.Defaults()
		cfg.APIURL, cfg.DirectusURL = s.api, ""
		cfg.Rate, cfg.Duration, cfg.Drain = vegeta.Rate{Freq: 50, Per: time.Second}, 2*time.Second, 30*time.Second
		cfg.Customers, cfg.HotFraction, cfg.PollInterval = 5, 0.5, 20*time.Millisecond
		return cfg
	}
	orders := func() (all, confirmed, failed int) {
		return s.count(t, `SELECT count(*) FROM orders`), s.count(t, `SELECT count(*) FROM orders WHERE status = 'confirmed'`),
			s.count(t, `SELECT count(*) FROM orders WHERE status = 'failed'`)
	}

	t.Run("open model, polling", func(t *testing.T) {
		cfg := base()
		cfg.Mix = scenario.Mix{{Kind: scenario.Checkout, Weight: 70}, {Kind: scenario.Status, Weight: 20}, {Kind: scenario.Login, Weight: 10}}
		var progress bytes.Buffer
		cfg.Progress = &progress
		sum := run(t, cfg)
		e := sum.EndToEnd
		all, confirmed, failed := orders()
		checkouts := sum.Kind(scenario.Checkout).Count
		if checkouts == 0 || e.Accepted != checkouts || all != checkouts || e.Unresolved != 0 {
			t.Fatalf("%d checkouts, %d accepted, %d unresolved, %d orders in Postgres\n%s", checkouts, e.Accepted, e.Unresolved, all, table(sum))
		}
		if e.Confirmed != confirmed || e.Failed != failed || e.Samples != confirmed+failed || failed == 0 ||
			e.Reasons["insufficient_stock"] != failed {
			t.Fatalf("seen %d confirmed %d failed %v (%d samples); Postgres has %d confirmed %d failed\n%s",
				e.Confirmed, e.Failed, e.Reasons, e.Samples, confirmed, failed, table(sum))
		}
		if l := e.Latency; l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.Max {
			t.Fatalf("end-to-end percentiles out of order: %+v", l)
		}
		if sum.Kind(scenario.Poll).Count < e.Accepted || sum.Kind(scenario.Login).Count == 0 || sum.Kind(scenario.Status).Count == 0 {
			t.Fatalf("followers or mix kinds missing:\n%s", table(sum))
		}
		if n := s.count(t, `SELECT count(DISTINCT order_id) FROM order_items WHERE product_id = $1`, hot); n == 0 {
			t.Fatal("no confirmed order has the hot product")
		}
		if !strings.Contains(progress.String(), "req/s") {
			t.Fatalf("no progress line written: %q", progress.String())
		}
	})

	t.Run("open model, live status", func(t *testing.T) {
		before, _, _ := orders()
		cfg := base()
		cfg.Mix, cfg.Follow, cfg.Duration = scenario.Mix{{Kind: scenario.Checkout, Weight: 1}}, scenario.FollowLive, time.Second
		sum := run(t, cfg)
		e := sum.EndToEnd
		after, _, _ := orders()
		if e.Accepted == 0 || after-before != e.Accepted || e.Unresolved != 0 || e.Samples != e.Accepted ||
			sum.Kind(scenario.Live).Count != e.Accepted {
			t.Fatalf("%d new orders in Postgres\n%s", after-before, table(sum))
		}
	})

	t.Run("closed model", func(t *testing.T) {
		cfg := base()
		cfg.Users, cfg.Think, cfg.Duration, cfg.Follow = 3, 100*time.Millisecond, time.Second, scenario.FollowNone
		cfg.Mix = scenario.Mix{{Kind: scenario.Checkout, Weight: 1}, {Kind: scenario.Status, Weight: 1}}
		sum := run(t, cfg)
		n := sum.Kind(scenario.Checkout).Count + sum.Kind(scenario.Status).Count
		// Each user waits at least think/2 between requests: at most
		// 1s/50ms + 1 = 21 requests per user, whatever the machine's speed.
		if n == 0 || n > 3*21 || sum.EndToEnd != nil {
			t.Fatalf("%d requests from 3 users thinking 100ms for 1s\n%s", n, table(sum))
		}
	})
}

func run(t *testing.T, cfg scenario.Config) *scenario.Summary {
	t.Helper()
	sum, err := scenario.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table(sum))
	// Any error fails: an order lookup once answered 404 while order-worker
	// decided the order in the middle of it (api Reader.Get, now re-reading
	// Postgres after a Redis miss); these runs caught it.
	if sum.Errors() != 0 {
		t.Fatalf("%d requests failed\n%s", sum.Errors(), table(sum))
	}
	return sum
}

// The api's register limit stops the setup with a message naming the
// setting that raises it.
func TestRegisterLimitNamesTheSetting(t *testing.T) {
	s := newStack(t, false, "API_RATE_LIMIT_REGISTER_PER_IP=2")
	s.product(t, "ONLY-1", 10)
	cfg := scenario.Defaults()
	cfg.APIURL, cfg.Customers, cfg.Mix = s.api, 3, scenario.Mix{{Kind: scenario.Checkout, Weight: 1}}
	_, err := scenario.Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "register customer 3 of 3: 429") ||
		!strings.Contains(err.Error(), "API_RATE_LIMIT_REGISTER_PER_IP") || !strings.Contains(err.Error(), "--users-file") {
		t.Fatalf("err = %v", err)
	}
}
