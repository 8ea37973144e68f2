package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// N8NVersion is the n8n version N8N starts. It is pinned in
// services/catalog-sync/n8n/package.json and installed by
// scripts/install-n8n.sh.
const N8NVersion = "2.41.1"

const (
	n8nImportTimeout = 3 * time.Minute
	n8nReadyTimeout  = 2 * time.Minute
	n8nStopTimeout   = 15 * time.Second
)

// N8NServer is an n8n process owned by one test, with its own user folder
// (SQLite database) and the workflows it was given imported and published.
type N8NServer struct {
	URL string // http://127.0.0.1:<port>, no trailing slash

	node, bin, dir string
	env            []string
	logs           *LogBuffer
	proc           *process // nil while stopped
}

// WebhookURL is the production URL of a webhook path ("catalog-sync").
func (s *N8NServer) WebhookURL(path string) string { return s.URL + "/webhook/" + path }

// Logs returns what n8n has logged so far.
func (s *N8NServer) Logs() string { return s.logs.String() }

// N8N starts an n8n for t alone and stops it when t ends. With n8n stopped
// it imports each workflow file (`n8n import:workflow`) and publishes it
// (`n8n publish:workflow --id`, so the file must carry an "id"), then runs
// `n8n start` on a free port of 127.0.0.1 with SQLite in a fresh user
// folder, configured only through the environment with every outbound call
// off. It returns once /healthz/readiness answers and each webhookPaths
// entry is registered (a webhook registers ~1 s after readiness); a probe
// is a GET, which n8n answers for a POST-only webhook with a 404 that says
// to use POST, and for an unregistered path with a plain 404.
// The process gets SIGKILL if the test binary dies.
//
// The install comes from N8N_HOME, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/goshop/n8n-<N8NVersion>, as written by
// scripts/install-n8n.sh.
func N8N(t testing.TB, workflows []string, webhookPaths ...string) *N8NServer {
	t.Helper()
	node, bin, _, err := nodeInstall("N8N_HOME", "n8n-"+N8NVersion, "node_modules/n8n/bin/n8n")
	if err != nil {
		t.Fatalf("testenv: no n8n %s for tests: %v\n"+
			"Fix: run scripts/install-n8n.sh from the repository root (installs Node 24 and n8n into the user's cache, ~4-5 min once), "+
			"or set N8N_HOME to a directory where `npm ci --ignore-scripts && npm rebuild sqlite3 isolated-vm` of services/catalog-sync/n8n was run.", N8NVersion, err)
	}
	dir := t.TempDir()
	port := FreePort(t)
	s := &N8NServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port), node: node, bin: bin, dir: dir, logs: &LogBuffer{}}
	s.env = []string{
		"PATH=" + filepath.Dir(node) + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + dir,
		"TMPDIR=" + os.TempDir(),
		"N8N_USER_FOLDER=" + dir,
		"N8N_LISTEN_ADDRESS=127.0.0.1",
		"N8N_PORT=" + strconv.Itoa(port),
		"WEBHOOK_URL=" + s.URL + "/",
		"N8N_ENCRYPTION_KEY=" + randomHex(t, 24),
		"DB_TYPE=sqlite",
		// Off the network: no telemetry, update checks, templates, banners,
		// license renewal or community package lookups.
		"N8N_DIAGNOSTICS_ENABLED=false",
		"N8N_PERSONALIZATION_ENABLED=false",
		"N8N_VERSION_NOTIFICATIONS_ENABLED=false",
		"N8N_TEMPLATES_ENABLED=false",
		"N8N_HIRING_BANNER_ENABLED=false",
		"N8N_LICENSE_AUTO_RENEW_ENABLED=false",
		"N8N_COMMUNITY_PACKAGES_ENABLED=false",
		"N8N_AI_ENABLED=false",
		"EXTERNAL_FRONTEND_HOOKS_URLS=",
		"N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS=false",
		"N8N_PUBLIC_API_DISABLED=true",
		"N8N_LOG_LEVEL=info",
		"N8N_LOG_OUTPUT=console",
		"NODE_ENV=production",
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: last lines of the n8n log (%s):\n%s", s.URL, lastLines(s.logs.String(), 80))
		}
	})
	t.Cleanup(s.stop)

	began := time.Now()
	for _, wf := range workflows {
		if err := s.importWorkflow(wf); err != nil {
			t.Fatalf("testenv: n8n import %s: %v\n%s", wf, err, lastLines(s.logs.String(), 40))
		}
	}
	imported := time.Now()
	if err := s.start(webhookPaths); err != nil {
		t.Fatalf("testenv: n8n start: %v\n%s", err, lastLines(s.logs.String(), 60))
	}
	t.Logf("testenv: n8n %s at %s: import+publish %s, start %s, RSS %d MB", N8NVersion, s.URL,
		imported.Sub(began).Round(100*time.Millisecond), time.Since(imported).Round(100*time.Millisecond), s.proc.rssMB())
	return s
}

func (s *N8NServer) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.node, append([]string{s.bin}, args...)...)
	cmd.Dir, cmd.Env = s.dir, s.env
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	// Pdeathsig: a test binary killed by a timeout must not leave n8n (and
	// its task runner) behind; Setpgid lets stop end the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

func (s *N8NServer) importWorkflow(file string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var wf struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &wf); err != nil || wf.ID == "" {
		return fmt.Errorf("%s: not a workflow with an id (%v)", file, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), n8nImportTimeout)
	defer cancel()
	if err := s.command(ctx, "import:workflow", "--input="+file).Run(); err != nil {
		return fmt.Errorf("import:workflow: %w", err)
	}
	if err := s.command(ctx, "publish:workflow", "--id="+wf.ID).Run(); err != nil {
		return fmt.Errorf("publish:workflow --id=%s: %w", wf.ID, err)
	}
	return nil
}

func (s *N8NServer) start(webhookPaths []string) error {
	p, err := launch(s.command(context.Background(), "start"))
	if err != nil {
		return err
	}
	s.proc = p
	client := &http.Client{Timeout: 2 * time.Second}
	probes := append([]string{"/healthz/readiness"}, webhookPaths...)
	next := 0 // probes pass in order: readiness first, then each webhook
	err = p.waitUntil(n8nReadyTimeout, func() error {
		for ; next < len(probes); next++ {
			url := s.URL + probes[next]
			if next > 0 {
				url = s.WebhookURL(probes[next])
			}
			if err := n8nProbe(client, url, next == 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.stop()
	}
	return err
}

// n8nProbe checks the readiness endpoint (200) or that a webhook is
// registered: a POST-only webhook answers a GET with 404 too, but says so
// ("not registered for GET requests. Did you mean to make a POST
// request?"); an unknown path says it is not registered.
func n8nProbe(client *http.Client, url string, readiness bool) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	registered := resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "Did you mean to make a")
	if (readiness && resp.StatusCode != http.StatusOK) || (!readiness && !registered) {
		return fmt.Errorf("GET %s answers %d", url, resp.StatusCode)
	}
	return nil
}

func (s *N8NServer) stop() {
	s.proc.stop(n8nStopTimeout)
	s.proc = nil
}
