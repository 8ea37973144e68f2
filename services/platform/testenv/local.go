package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgProcess is a PostgreSQL server running from the installed binaries in a
// temp dir. PostgreSQL refuses to run as root, so under root the server runs
// as the "postgres" system user that the package creates.
type pgProcess struct {
	bin, dir string
	port     int
	cred     *syscall.Credential
	cmd      *exec.Cmd
	// durable keeps synchronous_commit on: a server a test kills must not
	// lose commits (the shared server trades that for speed).
	durable bool
}

// localPostgres starts the shared server of this test binary from the
// binaries in bin.
func localPostgres(bin string) (string, error) {
	p, err := newPGProcess(bin, false)
	if err != nil {
		return "", err
	}
	atExit(func() { p.stop(); _ = os.RemoveAll(p.dir) })
	return p.adminURL(), nil
}

func newPGProcess(bin string, durable bool) (*pgProcess, error) {
	dir, err := os.MkdirTemp("", "shop-testpg-")
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential(dir)
	if err != nil {
		return nil, err
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "--auth=trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &pgProcess{bin: bin, dir: dir, port: port, cred: cred, durable: durable}
	return p, p.start()
}

func (p *pgProcess) adminURL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// start runs the server on its port and data dir and waits until it answers.
func (p *pgProcess) start() error {
	syncCommit := "off"
	if p.durable {
		syncCommit = "on"
	}
	srv := exec.Command(filepath.Join(p.bin, "postgres"), "-D", filepath.Join(p.dir, "data"), "-p", strconv.Itoa(p.port), "-k", p.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit="+syncCommit,
		"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=64MB")
	logf, _ := os.OpenFile(filepath.Join(p.dir, "postgres.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	srv.Stdout, srv.Stderr = logf, logf
	srv.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	p.cmd = srv
	err := waitFor(30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, p.adminURL())
		if err != nil {
			return err
		}
		return c.Close(ctx)
	})
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "postgres.log"))
		return fmt.Errorf("postgres did not start: %w\n%s", err, log)
	}
	return nil
}

// stop shuts the server down at once (SIGQUIT: immediate shutdown, like a crash).
func (p *pgProcess) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	_, _ = p.cmd.Process.Wait()
	p.cmd = nil
}

// PostgresServer is a PostgreSQL server owned by one test, which the test
// may stop and start again to prove behaviour while the database is away:
// a local server process, or a container (c) where the binaries are missing.
type PostgresServer struct {
	p *pgProcess
	c *container
}

// NewPostgresServer starts a dedicated server for t whose database "shop"
// prepare made ready.
func NewPostgresServer(t testing.TB, prepare Prepare) *PostgresServer {
	t.Helper()
	s := &PostgresServer{}
	bin, err := postgresBinDir()
	if err == nil && !forceDocker() {
		if s.p, err = newPGProcess(bin, true); err != nil {
			t.Fatalf("testenv: start a dedicated PostgreSQL: %v", err)
		}
		t.Cleanup(func() { s.p.stop(); _ = os.RemoveAll(s.p.dir) })
	} else {
		c, derr := dockerRun("postgres", true)
		if derr != nil {
			t.Fatalf("testenv: no dedicated PostgreSQL: %v\nFix: install the server (apt-get install -y postgresql) or %s.", errors.Join(err, derr), dockerFix)
		}
		s.c = c
		t.Cleanup(c.remove)
	}
	if err := adminExec(s.adminURL(), "CREATE DATABASE shop"); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	ctx, cancel := ctxTimeout()
	defer cancel()
	if err := prepare(ctx, s.URL()); err != nil {
		t.Fatalf("testenv: prepare the dedicated server's database: %v", err)
	}
	return s
}

// URL of the prepared "shop" database.
func (s *PostgresServer) URL() string { return withDatabase(s.adminURL(), "shop") }

func (s *PostgresServer) adminURL() string {
	if s.c != nil {
		return s.c.url
	}
	return s.p.adminURL()
}

// Stop kills the server (immediate shutdown) and waits for it to exit.
func (s *PostgresServer) Stop(t testing.TB) {
	t.Helper()
	if s.c == nil {
		s.p.stop()
	} else if err := s.c.signal("SIGQUIT"); err != nil {
		t.Fatalf("testenv: stop PostgreSQL: %v", err)
	}
}

// Start restarts a stopped server on the same port and data.
func (s *PostgresServer) Start(t testing.TB) {
	t.Helper()
	var err error
	if s.c == nil {
		err = s.p.start()
	} else {
		err = s.c.start()
	}
	if err != nil {
		t.Fatalf("testenv: restart PostgreSQL: %v", err)
	}
}

// postgresBinDir finds initdb and postgres: PG_BIN when set (and only
// there), else the newest /usr/lib/postgresql/*/bin, then PATH.
func postgresBinDir() (string, error) {
	if d := os.Getenv("PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("PG_BIN=%s holds no PostgreSQL server binaries: %w", d, err)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL server binaries (initdb, postgres) not found in PG_BIN, /usr/lib/postgresql/*/bin or PATH")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// serverCredential returns nil when not root; under root it returns the
// "postgres" user's ids and hands dir to that user.
func serverCredential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the 'postgres' system user to run the server (apt-get install postgresql creates it): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
