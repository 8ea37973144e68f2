package livestack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/platform/testenv"
)

// alertState is the state of an alerting rule in Prometheus: inactive,
// pending or firing.
func alertState(t *testing.T, s *stack, name string) string {
	t.Helper()
	resp, err := http.Get(s.prometheus + "/api/v1/rules?type=alert")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name  string `json:"name"`
					State string `json:"state"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return err.Error()
	}
	for _, g := range body.Data.Groups {
		for _, r := range g.Rules {
			if r.Name == name {
				return r.State
			}
		}
	}
	t.Fatalf("Prometheus has no alerting rule %s", name)
	return ""
}

// awaitAlert waits until the alert is in one of the states.
func awaitAlert(t *testing.T, s *stack, name string, timeout time.Duration, states ...string) {
	t.Helper()
	began := time.Now()
	eventually(t, timeout, name+" "+strings.Join(states, "/"), func() (bool, string) {
		st := alertState(t, s, name)
		for _, want := range states {
			if st == want {
				return true, st
			}
		}
		return false, st
	})
	t.Logf("%s %s after %s", name, alertState(t, s, name), time.Since(began).Round(time.Second))
}

// setWorkerSpec rewrites the worker's config document (it reloads it
// without a restart, as from a ConfigMap change).
func setWorkerSpec(t *testing.T, s *stack, spec string) {
	t.Helper()
	doc := "apiVersion: shop.goshop.dev/v1alpha1\nkind: OrderWorkerConfig\nspec: " + spec + "\n"
	if err := os.WriteFile(s.workerConfig, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkIncidents proves the alerts on real faults, with the shipped rules
// on a real Prometheus: worker slowdown under loadgen traffic makes the
// backlog-age alert pending and the fault-flag alert pending; the poison
// entry of driveLoad makes the dead-letter alert fire; stopping Directus
// makes the Directus and sync-lag alerts pending. Each clears after the
// fault is removed and the console's action is taken (discard, reconcile
// now) — except the two catalogue alerts, whose 5 and 10 minute rate
// windows outlast the test: the console's reconcile is checked instead.
// Alerts with a `for` longer than the test (backlog 2 min, fault flag
// 30 min) are checked pending: their condition holds on the live metrics;
// promtool's rule tests cover the `for`.
func checkIncidents(t *testing.T, s *stack) {
	admin := login(t, s, adminEmail, adminPassword)

	// 1. Directus away while products change: the catalogue alerts.
	d := s.directus
	d.Stop(t)
	downAt := time.Now()
	for i := range 3 {
		createProduct(t, s, admin, fmt.Sprintf("LS-OUTAGE-%d", i), 1, "")
	}
	awaitAlert(t, s, "ShopCatalogDirectusUnavailable", 2*time.Minute, "pending", "firing")
	if wait := 12*time.Second - time.Since(downAt); wait > 0 {
		time.Sleep(wait) // the sync-lag target is 10 s: stay away longer
	}
	d.Start(t)
	awaitAlert(t, s, "ShopCatalogSyncLagHigh", 2*time.Minute, "pending", "firing")
	var rec struct {
		ID int64 `json:"id"`
	}
	decode(t, call(t, s, http.MethodPost, "/api/v1/admin/catalog/reconciles", admin, "", map[string]any{"reason": "Directus was down"}, http.StatusAccepted), &rec)
	eventually(t, time.Minute, "the requested reconcile done", func() (bool, string) {
		var r struct {
			Status string `json:"status"`
		}
		decode(t, call(t, s, http.MethodGet, fmt.Sprintf("/api/v1/admin/catalog/reconciles/%d", rec.ID), admin, "", nil, http.StatusOK), &r)
		return r.Status == "done", r.Status
	})
	var c struct {
		Pending int `json:"pending"`
		Dead    int `json:"dead"`
	}
	decode(t, call(t, s, http.MethodGet, "/api/v1/admin/catalog", admin, "", nil, http.StatusOK), &c)
	if c.Pending != 0 || c.Dead != 0 {
		t.Fatalf("catalogue after the outage and the reconcile: %+v, want nothing pending or dead", c)
	}

	// 2. A slow worker under traffic: the backlog ages past 2 minutes
	// (4 orders decided at a time, 5 s each, while 25/s arrive).
	// A fifth of the attempts fail transiently too (retried, never lost).
	setWorkerSpec(t, s, "{consumer: {concurrency: 4}, faults: {slowdown: 5s, failureRatio: 0.2}}")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	traffic := exec.CommandContext(ctx, testenv.Binary(t, "../../services/loadgen/cmd/loadgen"), "run",
		"--api", s.api.base(), "--directus", s.directusURL, "--rate", "25/s", "--duration", "10m", "--mix", "checkout=100",
		"--follow", "none", "--customers", "5", "--max-lines", "1", "--quiet")
	var out strings.Builder
	traffic.Stdout, traffic.Stderr = &out, &out
	if err := traffic.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stop(); _ = traffic.Wait() }()
	awaitAlert(t, s, "ShopFaultInjectionActive", 30*time.Second, "pending", "firing")
	awaitAlert(t, s, "ShopOrderDeadLetters", 2*time.Minute, "firing")
	awaitAlert(t, s, "ShopOrderBacklogTooOld", 4*time.Minute, "pending", "firing")

	// Recover: the flag off, the traffic stopped, the garbage discarded.
	setWorkerSpec(t, s, "{faults: {slowdown: 0s, failureRatio: 0}}")
	stop()
	_ = traffic.Wait()
	discarded := call(t, s, http.MethodPost, "/api/v1/admin/dead-letters/discard", admin, "",
		map[string]any{"all": true, "filter": map[string]any{"reason": "poison_message"}, "reason": "garbage from the live-stack test"}, http.StatusOK)
	if !strings.Contains(string(discarded), `"discarded":1`) {
		t.Fatalf("discard answered %s, want one letter", discarded)
	}
	awaitAlert(t, s, "ShopOrderBacklogTooOld", 2*time.Minute, "inactive")
	awaitAlert(t, s, "ShopOrderDeadLetters", time.Minute, "inactive")
	awaitAlert(t, s, "ShopFaultInjectionActive", time.Minute, "inactive")

	// 3. Intake paused for maintenance: orders get 503 (the overview's
	// intake error ratio) until the console's resume.
	buyer := login(t, s, "buyer@example.com", "buyer-password-1")
	call(t, s, http.MethodPost, "/api/v1/admin/intake", admin, "", map[string]any{"paused": true, "reason": "live-stack: maintenance"}, http.StatusOK)
	order := map[string]any{"items": []any{map[string]any{"product_id": 1, "quantity": 1}}}
	eventually(t, 10*time.Second, "orders refused while intake is paused", func() (bool, string) {
		code := status(t, s, http.MethodPost, "/api/v1/orders", buyer, order)
		return code == http.StatusServiceUnavailable, fmt.Sprint(code)
	})
	call(t, s, http.MethodPost, "/api/v1/admin/intake", admin, "", map[string]any{"paused": false, "reason": "live-stack: done"}, http.StatusOK)
	eventually(t, 10*time.Second, "orders accepted after the resume", func() (bool, string) {
		code := status(t, s, http.MethodPost, "/api/v1/orders", buyer, order)
		return code == http.StatusAccepted, fmt.Sprint(code)
	})
}

// status sends one request and returns its status code.
func status(t *testing.T, s *stack, method, path, token string, body any) int {
	t.Helper()
	j, _ := json.Marshal(body)
	req, err := http.NewRequest(method, s.api.base()+path, bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
