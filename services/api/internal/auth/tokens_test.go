package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Each refusal below rests on one check of Verify: drop the check and its
// case is accepted. The tokens are signed by real keys the verifier knows
// (or, for the unknown kid, a real key it does not), so the signature alone
// refuses none of them.
func TestVerifyRefusesWhatOnlyItsPolicyCatches(t *testing.T) {
	p256 := mustKey(t, elliptic.P256())
	p384 := mustKey(t, elliptic.P384())
	// A key set that also holds a P-384 key: only the ES256-only method
	// list refuses an ES384 token signed with it.
	tokens := NewTokens(&KeySet{activeID: "k1", keys: map[string]*ecdsa.PrivateKey{"k1": p256, "k384": p384}}, "iss", "shop", time.Minute)
	now := time.Now()
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": "iss", "aud": "shop", "sub": "7", "role": "customer",
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	}
	sign := func(m jwt.SigningMethod, key *ecdsa.PrivateKey, kid string, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if p, err := tokens.Verify(sign(jwt.SigningMethodES256, p256, "k1", base())); err != nil || p.UserID != 7 || p.Role != RoleCustomer {
		t.Fatalf("a good token: %+v, %v", p, err)
	}
	noExp, unknownRole := base(), base()
	delete(noExp, "exp")
	unknownRole["role"] = "superuser"
	for name, raw := range map[string]string{
		"ES384 signed by a key of the set": sign(jwt.SigningMethodES384, p384, "k384", base()),
		"unknown kid, real key":            sign(jwt.SigningMethodES256, mustKey(t, elliptic.P256()), "k2", base()),
		"no exp":                           sign(jwt.SigningMethodES256, p256, "k1", noExp),
		"unknown role":                     sign(jwt.SigningMethodES256, p256, "k1", unknownRole),
	} {
		if p, err := tokens.Verify(raw); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: accepted as %+v (err %v)", name, p, err)
		}
	}
}

func mustKey(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
