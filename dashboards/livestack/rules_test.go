package livestack_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// checkRules: Prometheus evaluated every recording and alerting rule of
// alerts/shop.rules.yml on the live metrics without error, and the dead
// letter the load made is seen by ShopOrderDeadLetters (pending: its `for`
// is longer than the test), which proves that rule uses the real names.
func checkRules(t *testing.T, s *stack) {
	var body struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
					State     string `json:"state"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	var deadLetters string
	eventually(t, 10*time.Second, "ShopOrderDeadLetters pending or firing", func() (bool, string) {
		resp, err := http.Get(s.prometheus + "/api/v1/rules")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return false, err.Error()
		}
		for _, g := range body.Data.Groups {
			for _, r := range g.Rules {
				if r.Name == "ShopOrderDeadLetters" {
					deadLetters = r.State
				}
			}
		}
		return deadLetters == "pending" || deadLetters == "firing", deadLetters
	})
	n := 0
	for _, g := range body.Data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health != "ok" {
				t.Errorf("rule %s (group %s): health %q: %s", r.Name, g.Name, r.Health, r.LastError)
			}
		}
	}
	if n < 25 {
		t.Errorf("Prometheus loaded %d rules, want all of shop.rules.yml", n)
	}
	t.Logf("%d rules evaluated without error; ShopOrderDeadLetters is %s", n, deadLetters)
}
