// Package auth issues and verifies the shop's credentials: ES256 access
// JWTs signed by a key with a kid (public keys published as JWKS, several
// keys verifying during rotation), rotating refresh tokens stored hashed in
// PostgreSQL with reuse detection, and argon2id password hashes.
package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// KeySet is the signing key plus every key that still verifies.
type KeySet struct {
	activeID string
	keys     map[string]*ecdsa.PrivateKey
}

// LoadKeys reads every <kid>.pem in dir (PKCS#8 or SEC1 EC P-256 private
// keys) and selects activeID for signing.
func LoadKeys(dir, activeID string) (*KeySet, error) {
	if dir == "" || activeID == "" {
		return nil, errors.New("spec.auth.keysDir and spec.auth.activeKeyID (API_AUTH_KEYS_DIR, API_AUTH_ACTIVE_KEY_ID) must name " +
			"a directory of <kid>.pem signing keys and the kid that signs; create one with `api gen-key --dir DIR --kid KID`")
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		return nil, err
	}
	ks := &KeySet{activeID: activeID, keys: map[string]*ecdsa.PrivateKey{}}
	for _, p := range paths {
		kid := strings.TrimSuffix(filepath.Base(p), ".pem")
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read signing key %s: %w", p, err)
		}
		k, err := ParsePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", p, err)
		}
		ks.keys[kid] = k
	}
	if _, ok := ks.keys[activeID]; !ok {
		return nil, fmt.Errorf("active signing key %q not found in %s (have %v); create it with `api gen-key --dir %s --kid %s`",
			activeID, dir, ks.IDs(), dir, activeID)
	}
	return ks, nil
}

// ParsePrivateKey decodes a PEM EC P-256 private key.
func ParsePrivateKey(b []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var key any
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM type %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, err
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("key must be an ECDSA P-256 key (ES256)")
	}
	return ec, nil
}

// GenerateKeyPEM makes a new P-256 key in PKCS#8 PEM form.
func GenerateKeyPEM() ([]byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// IDs lists the key ids, sorted.
func (ks *KeySet) IDs() []string {
	ids := make([]string, 0, len(ks.keys))
	for id := range ks.keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// JWK is one public key in RFC 7517 form.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// JWKS returns the public half of every key.
func (ks *KeySet) JWKS() map[string][]JWK {
	out := []JWK{}
	for _, id := range ks.IDs() {
		// Uncompressed point: 0x04 || X (32 bytes) || Y (32 bytes).
		pt, err := ks.keys[id].PublicKey.Bytes()
		if err != nil || len(pt) != 65 {
			continue // LoadKeys accepted only P-256 keys, so this cannot happen
		}
		enc := base64.RawURLEncoding.EncodeToString
		out = append(out, JWK{Kty: "EC", Crv: "P-256", X: enc(pt[1:33]), Y: enc(pt[33:]), Kid: id, Use: "sig", Alg: "ES256"})
	}
	return map[string][]JWK{"keys": out}
}
