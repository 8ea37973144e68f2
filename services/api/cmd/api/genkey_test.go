package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gen-key --if-missing is the docker-compose init step: it runs on every
// start and must keep the key that signed the tokens already out there.
func TestGenKeyIfMissingKeepsTheKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "jwt")
	path := filepath.Join(dir, "k1.pem")
	if err := genKey([]string{"--dir", dir, "--kid", "k1", "--if-missing"}); err != nil {
		t.Fatalf("first run: %v", err)
	}
	first, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(first, []byte("PRIVATE KEY")) {
		t.Fatalf("key not written: %v %q", err, first)
	}
	if err := genKey([]string{"--dir", dir, "--kid", "k1", "--if-missing"}); err != nil {
		t.Fatalf("second run with --if-missing: %v", err)
	}
	again, _ := os.ReadFile(path)
	if !bytes.Equal(first, again) {
		t.Fatal("--if-missing replaced an existing key")
	}
	err = genKey([]string{"--dir", dir, "--kid", "k1"})
	if err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("without --if-missing an existing key must be refused, got %v", err)
	}
}
