package testenv

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// child is a server process owned by one test (Prometheus, Jaeger): its
// output goes to a LogBuffer, it gets SIGKILL if the test binary dies, and it
// is stopped (SIGTERM, then SIGKILL) when the test ends, its log printed if
// the test failed.
type child struct {
	name   string
	cmd    *exec.Cmd
	logs   *LogBuffer
	exited chan struct{}
}

func startChild(t testing.TB, name, bin string, args ...string) *child {
	t.Helper()
	c := &child{name: name, logs: &LogBuffer{}, exited: make(chan struct{})}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("testenv: start %s: %v", name, err)
	}
	go func() { _ = c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() {
		c.stop()
		if t.Failed() {
			t.Logf("testenv: last lines of the %s log:\n%s", name, lastLines(c.logs.String(), 40))
		}
	})
	return c
}

// waitReady polls ready until it succeeds, the process exits or timeout passes.
func (c *child) waitReady(t testing.TB, timeout time.Duration, ready func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return
		}
		select {
		case <-c.exited:
			t.Fatalf("testenv: %s exited before it was ready (%v):\n%s", c.name, c.cmd.ProcessState, lastLines(c.logs.String(), 40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: %s not ready after %s: %v\n%s", c.name, timeout, err, lastLines(c.logs.String(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *child) stop() {
	pgid := -c.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-c.exited
	}
}
