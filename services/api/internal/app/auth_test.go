package app_test

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"

	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/api/internal/auth"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestRegisterLoginMe(t *testing.T) {
	e := newEnv(t)
	var u struct {
		ID    int64  `json:"id"`
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	expect(t, e.do(req{method: "POST", path: "/api/v1/auth/register", body: map[string]string{"email": "Ann@Example.com", "password": "correct horse"}}), 201).json(t, &u)
	if u.ID <= 0 || u.Email != "Ann@Example.com" || u.Role != "customer" {
		t.Fatalf("registered user = %+v", u)
	}
	// Same address in another case is the same account.
	p := expect(t, e.do(req{method: "POST", path: "/api/v1/auth/register", body: map[string]string{"email": "ann@example.com", "password": "another one"}}), 409).problem(t)
	if strings.Join(p.names(), ",") != "#/email" {
		t.Fatalf("duplicate email problem names %v", p.names())
	}
	s := e.login("ann@example.com", "correct horse")
	if s.TokenType != "Bearer" || s.ExpiresIn != int(e.spec.Auth.AccessTokenTTL.Seconds()) || s.RefreshToken == "" {
		t.Fatalf("session = %+v", s)
	}
	var me struct {
		ID   int64  `json:"id"`
		Role string `json:"role"`
	}
	expect(t, e.do(req{method: "GET", path: "/api/v1/me", token: s.AccessToken}), 200).json(t, &me)
	if me.ID != u.ID || me.Role != "customer" {
		t.Fatalf("me = %+v, want id %d", me, u.ID)
	}
	// The password is stored as an argon2id hash, never in clear.
	var hash string
	if err := e.db.QueryRow(t.Context(), "SELECT password_hash FROM users WHERE id = $1", u.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$") || strings.Contains(hash, "correct horse") {
		t.Fatalf("stored hash %q", hash)
	}
}

func TestLoginWrongPasswordAndUnknownUser(t *testing.T) {
	e := newEnv(t)
	e.customer("bob@example.com")
	for _, c := range []map[string]string{
		{"email": "bob@example.com", "password": "wrong-password"},
		{"email": "nobody@example.com", "password": "whatever-pass"},
	} {
		p := expect(t, e.do(req{method: "POST", path: "/api/v1/auth/login", body: c}), 401).problem(t)
		if p.Type != "/problems/bad-credentials" {
			t.Fatalf("problem type %q", p.Type)
		}
	}
	if n := e.count("SELECT count(*) FROM refresh_tokens"); n != 1 {
		t.Fatalf("refresh tokens = %d, want only the customer's own login", n)
	}
}

func TestRefreshRotationAndReuseRevokesFamily(t *testing.T) {
	e := newEnv(t, func(s *apiconfig.Spec) { s.Auth.RefreshReuseGrace = 0 })
	e.customer("carol@example.com")
	s1 := e.login("carol@example.com", "customer-pass-1")
	var s2 session
	expect(t, e.do(req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": s1.RefreshToken}}), 200).json(t, &s2)
	if s2.RefreshToken == s1.RefreshToken || s2.AccessToken == "" {
		t.Fatal("refresh did not rotate the token")
	}
	// Reusing the old token is theft: refused, and the new one dies with it.
	expect(t, e.do(req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": s1.RefreshToken}}), 401)
	expect(t, e.do(req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": s2.RefreshToken}}), 401)
	family := `SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL AND family_id =
		(SELECT family_id FROM refresh_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8')))`
	if n := e.count(family, s1.RefreshToken); n != 0 {
		t.Fatalf("%d refresh tokens of the stolen family still live after reuse", n)
	}
	// The earlier, separate login of the same user is not affected.
	if n := e.count("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL"); n != 1 {
		t.Fatalf("%d live refresh tokens, want 1 (the other session)", n)
	}
}

// TestRefreshReuseWithinGrace: a page reloaded while its refresh was in
// flight presents the rotated token again; within refreshReuseGrace that
// rotates again (both successors work), after it the reuse is theft.
func TestRefreshReuseWithinGrace(t *testing.T) {
	e := newEnv(t, func(s *apiconfig.Spec) { s.Auth.RefreshReuseGrace = 1500 * time.Millisecond })
	e.customer("dave@example.com")
	s1 := e.login("dave@example.com", "customer-pass-1")
	refresh := func(tok string, want int) session {
		var s session
		r := expect(t, e.do(req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": tok}}), want)
		if want == 200 {
			r.json(t, &s)
		}
		return s
	}
	s2 := refresh(s1.RefreshToken, 200)
	s3 := refresh(s1.RefreshToken, 200) // the reload, within the grace
	if s3.RefreshToken == s2.RefreshToken {
		t.Fatal("the second rotation returned the same refresh token")
	}
	s4 := refresh(s2.RefreshToken, 200)
	time.Sleep(2 * time.Second)
	refresh(s1.RefreshToken, 401) // past the grace: theft, the family dies
	refresh(s3.RefreshToken, 401)
	refresh(s4.RefreshToken, 401)
}

func TestLogoutRevokesRefreshToken(t *testing.T) {
	e := newEnv(t)
	e.customer("dan@example.com")
	s := e.login("dan@example.com", "customer-pass-1")
	expect(t, e.do(req{method: "POST", path: "/api/v1/auth/logout", body: map[string]string{"refresh_token": s.RefreshToken}}), 204)
	expect(t, e.do(req{method: "POST", path: "/api/v1/auth/logout", body: map[string]string{"refresh_token": s.RefreshToken}}), 204)
	expect(t, e.do(req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": s.RefreshToken}}), 401)
}

func TestJWKSAndTokenHeader(t *testing.T) {
	e := newEnv(t)
	var jwks struct {
		Keys []struct{ Kid, Kty, Alg, Crv, X, Y string } `json:"keys"`
	}
	expect(t, e.do(req{method: "GET", path: "/.well-known/jwks.json"}), 200).json(t, &jwks)
	if len(jwks.Keys) != 1 || jwks.Keys[0].Kid != "k1" || jwks.Keys[0].Alg != "ES256" || jwks.Keys[0].Crv != "P-256" {
		t.Fatalf("jwks = %+v", jwks)
	}
	tok := e.admin()
	// A third party verifies our token with nothing but the published JWK.
	x, errX := base64.RawURLEncoding.DecodeString(jwks.Keys[0].X)
	y, errY := base64.RawURLEncoding.DecodeString(jwks.Keys[0].Y)
	if errX != nil || errY != nil {
		t.Fatalf("jwk coordinates not base64url: %v %v", errX, errY)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatalf("jwk is not a P-256 point: %v", err)
	}
	if _, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return pub, nil }, jwt.WithValidMethods([]string{"ES256"})); err != nil {
		t.Fatalf("token does not verify with the published JWK: %v", err)
	}
	hdr := decodeSegment(t, strings.Split(tok, ".")[0])
	if hdr["kid"] != "k1" || hdr["alg"] != "ES256" {
		t.Fatalf("token header %v", hdr)
	}
	claims := decodeSegment(t, strings.Split(tok, ".")[1])
	if claims["iss"] != e.spec.Auth.Issuer || claims["role"] != "admin" {
		t.Fatalf("claims %v", claims)
	}
}

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestKeyRotation: after adding k2 and making it active, tokens signed by the
// old key k1 still verify, new tokens carry k2, and JWKS lists both. Once k1
// is removed, its tokens are refused.
func TestKeyRotation(t *testing.T) {
	dbURL := testenvDB(t)
	spec, keys := testSpec(t, dbURL.db, dbURL.redis)
	e1 := startEnv(t, spec, keys)
	oldTok := e1.admin()

	writeKey(t, keys, "k2")
	spec.Auth.ActiveKeyID = "k2"
	e2 := startEnv(t, spec, keys)
	expect(t, e2.do(req{method: "GET", path: "/api/v1/me", token: oldTok}), 200)
	newTok := e2.admin()
	if hdr := decodeSegment(t, strings.Split(newTok, ".")[0]); hdr["kid"] != "k2" {
		t.Fatalf("new token kid %v, want k2", hdr["kid"])
	}
	var jwks struct {
		Keys []struct{ Kid string } `json:"keys"`
	}
	expect(t, e2.do(req{method: "GET", path: "/.well-known/jwks.json"}), 200).json(t, &jwks)
	if len(jwks.Keys) != 2 {
		t.Fatalf("jwks during rotation has %d keys, want 2", len(jwks.Keys))
	}

	// Retire k1: move its file away and start a fresh process.
	retired := t.TempDir()
	mustRename(t, keys+"/k1.pem", retired+"/k1.pem")
	e3 := startEnv(t, spec, keys)
	expect(t, e3.do(req{method: "GET", path: "/api/v1/me", token: oldTok}), 401)
	expect(t, e3.do(req{method: "GET", path: "/api/v1/me", token: newTok}), 200)
}

func TestTokensRefused(t *testing.T) {
	e := newEnv(t)
	good := e.admin()
	parts := strings.Split(good, ".")
	claims := decodeSegment(t, parts[1])
	claims["role"] = "admin"
	claims["sub"] = "999"
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(mustJSON(t, claims)) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"k1"}`)) + "." + parts[1] + "."
	expired := signWith(t, e, jwt.MapClaims{"iss": e.spec.Auth.Issuer, "aud": "shop", "sub": "1", "role": "admin",
		"exp": time.Now().Add(-time.Hour).Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix()}, "k1")
	wrongIss := signWith(t, e, jwt.MapClaims{"iss": "https://evil.example", "aud": "shop", "sub": "1", "role": "admin",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}, "k1")
	unknownKid := signWith(t, e, jwt.MapClaims{"iss": e.spec.Auth.Issuer, "aud": "shop", "sub": "1", "role": "admin",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}, "nope")
	notYet := signWith(t, e, jwt.MapClaims{"iss": e.spec.Auth.Issuer, "aud": "shop", "sub": "1", "role": "admin",
		"nbf": time.Now().Add(time.Hour).Unix(), "exp": time.Now().Add(2 * time.Hour).Unix(), "iat": time.Now().Unix()}, "k1")
	wrongAud := signWith(t, e, jwt.MapClaims{"iss": e.spec.Auth.Issuer, "aud": "other-service", "sub": "1", "role": "admin",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}, "k1")
	// Algorithm confusion: HS256 "signed" with the public key as the HMAC secret.
	pemBytes, err := os.ReadFile(filepath.Join(e.keysDir, "k1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := auth.ParsePrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": e.spec.Auth.Issuer, "aud": "shop", "sub": "1", "role": "admin",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
	hs.Header["kid"] = "k1"
	confused, err := hs.SignedString(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"tampered": tampered, "alg none": none, "expired": expired,
		"wrong issuer": wrongIss, "unknown kid": unknownKid, "garbage": "not.a.jwt", "not yet valid": notYet,
		"wrong audience": wrongAud, "HS256 with the public key": confused} {
		t.Run(name, func(t *testing.T) {
			r := expect(t, e.do(req{method: "GET", path: "/api/v1/me", token: tok, badRequest: true}), 401)
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
			r.problem(t)
		})
	}
	expect(t, e.do(req{method: "GET", path: "/api/v1/me", badRequest: true}), 401).problem(t)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTokenOfDeletedAccountIsRefused: once an account is deleted, its still
// unexpired access token is refused within the account-check TTL.
func TestTokenOfDeletedAccountIsRefused(t *testing.T) {
	e := newEnv(t, func(s *apiconfig.Spec) { s.Auth.AccountCheckTTL = 200 * time.Millisecond })
	tok, uid := e.customer("gone@example.com")
	expect(t, e.do(req{method: "GET", path: "/api/v1/orders", token: tok}), 200)
	if _, err := e.db.Exec(t.Context(), "UPDATE users SET deleted_at = now() WHERE id = $1", uid); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the deleted account's token to be refused", func() bool {
		return e.do(req{method: "GET", path: "/api/v1/orders", token: tok, badRequest: true}).status == 401
	})
	r := expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: tok, body: orderBody([2]int{1, 1}), badRequest: true}), 401)
	if !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
	}
	if n, _ := e.rdb.XLen(t.Context(), "new_orders").Result(); n != 0 {
		t.Fatalf("a deleted account placed %d orders", n)
	}
}
