package livestack_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/platform/testenv"
)

// buildServices builds the three service binaries from this checkout.
func buildServices(t *testing.T) map[string]string {
	t.Helper()
	bins := map[string]string{}
	for _, name := range []string{"api", "order-worker", "catalog-sync"} {
		bins[name] = testenv.Binary(t, "../../services/"+name+"/cmd/"+name)
	}
	return bins
}

// service is a running service process with its admin/HTTP address.
type service struct {
	*testenv.Service
	addr string
}

func (s *service) base() string { return "http://" + s.addr }

// startService runs `bin serve` with env (plus the HTTP address variable
// prefix+"_HTTP_ADDR") and waits for /readyz. It is stopped with SIGTERM
// (the services flush their last spans) when t ends, its log printed if t
// failed.
func startService(t *testing.T, name, bin, prefix string, env ...string) *service {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	env = append(env, prefix+"_HTTP_ADDR="+addr, prefix+"_HTTP_DRAIN_DELAY=0s")
	s := &service{Service: testenv.StartService(t, name, bin, env, "serve"), addr: addr}
	s.WaitHTTP(t, s.base()+"/readyz", 30*time.Second)
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
