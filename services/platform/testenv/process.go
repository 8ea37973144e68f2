package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a server process started by testenv: in its own process group
// (stopping it ends its children, e.g. n8n's task runner) and killed with
// the test binary (Pdeathsig), so a test killed by a timeout leaves nothing
// behind.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// launch starts cmd as a process.
func launch(cmd *exec.Cmd) (*process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig, cmd.SysProcAttr.Setpgid = syscall.SIGKILL, true
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// waitUntil polls ready every 100 ms until it returns nil; it fails when
// the process exits first or timeout passes.
func (p *process) waitUntil(timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("exited before it was ready (%v): %w", p.cmd.ProcessState, err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM to the group, and SIGKILL after grace; nil-safe.
func (p *process) stop(grace time.Duration) {
	if p == nil {
		return
	}
	// The whole process group, while its leader is still ours.
	pgid := -p.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-p.exited
	}
}

// rssMB is the resident memory of the process, 0 when unknown; nil-safe.
func (p *process) rssMB() int {
	if p == nil {
		return 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb / 1024
		}
	}
	return 0
}

// installMarker is written by scripts/install-directus.sh and
// install-n8n.sh after a complete install; it names the Node binary.
const installMarker = ".goshop-install"

// nodeInstall finds an npm-installed program: the folder from the
// environment variable homeVar, else <user cache>/goshop/<dirName>;
// entry (relative to it) must exist. The Node that runs it is the one the
// install marker names, or for a hand-made install (homeVar set, no marker)
// the one on PATH.
func nodeInstall(homeVar, dirName, entry string) (node, entryPath, home string, err error) {
	home = os.Getenv(homeVar)
	explicit := home != ""
	if !explicit {
		cache, err := os.UserCacheDir() // $XDG_CACHE_HOME, else $HOME/.cache
		if err != nil {
			return "", "", "", err
		}
		home = filepath.Join(cache, "goshop", dirName)
	}
	entryPath = filepath.Join(home, entry)
	if _, err := os.Stat(entryPath); err != nil {
		return "", "", "", fmt.Errorf("%s not found", entryPath)
	}
	marker, err := os.ReadFile(filepath.Join(home, installMarker))
	switch {
	case err == nil:
		for _, line := range strings.Split(string(marker), "\n") {
			if v, ok := strings.CutPrefix(line, "node="); ok {
				node = v
			}
		}
		if node == "" {
			return "", "", "", fmt.Errorf("%s names no node binary", filepath.Join(home, installMarker))
		}
	case explicit && errors.Is(err, os.ErrNotExist):
		// Its native modules must have been built with this Node.
		if node, err = exec.LookPath("node"); err != nil {
			return "", "", "", fmt.Errorf("%s has no install marker and no node is on PATH", homeVar)
		}
	default:
		return "", "", "", fmt.Errorf("install in %s is incomplete (no %s): %w", home, installMarker, err)
	}
	if _, err := os.Stat(node); err != nil {
		return "", "", "", fmt.Errorf("node for %s: %w", dirName, err)
	}
	return node, entryPath, home, nil
}
