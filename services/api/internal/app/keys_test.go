package app_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/goshop-platform/shop/services/api/internal/auth"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

type dbs struct{ db, redis string }

func testenvDB(t *testing.T) dbs {
	return dbs{db: schematest.MigratedDatabase(t), redis: testenv.Redis(t)}
}

func mustRename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// signWith signs claims with the env's key file kid, or a fresh key when
// the file does not exist (an attacker's key with a made-up kid).
func signWith(t *testing.T, e *env, claims jwt.MapClaims, kid string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.keysDir, kid+".pem"))
	if os.IsNotExist(err) {
		b, err = auth.GenerateKeyPEM()
	}
	if err != nil {
		t.Fatal(err)
	}
	k, err := auth.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
