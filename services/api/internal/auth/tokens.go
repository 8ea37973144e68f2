package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Roles.
const (
	RoleCustomer = "customer"
	RoleAdmin    = "admin"
)

// ErrInvalidToken covers every reason an access token is refused; the
// wrapped message says which, for logs, never for clients.
var ErrInvalidToken = errors.New("invalid access token")

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID int64
	Role   string
	// SessionVersion is the account's session version when the token was
	// issued: ending the account's sessions increments it, which cuts off
	// every token issued before (see CutOffs).
	SessionVersion int64
}

// IsAdmin reports whether the caller has the admin role.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdmin }

type claims struct {
	Role string `json:"role"`
	// SV is the session version (absent when 0).
	SV int64 `json:"sv,omitempty"`
	jwt.RegisteredClaims
}

// Tokens issues and verifies access tokens.
type Tokens struct {
	keys     *KeySet
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	verified verifiedCache
}

// NewTokens binds a key set to the issuer/audience/lifetime policy.
func NewTokens(keys *KeySet, issuer, audience string, ttl time.Duration) *Tokens {
	return &Tokens{keys: keys, issuer: issuer, audience: audience, ttl: ttl, now: time.Now}
}

// Keys exposes the key set (for the JWKS endpoint).
func (t *Tokens) Keys() *KeySet { return t.keys }

// TTL is the access token lifetime.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Issue signs an access token for p with the active key.
func (t *Tokens) Issue(p Principal) (string, error) {
	now := t.now()
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	c := claims{Role: p.Role, SV: p.SessionVersion, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: t.issuer, Subject: strconv.FormatInt(p.UserID, 10), Audience: jwt.ClaimStrings{t.audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)), ID: hex.EncodeToString(jti[:]),
	}}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["kid"] = t.keys.activeID
	return tok.SignedString(t.keys.keys[t.keys.activeID])
}

// leeway is the clock skew tolerated on exp, nbf and iat.
const leeway = 5 * time.Second

// Verify checks signature (ES256 only, key by kid), issuer, audience and
// validity window, and returns the caller. A token verified before by this
// process only has its validity window checked again.
func (t *Tokens) Verify(raw string) (Principal, error) {
	now := t.now()
	if p, ok := t.verified.get(raw, now, leeway); ok {
		return p, nil
	}
	var c claims
	_, err := jwt.ParseWithClaims(raw, &c, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		k, ok := t.keys.keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		return &k.PublicKey, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(t.issuer), jwt.WithAudience(t.audience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(t.now), jwt.WithLeeway(leeway))
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || id <= 0 || (c.Role != RoleCustomer && c.Role != RoleAdmin) || c.SV < 0 {
		return Principal{}, fmt.Errorf("%w: bad subject, role or session version", ErrInvalidToken)
	}
	p := Principal{UserID: id, Role: c.Role, SessionVersion: c.SV}
	v := verified{p: p, expires: c.ExpiresAt.Time}
	if c.NotBefore != nil {
		v.notBefore = c.NotBefore.Time
	}
	t.verified.put(raw, v)
	return p, nil
}
