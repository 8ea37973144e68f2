package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// capture runs the command with stdout captured.
func capture(t *testing.T, args ...string) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	runErr := run(context.Background(), args, new(slog.LevelVar))
	os.Stdout = old
	w.Close()
	out, _ := io.ReadAll(r)
	return string(out), runErr
}

func TestPrintConfigMasksTheToken(t *testing.T) {
	t.Setenv("SYNC_DIRECTUS_TOKEN", "very-secret-token")
	t.Setenv("SYNC_RELAY_BATCH_SIZE", "42")
	out, err := capture(t, "print-config")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "very-secret-token") || !strings.Contains(out, "token: '******'") || !strings.Contains(out, "batchSize: 42") {
		t.Fatalf("print-config:\n%s", out)
	}
}

func TestUnknownKeyAndMissingTokenAreErrors(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "sync.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: shop.goshop.dev/v1alpha1\nkind: CatalogSyncConfig\nspec:\n  relay:\n    batchSize: 0\n    pollIntervall: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := capture(t, "--config", cfg, "print-config"); err == nil || !strings.Contains(err.Error(), "pollintervall") {
		t.Fatalf("unknown key: %v", err)
	}
	t.Setenv("SYNC_DIRECTUS_TOKEN", "")
	if _, err := capture(t, "ensure-schema"); err == nil || !strings.Contains(err.Error(), "spec.directus.token") {
		t.Fatalf("missing token: %v", err)
	}
	if _, err := capture(t, "frobnicate"); err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %v", err)
	}
}
