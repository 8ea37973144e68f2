package auth

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func testTokens(t *testing.T, clock *time.Time) *Tokens {
	t.Helper()
	dir := t.TempDir()
	pem, err := GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "k1.pem"), pem, 0o600); err != nil {
		t.Fatal(err)
	}
	ks, err := LoadKeys(dir, "k1")
	if err != nil {
		t.Fatal(err)
	}
	tok := NewTokens(ks, "shop", "shop", time.Minute)
	tok.now = func() time.Time { return *clock }
	return tok
}

// A token verified once is remembered, but its validity window is still
// checked on every use, and a different string (tampered) is not a hit.
func TestVerifiedTokenCacheKeepsCheckingTheWindow(t *testing.T) {
	clock := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tok := testTokens(t, &clock)
	raw, err := tok.Issue(Principal{UserID: 7, Role: RoleCustomer})
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{0, 30 * time.Second, 64 * time.Second} {
		clock = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).Add(at)
		if p, err := tok.Verify(raw); err != nil || p.UserID != 7 {
			t.Fatalf("at +%s: %+v %v", at, p, err)
		}
	}
	if _, ok := tok.verified.get(raw, clock, leeway); !ok {
		t.Fatal("a verified token was not remembered")
	}
	tampered := raw[:len(raw)-4] + "AAAA"
	if _, err := tok.Verify(tampered); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("tampered token: %v", err)
	}
	clock = clock.Add(2 * time.Second) // +66s: past exp (60s) + leeway (5s)
	if _, err := tok.Verify(raw); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired token accepted from the cache: %v", err)
	}
	clock = time.Date(2026, 1, 1, 11, 59, 50, 0, time.UTC) // before nbf - leeway
	if _, err := tok.Verify(raw); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("not-yet-valid token accepted from the cache: %v", err)
	}
}

func TestVerifiedTokenCacheIsBounded(t *testing.T) {
	var c verifiedCache
	for i := range verifiedCacheMax + 10 {
		c.put(string(rune(i))+"-token", verified{expires: time.Now().Add(time.Hour)})
	}
	if len(c.m) > verifiedCacheMax {
		t.Fatalf("%d entries, bound %d", len(c.m), verifiedCacheMax)
	}
}

// A token verified before costs no allocation on its next requests: the
// cache key is hashed from the token without copying it.
func TestVerifiedTokenAllocatesNothing(t *testing.T) {
	now := time.Now()
	tok := testTokens(t, &now)
	raw, err := tok.Issue(Principal{UserID: 7, Role: RoleCustomer, SessionVersion: 3})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := tok.Verify(raw); err != nil || p.SessionVersion != 3 {
		t.Fatalf("first verify: %+v %v", p, err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = tok.Verify(raw) }); n != 0 {
		t.Fatalf("a cached token costs %.0f allocations per check, want 0", n)
	}
}
