package main

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTarAndRmCommandLines(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := "binary"
	if err := tw.WriteHeader(&tar.Header{Name: "live/api", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Exactly what Tilt's live update runs in the container (with / as dir).
	if err := run(context.Background(), "tar", []string{"-C", dir, "-x", "-f", "-"}, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "live/api")); err != nil || string(got) != body {
		t.Fatalf("extracted %q, %v", got, err)
	}
	if err := run(context.Background(), "devrunner", []string{"tar", "-xf", "-", "-C", dir}, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("combined flags: %v", err)
	}
	if err := run(context.Background(), "tar", []string{"-c", "-f", "-"}, nil); err == nil || !strings.Contains(err.Error(), "unsupported") {
		t.Fatalf("tar -c: %v, want unsupported", err)
	}
	if err := run(context.Background(), "rm", []string{"-rf", filepath.Join(dir, "live")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "live")); !os.IsNotExist(err) {
		t.Fatalf("rm -rf left %v", err)
	}
	if err := run(context.Background(), "devrunner", []string{"bogus"}, nil); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command: %v", err)
	}
}
