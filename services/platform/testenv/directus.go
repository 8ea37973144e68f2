package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// DirectusVersion is the Directus version that Directus starts. It is pinned in
// services/catalog-sync/directus/package.json (a test keeps the two equal)
// and installed by scripts/install-directus.sh.
const DirectusVersion = "12.4.0"

const (
	directusBootstrapTimeout = 3 * time.Minute
	directusReadyTimeout     = 90 * time.Second
	directusStopTimeout      = 10 * time.Second
)

// DirectusServer is a Directus process owned by one test, on its own fresh
// PostgreSQL database, reachable at URL with the admin's static token.
type DirectusServer struct {
	URL           string // http://127.0.0.1:<port>, no trailing slash
	AdminToken    string // static token of the admin user: "Authorization: Bearer <AdminToken>"
	AdminEmail    string
	AdminPassword string
	DatabaseURL   string // the PostgreSQL database Directus stores everything in

	node, runJS, dir string
	env              []string
	logs             *LogBuffer
	proc             *process // nil while stopped
}

// Directus starts a Directus for t alone and stops it when t ends: its own
// database, copied from a template that `directus bootstrap` (system
// tables, admin user with a static token) prepared once per test binary,
// and `start` in a fresh working directory, configured only through the
// environment, with telemetry and every other outbound call switched off.
// The process gets SIGKILL if the test binary dies. All servers of one test
// binary share the admin's credentials (each on its own database and port).
//
// Cost, measured on 2 cores (Debian 12, PostgreSQL 15, Node 22): the
// bootstrap 5-7 s, once per test binary; start until /server/ping answers
// 3-6 s per call; RSS 270-340 MB right after start, ~240 MB idle. A test
// should use one for all it checks, and tests that use one should not run
// in parallel in numbers.
//
// The install comes from DIRECTUS_HOME, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/goshop/directus-<DirectusVersion>, as
// written by scripts/install-directus.sh. Without it the test fails and says
// to run that script.
func Directus(t testing.TB, opts ...DirectusOption) *DirectusServer {
	t.Helper()
	node, runJS, home, err := nodeInstall("DIRECTUS_HOME", "directus-"+DirectusVersion, "node_modules/@directus/api/dist/cli/run.js")
	if err != nil {
		t.Fatalf("testenv: no Directus %s for tests: %v\n"+
			"Fix: run scripts/install-directus.sh from the repository root (installs Node 22 and Directus into the user's cache, ~1-2 min once), "+
			"or set DIRECTUS_HOME to a directory where `npm ci` of services/catalog-sync/directus was run.", DirectusVersion, err)
	}
	began := time.Now()
	admin := directusAdminOnce()
	dbURL := TemplateDatabase(t, "directus_"+strings.ReplaceAll(DirectusVersion, ".", "_"), func(ctx context.Context, url string) error {
		return bootstrapDirectus(ctx, node, runJS, home, url, admin)
	})
	dir := t.TempDir()
	for _, sub := range []string{"uploads", "extensions"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, opt := range opts {
		if err := opt(dir); err != nil {
			t.Fatalf("testenv: directus option: %v", err)
		}
	}
	port := FreePort(t)
	s := &DirectusServer{
		URL:           fmt.Sprintf("http://127.0.0.1:%d", port),
		AdminToken:    admin.token,
		AdminEmail:    admin.email,
		AdminPassword: admin.password,
		DatabaseURL:   dbURL,
		node:          node, runJS: runJS, dir: dir,
		logs: &LogBuffer{},
	}
	if s.env, err = directusEnv(node, home, dir, port, dbURL, admin); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	// Cleanups run last-registered first: stop the process, then report its
	// log if the test failed, then remove dir and drop the database.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: last lines of the Directus log (%s):\n%s", s.URL, lastLines(s.logs.String(), 60))
		}
	})
	t.Cleanup(s.stop)

	copied := time.Now()
	if err := s.start(); err != nil {
		t.Fatalf("testenv: directus start: %v\n%s", err, lastLines(s.logs.String(), 40))
	}
	t.Logf("testenv: Directus %s at %s: database %s (bootstrapped once per test binary), start %s, RSS %d MB",
		DirectusVersion, s.URL, copied.Sub(began).Round(100*time.Millisecond),
		time.Since(copied).Round(100*time.Millisecond), s.rssMB())
	return s
}

// directusAdmin is the admin user every Directus of this test binary has:
// the template database is bootstrapped with it.
type directusAdmin struct{ email, password, token string }

var directusAdminOnce = sync.OnceValue(func() directusAdmin {
	return directusAdmin{email: "admin@example.com", password: rand.Text(), token: rand.Text()}
})

// directusEnv is the whole environment of a Directus process: only what is
// listed here (an inherited DB_* or PORT would silently reconfigure it; no
// .env exists in dir, it would win).
func directusEnv(node, home, dir string, port int, dbURL string, admin directusAdmin) ([]string, error) {
	db, err := pgconn.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("parse database URL for Directus: %w", err)
	}
	return []string{
		"PATH=" + filepath.Dir(node) + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + dir,
		"TMPDIR=" + os.TempDir(),
		"HOST=127.0.0.1",
		"PORT=" + strconv.Itoa(port),
		"PUBLIC_URL=" + fmt.Sprintf("http://127.0.0.1:%d", port),
		"DB_CLIENT=pg",
		"DB_HOST=" + db.Host,
		"DB_PORT=" + strconv.Itoa(int(db.Port)),
		"DB_DATABASE=" + db.Database,
		"DB_USER=" + db.User,
		"DB_PASSWORD=" + db.Password,
		"SECRET=" + rand.Text(),
		"ADMIN_EMAIL=" + admin.email,
		"ADMIN_PASSWORD=" + admin.password,
		"ADMIN_TOKEN=" + admin.token,
		// Off the network: no usage reports, no project-owner reports, no
		// license server, no AI providers, no sendmail probe at start.
		"TELEMETRY=false",
		"PROJECT_OWNER_ENABLED=false",
		"LICENSE_KEY_MANAGEMENT_ENABLED=false",
		"AI_ENABLED=false",
		"EMAIL_VERIFY_SETUP=false",
		// Module extensions are looked up in the package.json of this
		// directory; the install's lists only directus (no extensions).
		"PACKAGE_FILE_LOCATION=" + home,
		"EXTENSIONS_PATH=" + filepath.Join(dir, "extensions"),
		"STORAGE_LOCAL_ROOT=" + filepath.Join(dir, "uploads"),
		"LOG_STYLE=raw",
		"LOG_LEVEL=info",
		// Browsers (the storefront's end-to-end tests) read the public
		// catalogue cross-origin; any origin may, as the data is public.
		"CORS_ENABLED=true",
		"CORS_ORIGIN=true",
	}, nil
}

// bootstrapDirectus runs `directus bootstrap` on the database at dbURL:
// the system tables and the admin user with its static token.
func bootstrapDirectus(ctx context.Context, node, runJS, home, dbURL string, admin directusAdmin) error {
	dir, err := os.MkdirTemp("", "directus-bootstrap-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env, err := directusEnv(node, home, dir, 0, dbURL, admin)
	if err != nil {
		return err
	}
	// The template's own deadline is for SQL; a bootstrap on a busy machine
	// may take longer.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), directusBootstrapTimeout)
	defer cancel()
	var logs LogBuffer
	cmd := exec.CommandContext(ctx, node, runJS, "bootstrap")
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("not done after %s: %w", directusBootstrapTimeout, err)
		}
		return fmt.Errorf("directus bootstrap: %w\n%s", err, lastLines(logs.String(), 40))
	}
	return nil
}

// DirectusOption prepares the server's directory before it starts.
type DirectusOption func(dir string) error

// DirectusExtension installs the Directus extension in folder src (a
// package.json with "directus:extension" and its entrypoint) into the
// server's extensions folder, as an operator copies one into
// EXTENSIONS_PATH.
func DirectusExtension(src string) DirectusOption {
	return func(dir string) error {
		return os.CopyFS(filepath.Join(dir, "extensions", filepath.Base(src)), os.DirFS(src))
	}
}

// Logs returns what Directus has logged so far (JSON lines).
func (s *DirectusServer) Logs() string { return s.logs.String() }

// Stop ends the process (SIGTERM, SIGKILL after 10 s) so the test can observe
// what happens while Directus is away.
func (s *DirectusServer) Stop(t testing.TB) {
	t.Helper()
	s.stop()
}

// Start runs a stopped server again on the same port and database.
func (s *DirectusServer) Start(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("testenv: restart Directus: %v\n%s", err, lastLines(s.logs.String(), 40))
	}
}

func (s *DirectusServer) command(ctx context.Context, arg string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.node, s.runJS, arg)
	cmd.Dir, cmd.Env = s.dir, s.env
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	// Pdeathsig: a test binary killed by a timeout must not leave a
	// 300 MB Node process behind. Setpgid lets stop kill its children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	return cmd
}

// start runs the server and waits until GET /server/ping answers "pong".
func (s *DirectusServer) start() error {
	p, err := launch(s.command(context.Background(), "start"))
	if err != nil {
		return err
	}
	s.proc = p
	client := &http.Client{Timeout: 2 * time.Second}
	if err := p.waitUntil(directusReadyTimeout, func() error { return ping(client, s.URL) }); err != nil {
		s.stop()
		return fmt.Errorf("GET /server/ping: %w", err)
	}
	return nil
}

func ping(client *http.Client, base string) error {
	resp, err := client.Get(base + "/server/ping")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "pong" {
		return fmt.Errorf("status %d, body %q", resp.StatusCode, body)
	}
	return nil
}

func (s *DirectusServer) stop() {
	s.proc.stop(directusStopTimeout)
	s.proc = nil
}

// rssMB is the resident memory of the running process, 0 when unknown.
func (s *DirectusServer) rssMB() int { return s.proc.rssMB() }

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
