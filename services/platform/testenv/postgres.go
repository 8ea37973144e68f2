package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

var (
	pgOnce     sync.Once
	pgAdminURL string // a URL on the server with rights to create databases
	pgErr      error

	templatesMu sync.Mutex
	templates   = map[string]*template{}
	createMu    sync.Mutex
)

func postgresServer() (string, error) {
	pgOnce.Do(func() {
		if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
			pgAdminURL = u
			return
		}
		bin, err := postgresBinDir()
		if err == nil && !forceDocker() {
			pgAdminURL, pgErr = localPostgres(bin)
			return
		}
		c, derr := dockerRun("postgres", false)
		if derr != nil {
			pgErr = errors.Join(err, derr)
			return
		}
		pgAdminURL = c.url
	})
	return pgAdminURL, pgErr
}

// Database returns the URL of a fresh, empty database that is dropped when t ends.
func Database(t testing.TB) string {
	t.Helper()
	return createDatabase(t, "")
}

// Prepare makes an empty database ready, e.g. applies migrations; url names it.
type Prepare func(ctx context.Context, url string) error

// template is one prepared template database, built once per test binary.
type template struct {
	once sync.Once
	name string
	err  error
}

// TemplateDatabase returns the URL of a fresh database copied from a
// template that prepare made ready once per test binary (keyed by key, so
// each kind of database is prepared once), dropped when t ends.
func TemplateDatabase(t testing.TB, key string, prepare Prepare) string {
	t.Helper()
	if _, err := postgresServer(); err != nil {
		noPostgres(t, err)
	}
	templatesMu.Lock()
	tpl := templates[key]
	if tpl == nil {
		tpl = &template{}
		templates[key] = tpl
	}
	templatesMu.Unlock()
	tpl.once.Do(func() { tpl.name, tpl.err = buildTemplate(key, prepare) })
	if tpl.err != nil {
		t.Fatalf("testenv: prepare template database %s: %v", key, tpl.err)
	}
	return createDatabase(t, tpl.name)
}

func createDatabase(t testing.TB, template string) string {
	admin, err := postgresServer()
	if err != nil {
		noPostgres(t, err)
	}
	name := dbName(t)
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		stmt += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if err := adminExec(admin, stmt); err != nil {
		t.Fatalf("testenv: %s: %v", stmt, err)
	}
	t.Cleanup(func() {
		_ = adminExec(admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	return withDatabase(admin, name)
}

func noPostgres(t testing.TB, err error) {
	t.Helper()
	t.Fatalf("testenv: no PostgreSQL for tests: %v\n"+
		"Fix: install the server (apt-get install -y postgresql), set TEST_DATABASE_URL to a server where the tests may create databases, or %s.", err, dockerFix)
}

func adminExec(admin, stmt string) error {
	// CREATE DATABASE ... TEMPLATE fails while another copy of the template
	// is in progress; serialising is cheap (tens of milliseconds each).
	createMu.Lock()
	defer createMu.Unlock()
	ctx, cancel := ctxTimeout()
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

func buildTemplate(key string, prepare Prepare) (string, error) {
	admin, err := postgresServer()
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("template_%s_%d", key, os.Getpid())
	_ = adminExec(admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize())
	if err := adminExec(admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	atExit(func() {
		_ = adminExec(admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	ctx, cancel := ctxTimeout()
	defer cancel()
	if err := prepare(ctx, withDatabase(admin, name)); err != nil {
		return "", fmt.Errorf("prepare template: %w", err)
	}
	return name, nil
}

// withDatabase replaces the database name in a postgres:// URL.
func withDatabase(admin, db string) string {
	u, err := url.Parse(admin)
	if err != nil || u.Scheme == "" {
		panic(errors.New("testenv: TEST_DATABASE_URL must be a postgres:// URL"))
	}
	u.Path = "/" + db
	return u.String()
}
