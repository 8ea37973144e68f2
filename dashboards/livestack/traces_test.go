package livestack_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

type jaegerTrace struct {
	TraceID string `json:"traceID"`
	Spans   []struct {
		OperationName string `json:"operationName"`
		ProcessID     string `json:"processID"`
		Tags          []struct {
			Key   string `json:"key"`
			Value any    `json:"value"`
		} `json:"tags"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

func (tr jaegerTrace) services() []string {
	var out []string
	for _, p := range tr.Processes {
		if !slices.Contains(out, p.ServiceName) {
			out = append(out, p.ServiceName)
		}
	}
	sort.Strings(out)
	return out
}

// summary lists "service: operation" of every span, for failure messages.
func (tr jaegerTrace) summary() string {
	var lines []string
	for _, sp := range tr.Spans {
		lines = append(lines, tr.Processes[sp.ProcessID].ServiceName+": "+sp.OperationName)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n  ")
}

func (tr jaegerTrace) tag(spanIndex int, keys ...string) string {
	for _, tg := range tr.Spans[spanIndex].Tags {
		if slices.Contains(keys, tg.Key) {
			return fmt.Sprint(tg.Value)
		}
	}
	return ""
}

// awaitTrace polls GET /api/traces/{id} until done(trace) holds or 20 s
// pass (spans arrive in batches from three processes); it returns the last
// trace seen and whether done held.
func awaitTrace(t *testing.T, s *stack, id string, done func(jaegerTrace) bool) (jaegerTrace, bool) {
	t.Helper()
	var last jaegerTrace
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.jaeger.QueryURL + "/api/traces/" + url.PathEscape(id))
		if err == nil {
			var body struct {
				Data []jaegerTrace `json:"data"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if len(body.Data) == 1 {
				last = body.Data[0]
				if done(last) {
					return last, true
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return last, false
}

func hasServices(want ...string) func(jaegerTrace) bool {
	return func(tr jaegerTrace) bool {
		for _, w := range want {
			if !slices.Contains(tr.services(), w) {
				return false
			}
		}
		return true
	}
}

// One trace, started by the order request (the test's traceparent), holds
// the api's intake span and order-worker's processing span: the context
// crossed the Redis stream inside the message.
func checkOrderTrace(t *testing.T, s *stack, id string) {
	tr, ok := awaitTrace(t, s, id, hasServices("api", "order-worker"))
	if !ok {
		t.Fatalf("trace %s has services %v, want api and order-worker; spans:\n  %s", id, tr.services(), tr.summary())
	}
	t.Logf("order trace %s: %d spans from %v", id, len(tr.Spans), tr.services())
}

// The order trace also shows the Postgres and Redis calls as client spans
// (pgx and go-redis instrumentation).
func checkClientSpans(t *testing.T, s *stack, id string) {
	systems := func(tr jaegerTrace) []string {
		var out []string
		for i := range tr.Spans {
			if v := tr.tag(i, "db.system", "db.system.name"); v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	tr, ok := awaitTrace(t, s, id, func(tr jaegerTrace) bool {
		sys := systems(tr)
		return slices.Contains(sys, "postgresql") && slices.Contains(sys, "redis")
	})
	if !ok {
		t.Fatalf("order trace %s lacks a Postgres (db.system=postgresql) or Redis (db.system=redis) client span; "+
			"db systems seen: %v. Spans:\n  %s", id, systems(tr), tr.summary())
	}
	t.Logf("order trace %s has client spans of %v", id, systems(tr))
}

// The product write's trace (the test's traceparent on POST
// /api/v1/products) continues through the outbox into catalog-sync and
// includes its HTTP call to Directus.
func checkProductTrace(t *testing.T, s *stack, id string) {
	u, _ := url.Parse(s.directusURL)
	directusCall := func(tr jaegerTrace) bool {
		for i, sp := range tr.Spans {
			if tr.Processes[sp.ProcessID].ServiceName != "catalog-sync" {
				continue
			}
			if strings.Contains(sp.OperationName, u.Host) ||
				strings.Contains(tr.tag(i, "url.full", "http.url"), u.Host) ||
				tr.tag(i, "server.address", "net.peer.name")+":"+tr.tag(i, "server.port", "net.peer.port") == u.Host {
				return true
			}
		}
		return false
	}
	tr, ok := awaitTrace(t, s, id, func(tr jaegerTrace) bool { return hasServices("api", "catalog-sync")(tr) && directusCall(tr) })
	if !ok {
		t.Fatalf("trace %s has services %v and no catalog-sync span calling Directus at %s; spans:\n  %s", id, tr.services(), u.Host, tr.summary())
	}
	t.Logf("product write trace %s: %d spans from %v, with catalog-sync's call to Directus", id, len(tr.Spans), tr.services())
}
