package testenv

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Service is a server process owned by one test: Prometheus and Jaeger
// here, or a service binary a test starts (api, order-worker, ...). Its
// output goes to a LogBuffer, it dies with the test binary, and when the
// test ends it is stopped (SIGTERM, so services flush their last spans;
// SIGKILL after 10 s) and its log printed if the test failed.
type Service struct {
	Name string
	Logs *LogBuffer
	proc *process
}

// StartService runs bin with args; env (KEY=value) is added to this
// process's environment.
func StartService(t testing.TB, name, bin string, env []string, args ...string) *Service {
	t.Helper()
	s := &Service{Name: name, Logs: &LogBuffer{}}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = s.Logs, s.Logs
	p, err := launch(cmd)
	if err != nil {
		t.Fatalf("testenv: start %s: %v", name, err)
	}
	s.proc = p
	t.Cleanup(func() {
		p.stop(10 * time.Second)
		if t.Failed() {
			t.Logf("testenv: last lines of the %s log:\n%s", name, lastLines(s.Logs.String(), 40))
		}
	})
	return s
}

// Pid is the process id.
func (s *Service) Pid() int { return s.proc.cmd.Process.Pid }

// WaitReady polls ready until it succeeds; the test fails when the process
// exits first or timeout passes.
func (s *Service) WaitReady(t testing.TB, timeout time.Duration, ready func() error) {
	t.Helper()
	if err := s.proc.waitUntil(timeout, ready); err != nil {
		t.Fatalf("testenv: %s %v\n%s", s.Name, err, lastLines(s.Logs.String(), 40))
	}
}

// WaitHTTP waits until GET url answers 200 (a /readyz).
func (s *Service) WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	s.WaitReady(t, timeout, func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	})
}
