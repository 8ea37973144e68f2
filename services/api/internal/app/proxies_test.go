package app_test

import (
	"fmt"
	"testing"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
)

// spec.http.trustedProxies is wired into the api: behind a trusted proxy
// (the test client on 127.0.0.1) the per-address registration limit counts
// the X-Forwarded-For client and X-Forwarded-Proto: https brings HSTS; with
// no trusted proxy both headers are ignored and every request counts
// against the peer.
func TestRateLimitAndHSTSFollowTrustedProxies(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		// statuses of three registrations from 198.51.100.1, .2, .1
		want []int
		hsts bool
	}{
		{"peer is a trusted proxy", []string{"127.0.0.0/8"}, []int{201, 201, 429}, true},
		{"no trusted proxy", nil, []int{201, 429, 429}, false},
		{"another proxy is trusted", []string{"10.0.0.0/8"}, []int{201, 429, 429}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(s *apiconfig.Spec) {
				s.HTTP.TrustedProxies = tt.trusted
				s.RateLimit.RegisterPerIP = 1
			})
			for i, client := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.1"} {
				r := e.do(req{method: "POST", path: "/api/v1/auth/register",
					body:    map[string]string{"email": fmt.Sprintf("proxied%d@example.com", i), "password": "correct horse"},
					headers: map[string]string{"X-Forwarded-For": "6.6.6.6, " + client, "X-Forwarded-Proto": "https"}})
				if r.status != tt.want[i] {
					t.Fatalf("registration %d from %s: status %d, want %d; body %s", i+1, client, r.status, tt.want[i], r.body)
				}
				if r.status == 429 && r.problem(t).Type != "/problems/rate-limited" {
					t.Errorf("registration %d: 429 is not the rate-limited problem: %s", i+1, r.body)
				}
				hsts := r.header.Get("Strict-Transport-Security")
				if tt.hsts && hsts != "max-age=31536000; includeSubDomains" || !tt.hsts && hsts != "" {
					t.Errorf("registration %d: Strict-Transport-Security = %q, want it sent: %v", i+1, hsts, tt.hsts)
				}
			}
		})
	}
}
