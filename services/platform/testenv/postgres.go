package testenv

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/platform/schema"
)

var (
	pgOnce     sync.Once
	pgAdminURL string // a URL on the server with rights to create databases
	pgErr      error

	templateOnce sync.Once
	templateName string
	templateErr  error
	createMu     sync.Mutex
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

// MigratedDatabase returns the URL of a fresh database holding the shop's
// schema (all embedded migrations applied), dropped when t ends.
func MigratedDatabase(t testing.TB) string {
	t.Helper()
	if _, err := postgresServer(); err != nil {
		noPostgres(t, err)
	}
	templateOnce.Do(func() { templateName, templateErr = buildTemplate() })
	if templateErr != nil {
		t.Fatalf("testenv: prepare migrated template database: %v", templateErr)
	}
	return createDatabase(t, templateName)
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

func buildTemplate() (string, error) {
	admin, err := postgresServer()
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("shop_template_%d", os.Getpid())
	_ = adminExec(admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize())
	if err := adminExec(admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	atExit(func() {
		_ = adminExec(admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	ctx, cancel := ctxTimeout()
	defer cancel()
	pool, err := pgxpool.New(ctx, withDatabase(admin, name))
	if err != nil {
		return "", err
	}
	defer pool.Close()
	if _, err := schema.Migrate(ctx, pool); err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
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
