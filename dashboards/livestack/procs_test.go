package livestack_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/platform/testenv"
)

// buildServices builds the three service binaries from this checkout, in
// parallel, into a temp dir.
func buildServices(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	bins := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range []string{"api", "order-worker", "catalog-sync"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bin := filepath.Join(dir, name)
			out, err := exec.Command("go", "build", "-o", bin, "../../services/"+name+"/cmd/"+name).CombinedOutput()
			if err != nil {
				t.Errorf("build %s: %v\n%s", name, err, out)
			}
			mu.Lock()
			bins[name] = bin
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return bins
}

// service is a running service process with its admin/HTTP address.
type service struct {
	name, addr string
	logs       *testenv.LogBuffer
}

func (s *service) base() string { return "http://" + s.addr }

// startService runs `bin serve` with env (plus the HTTP address variable
// prefix+"_HTTP_ADDR") and waits for /readyz. It is killed when t ends and
// its log printed if t failed.
func startService(t *testing.T, name, bin, prefix string, env ...string) *service {
	t.Helper()
	s := &service{name: name, addr: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), logs: &testenv.LogBuffer{}}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, prefix+"_HTTP_ADDR="+s.addr, prefix+"_HTTP_DRAIN_DELAY=0s")
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// SIGTERM first: the services flush their last spans on shutdown.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s log (last lines):\n%s", name, lastLines(s.logs.String(), 30))
		}
	})
	eventually(t, 30*time.Second, name+" /readyz 200", func() (bool, string) {
		select {
		case <-exited:
			t.Fatalf("%s exited before it was ready:\n%s", name, s.logs.String())
		default:
		}
		resp, err := http.Get(s.base() + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return s
}

// eventually polls cond until it holds or timeout passes; cond also says
// what it saw, for the failure message.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %s; last: %s", what, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
