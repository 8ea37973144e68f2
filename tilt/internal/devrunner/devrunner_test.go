package devrunner_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/platform/testenv"
	"github.com/goshop-platform/shop/tilt/internal/devrunner"
)

type entry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func archive(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body)), Linkname: e.link}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestUntarReplacesARunningExecutable(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live")
	if err := os.MkdirAll(live, 0o755); err != nil {
		t.Fatal(err)
	}
	// A running program: writing into its file would fail with "text file busy".
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(live, "api")
	if err := os.WriteFile(prog, body, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prog, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	a := archive(t,
		entry{name: "live/", typ: tar.TypeDir, mode: 0o755},
		entry{name: "live/api", typ: tar.TypeReg, mode: 0o755, body: "new build"},
		entry{name: "live/sub/deeper/file.txt", typ: tar.TypeReg, mode: 0o644, body: "x"},
		entry{name: "live/current", typ: tar.TypeSymlink, link: "api"},
	)
	if err := devrunner.Untar(a, dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(prog)
	if err != nil || string(got) != "new build" {
		t.Fatalf("live/api = %q, %v; want the new build", got, err)
	}
	fi, err := os.Stat(prog)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("live/api mode %v, %v; want 0755", fi.Mode(), err)
	}
	if got, err := os.ReadFile(filepath.Join(live, "sub/deeper/file.txt")); err != nil || string(got) != "x" {
		t.Fatalf("nested file %q, %v", got, err)
	}
	if target, err := os.Readlink(filepath.Join(live, "current")); err != nil || target != "api" {
		t.Fatalf("symlink %q, %v", target, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(live, ".*tmp-*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
}

func TestUntarRefusesPathsOutsideTheDirectory(t *testing.T) {
	dir := t.TempDir()
	inner := filepath.Join(dir, "inner")
	if err := os.Mkdir(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	err := devrunner.Untar(archive(t, entry{name: "../escaped", typ: tar.TypeReg, mode: 0o644, body: "x"}), inner)
	if err == nil || !strings.Contains(err.Error(), "leaves") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "escaped")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("escaped file written: %v", err)
	}
	err = devrunner.Untar(archive(t, entry{name: "dev", typ: tar.TypeChar}), inner)
	if err == nil || !strings.Contains(err.Error(), "unsupported") {
		t.Fatalf("device entry: err = %v, want unsupported", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// script writes a shell program that prints its version, then waits until
// SIGTERM (exit 0) or SIGUSR1 (exit 7).
func script(t *testing.T, path, version string) {
	t.Helper()
	body := "#!/bin/sh\necho \"" + version + " $*\"\ntrap 'exit 0' TERM\ntrap 'exit 7' USR1\nwhile :; do sleep 0.05; done\n"
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestSupervisorRestartsOnANewLiveBuildAndForwardsSignals(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "app", "api")
	live := filepath.Join(dir, "live")
	for _, d := range []string{filepath.Dir(prog), live} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script(t, prog, "image-build")
	out := &testenv.LogBuffer{}
	s := &devrunner.Supervisor{Program: prog, Args: []string{"serve"}, LiveDir: live,
		Poll: 20 * time.Millisecond, Grace: 2 * time.Second, Stdout: out, Stderr: out, Log: out,
		Signals: []os.Signal{syscall.SIGUSR1}}
	result := make(chan error, 1)
	go func() { result <- s.Run(context.Background()) }()

	waitFor(t, "the image's build to start", func() bool { return strings.Contains(out.String(), "image-build serve") })
	script(t, filepath.Join(live, "api"), "live-build-1")
	waitFor(t, "a restart from the live copy", func() bool { return strings.Contains(out.String(), "live-build-1 serve") })
	script(t, filepath.Join(live, "api"), "live-build-2")
	waitFor(t, "a second restart", func() bool { return strings.Contains(out.String(), "live-build-2 serve") })
	if n := strings.Count(out.String(), "restarting"); n != 2 {
		t.Fatalf("%d restarts, want 2:\n%s", n, out)
	}

	// A forwarded signal ends the child; its exit status becomes ours, no restart.
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-result:
		var exit *devrunner.ExitError
		if !errors.As(err, &exit) || exit.Code != 7 {
			t.Fatalf("Run = %v, want exit status 7", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the forwarded signal")
	}
}

func TestSupervisorExitsWithTheProgramsStatus(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		body string
		code int
	}{{"exit 0", 0}, {"exit 3", 3}, {"kill -KILL $$", 128 + 9}} {
		prog := filepath.Join(dir, "job")
		if err := os.WriteFile(prog, []byte("#!/bin/sh\n"+c.body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		s := &devrunner.Supervisor{Program: prog, LiveDir: filepath.Join(dir, "no-live-dir"), Poll: 10 * time.Millisecond}
		err := s.Run(context.Background())
		var exit *devrunner.ExitError
		switch {
		case c.code == 0 && err != nil:
			t.Fatalf("%s: Run = %v, want nil", c.body, err)
		case c.code != 0 && (!errors.As(err, &exit) || exit.Code != c.code):
			t.Fatalf("%s: Run = %v, want exit status %d", c.body, err, c.code)
		}
	}
	s := &devrunner.Supervisor{Program: filepath.Join(dir, "missing")}
	if err := s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "start") {
		t.Fatalf("missing program: Run = %v", err)
	}
}
