// Package devrunner is the process supervisor and the minimal `tar` of the
// shop's Tilt dev images. The runtime images are distroless: no shell, no
// tar. Tilt's live update on a containerd cluster such as kind copies files
// by running `tar -C / -x -f -` in the container and cannot restart a
// container itself (restart_container() needs Docker as the runtime; the
// restart_process extension needs a shell). devrunner is one static binary
// that is both: installed as /usr/local/bin/tar it unpacks what Tilt sends,
// and as the image's entrypoint it runs the service and restarts it when a
// new build of the binary lands in the live directory.
package devrunner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// Supervisor runs one program and restarts it when its live copy changes.
type Supervisor struct {
	// Program is the binary baked into the image, Args its arguments.
	Program string
	Args    []string
	// LiveDir receives newer builds of Program (same base name) from Tilt's
	// live update. Empty: never restart.
	LiveDir string
	// Poll is how often the live copy is checked; Grace how long a stopping
	// child gets between SIGTERM and SIGKILL.
	Poll  time.Duration
	Grace time.Duration
	// Stdout and Stderr of the children; Log gets the supervisor's own lines.
	Stdout, Stderr, Log io.Writer
	// Signals forwarded to the child (default SIGTERM, SIGINT, SIGHUP, SIGQUIT).
	Signals []os.Signal
}

// ExitError carries the exit status the supervisor should exit with.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

type fingerprint struct {
	exists bool
	size   int64
	mod    time.Time
	ino    uint64
}

func stat(path string) fingerprint {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return fingerprint{}
	}
	fp := fingerprint{exists: true, size: fi.Size(), mod: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		fp.ino = st.Ino
	}
	return fp
}

// Run starts the program and returns when it exits on its own (with an
// *ExitError unless it exited 0), or when a forwarded signal has stopped it.
// A change of the live copy restarts the program from that copy.
func (s *Supervisor) Run(ctx context.Context) error {
	if s.Poll <= 0 {
		s.Poll = 300 * time.Millisecond
	}
	if s.Grace <= 0 {
		s.Grace = 10 * time.Second
	}
	if s.Stdout == nil {
		s.Stdout = os.Stdout
	}
	if s.Stderr == nil {
		s.Stderr = os.Stderr
	}
	if s.Log == nil {
		s.Log = os.Stderr
	}
	if len(s.Signals) == 0 {
		s.Signals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT}
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, s.Signals...)
	defer signal.Stop(sigs)

	live := ""
	if s.LiveDir != "" {
		live = filepath.Join(s.LiveDir, filepath.Base(s.Program))
	}
	ticker := time.NewTicker(s.Poll)
	defer ticker.Stop()

	for {
		started := stat(live)
		path := s.Program
		if live != "" && started.exists {
			path = live
		}
		cmd := exec.Command(path, s.Args...)
		cmd.Stdin = os.Stdin
		cmd.Stdout, cmd.Stderr = s.Stdout, s.Stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("devrunner: start %s: %w", path, err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()

		restart, err := s.watch(ctx, cmd, done, sigs, ticker.C, live, started)
		if !restart {
			return err
		}
		fmt.Fprintf(s.Log, "devrunner: %s changed, restarting\n", live)
	}
}

// watch waits for the child to exit, for a signal to forward, or for the live
// copy to change (then it stops the child and reports restart).
func (s *Supervisor) watch(ctx context.Context, cmd *exec.Cmd, done <-chan error, sigs <-chan os.Signal,
	tick <-chan time.Time, live string, started fingerprint) (restart bool, err error) {
	pending := fingerprint{}
	for {
		select {
		case err := <-done:
			return false, exitStatus(err)
		case sig := <-sigs:
			_ = cmd.Process.Signal(sig)
			// The child decides when to exit (it drains); a second signal is forwarded too.
		case <-ctx.Done():
			return false, s.stop(cmd, done)
		case <-tick:
			if live == "" {
				continue
			}
			now := stat(live)
			if !now.exists || now == started {
				pending = fingerprint{}
				continue
			}
			// Restart once the new copy has stopped changing for one poll.
			if now != pending {
				pending = now
				continue
			}
			if err := s.stop(cmd, done); err != nil {
				var exit *ExitError
				if !errors.As(err, &exit) {
					return false, err
				}
			}
			return true, nil
		}
	}
}

// stop sends SIGTERM, then SIGKILL after the grace period, and waits.
func (s *Supervisor) stop(cmd *exec.Cmd, done <-chan error) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(s.Grace)
	defer timer.Stop()
	select {
	case err := <-done:
		return exitStatus(err)
	case <-timer.C:
		_ = cmd.Process.Kill()
		return exitStatus(<-done)
	}
}

// exitStatus turns the child's end into nil or an *ExitError with the
// status a shell would report (128+signal for a signalled child).
func exitStatus(err error) error {
	if err == nil {
		return nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &ExitError{Code: 128 + int(ws.Signal())}
		}
		return &ExitError{Code: exit.ExitCode()}
	}
	return err
}
