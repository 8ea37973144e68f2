package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

const replicaTimeout = 200 * time.Millisecond

// durableSpec configures an api on primary with the given durability.
func durableSpec(t *testing.T, primary *testenv.RedisServer, mode string) (apiconfig.Spec, string) {
	t.Helper()
	spec, keys := testSpec(t, schematest.MigratedDatabase(t), primary.URL())
	spec.Orders.Durability, spec.Orders.ReplicaTimeout, spec.Orders.MinReplicas = mode, replicaTimeout, 1
	return spec, keys
}

// replicaOrders lists the order ids in the replica's copy of the stream.
func replicaOrders(t *testing.T, replica *testenv.RedisReplica) []string {
	t.Helper()
	opts, err := redis.ParseURL(replica.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	msgs, err := c.XRange(context.Background(), orderstream.Stream, "-", "+").Result()
	if err != nil {
		t.Fatalf("read the stream on the replica: %v", err)
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i], _ = m.Values["order_id"].(string)
	}
	return ids
}

func placeKeyed(e *env, tok, key string) resp {
	e.t.Helper()
	r := req{method: "POST", path: "/api/v1/orders", token: tok, body: orderBody([2]int{1, 1})}
	if key != "" {
		r.headers = map[string]string{"Idempotency-Key": key}
	}
	return e.do(r)
}

// expectNotDurable checks a refusal for want of replica acknowledgement:
// 503 with Retry-After, answered after about the replica timeout: at least
// one, at most two (the first order after a Redis start waits once for the
// script's digest and once for its source) plus slack for a busy machine.
func expectNotDurable(t *testing.T, place func() resp) {
	t.Helper()
	began := time.Now()
	r := expect(t, place(), 503)
	if took := time.Since(began); took < replicaTimeout || took > 2*replicaTimeout+2*time.Second {
		t.Fatalf("503 after %s, want about the replica timeout %s", took, replicaTimeout)
	}
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("503 with Retry-After %q", ra)
	}
	if p := r.problem(t); p.Type != "/problems/not-durable" || !strings.Contains(p.Detail, "Idempotency-Key") {
		t.Fatalf("problem %+v", p)
	}
}

// With durability replica, every 202 is for an order the replica already
// holds: the stream read on the replica right after the answers has them all.
func TestDurabilityReplicaAcceptsWhatTheReplicaHas(t *testing.T) {
	primary := testenv.NewRedisServer(t)
	replica := testenv.NewRedisReplica(t, primary)
	spec, keys := durableSpec(t, primary, apiconfig.DurabilityReplica)
	e := startEnv(t, spec, keys)
	tok, _ := e.customer("durable@example.com")
	var want []string
	for i, key := range []string{"", "k1", "", "k2"} {
		if i == 2 {
			// As after a Redis restart: the script must be sent again (NOSCRIPT).
			if err := e.rdb.ScriptFlush(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
		}
		var a accepted
		expect(t, placeKeyed(e, tok, key), 202).json(t, &a)
		want = append(want, a.ID)
	}
	var again accepted
	expect(t, placeKeyed(e, tok, "k1"), 202).json(t, &again)
	if again.ID != want[1] {
		t.Fatalf("replay gave order %s, want %s", again.ID, want[1])
	}
	if got := replicaOrders(t, replica); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("replica's stream holds %v, want %v", got, want)
	}
}

// With the replica gone, intake answers 503 + Retry-After after the
// replica timeout, never 202; once the replica is back, the retry with the
// same Idempotency-Key gets 202 for the one order the first attempt wrote.
func TestDurabilityReplicaStoppedRefusesThenRetryGivesTheSameOrder(t *testing.T) {
	primary := testenv.NewRedisServer(t)
	replica := testenv.NewRedisReplica(t, primary)
	spec, keys := durableSpec(t, primary, apiconfig.DurabilityReplica)
	e := startEnv(t, spec, keys)
	tok, _ := e.customer("outage@example.com")

	replica.Stop(t)
	expectNotDurable(t, func() resp { return placeKeyed(e, tok, "during-outage") })
	expectNotDurable(t, func() resp { return placeKeyed(e, tok, "during-outage") }) // a replay waits too
	if m := e.metrics(); !strings.Contains(m, `shop_orders_intake_rejected_total{reason="not_durable"} 2`) {
		t.Fatalf("/metrics does not count the refusals:\n%s", grepLines(m, "shop_orders_intake_rejected_total"))
	}

	replica.Start(t)
	var a, b accepted
	r := expect(t, placeKeyed(e, tok, "during-outage"), 202)
	r.json(t, &a)
	if r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("the retry made a new order instead of answering the one the refused attempt wrote")
	}
	expect(t, placeKeyed(e, tok, "during-outage"), 202).json(t, &b)
	if b.ID != a.ID {
		t.Fatalf("retries gave orders %s and %s", a.ID, b.ID)
	}
	// The refused attempt's entry is the order: one entry, on the replica too.
	if got := replicaOrders(t, replica); len(got) != 1 || got[0] != a.ID {
		t.Fatalf("replica's stream holds %v, want exactly [%s]", got, a.ID)
	}
	if got := e.streamEntries(); len(got) != 1 {
		t.Fatalf("primary's stream holds %d entries, want 1", len(got))
	}
}

// A replica that is connected but lags (paused) must not let a replay on
// another api replica answer 202 for an order it does not hold, although
// that api's connection never wrote the order (see order.runDurably).
func TestDurabilityReplicaReplayWaitsForALaggingReplica(t *testing.T) {
	primary := testenv.NewRedisServer(t)
	replica := testenv.NewRedisReplica(t, primary)
	spec, keys := durableSpec(t, primary, apiconfig.DurabilityReplica)
	first := startEnv(t, spec, keys)
	tok, _ := first.customer("lag@example.com")

	replica.Pause(t)
	expectNotDurable(t, func() resp { return placeKeyed(first, tok, "while-lagging") })
	second := startEnv(t, spec, keys)
	expectNotDurable(t, func() resp { return placeKeyed(second, tok, "while-lagging") })

	replica.Resume(t)
	var a accepted
	expect(t, placeKeyed(second, tok, "while-lagging"), 202).json(t, &a)
	if got := replicaOrders(t, replica); len(got) != 1 || got[0] != a.ID {
		t.Fatalf("replica's stream holds %v, want exactly [%s]", got, a.ID)
	}
}

// With durability none nothing waits for replicas: intake answers 202 with
// the replica stopped, as before the setting existed.
func TestDurabilityNoneIgnoresReplicas(t *testing.T) {
	primary := testenv.NewRedisServer(t)
	replica := testenv.NewRedisReplica(t, primary)
	spec, keys := durableSpec(t, primary, apiconfig.DurabilityNone)
	e := startEnv(t, spec, keys)
	tok, _ := e.customer("fast@example.com")
	replica.Stop(t)
	expect(t, placeKeyed(e, tok, ""), 202)
	expect(t, placeKeyed(e, tok, "k"), 202)
	expect(t, placeKeyed(e, tok, "k"), 202)
	if got := e.streamEntries(); len(got) != 2 {
		t.Fatalf("stream holds %d entries, want 2", len(got))
	}
}
