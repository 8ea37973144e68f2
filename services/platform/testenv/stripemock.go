package testenv

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// StripeMockVersion is the stripe-mock release StripeMock runs, as
// scripts/install-stripe-mock.sh installs it.
const StripeMockVersion = "v0.203.0"

// StripeMockKey is a secret key stripe-mock accepts (any sk_test_… does;
// other keys are answered 401).
const StripeMockKey = "sk_test_123"

const stripeMockReadyTimeout = 30 * time.Second

var (
	stripeMockOnce sync.Once
	stripeMockURL  string
	stripeMockErr  error
)

// StripeMock returns the base URL (http://127.0.0.1:<port>) of stripe-mock,
// Stripe's API mock: it validates each request against Stripe's OpenAPI
// spec and answers fixture objects (it keeps no state and never declines).
// One server, on a free port of 127.0.0.1, serves the whole test binary;
// it stops when the tests end (testenv.Main) or the test binary dies.
//
// The binary comes from STRIPE_MOCK_BIN, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/goshop/stripe-mock-<StripeMockVersion>/stripe-mock,
// as scripts/install-stripe-mock.sh installs it; without it the test fails
// and says so.
func StripeMock(t testing.TB) string {
	t.Helper()
	stripeMockOnce.Do(func() { stripeMockURL, stripeMockErr = startStripeMock() })
	if stripeMockErr != nil {
		t.Fatalf("testenv: no stripe-mock %s for this test: %v\n"+
			"Fix: run scripts/install-stripe-mock.sh from the repository root (go install into the user's cache, ~1 min once), "+
			"or set STRIPE_MOCK_BIN to a stripe-mock binary.", StripeMockVersion, stripeMockErr)
	}
	return stripeMockURL
}

func startStripeMock() (string, error) {
	bin, err := stripeMockBinary()
	if err != nil {
		return "", err
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	logs := &LogBuffer{}
	// HTTPS would otherwise listen on every interface at the fixed port
	// 12112 (even when HTTP is given an address): an ephemeral loopback
	// port keeps test binaries from colliding.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:"+strconv.Itoa(port), "-https-addr", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = logs, logs
	p, err := launch(cmd)
	if err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
	}
	atExit(func() { p.stop(5 * time.Second) })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: 2 * time.Second}
	err = p.waitUntil(stripeMockReadyTimeout, func() error {
		// A request it answers from a fixture: the spec is loaded.
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/balance", nil)
		req.Header.Set("Authorization", "Bearer "+StripeMockKey)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /v1/balance: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		p.stop(time.Second)
		return "", fmt.Errorf("stripe-mock %v\n%s", err, lastLines(logs.String(), 20))
	}
	return base, nil
}

func stripeMockBinary() (string, error) {
	if bin := os.Getenv("STRIPE_MOCK_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("STRIPE_MOCK_BIN: %w", err)
		}
		return bin, nil
	}
	cache, err := os.UserCacheDir() // $XDG_CACHE_HOME, else $HOME/.cache
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, "goshop", "stripe-mock-"+StripeMockVersion, "stripe-mock")
	if _, err := os.Stat(bin); err != nil {
		return "", errors.New(bin + " not found")
	}
	return bin, nil
}
