package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/postgres"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestValidateURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"postgres://u:p@db:5432/shop?sslmode=disable", true},
		{"postgres://u:p@db:5432/shop", true}, // sslmode=prefer: two configs, one host
		{"postgres://u:p@pg-a:5432,pg-b:5433/shop?target_session_attrs=read-write", true},
		{"postgres://u:p@pg-a,pg-b/shop?sslmode=require&target_session_attrs=read-write", true},
		{"host=pg-a,pg-b port=5432,5433 user=u dbname=shop target_session_attrs=read-write", true},
		{"postgres://u:p@pg-a:5432,pg-b:5433/shop", false},                                // first host that answers, maybe a standby
		{"postgres://u:p@pg-a:5432,pg-b:5433/shop?target_session_attrs=primary", false},   // accepts a fenced primary
		{"postgres://u:p@pg-a:5432,pg-b:5433/shop?target_session_attrs=read-only", false}, // the services write
		{"postgres://u:p@db:5432/shop?target_session_attrs=bogus", false},
		{"", false},
	} {
		c := postgres.DefaultConfig()
		c.URL = config.Secret(tc.url)
		var msgs []string
		c.Validate("spec.database", func(path, msg string) { msgs = append(msgs, path+": "+msg) })
		if ok := len(msgs) == 0; ok != tc.ok {
			t.Errorf("Validate(%q): ok=%v %v, want ok=%v", tc.url, ok, msgs, tc.ok)
		}
	}
}

func TestIsUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "25006"}, true},
		{fmt.Errorf("decide: %w", &pgconn.PgError{Code: "57P01"}), true},
		{&pgconn.PgError{Code: "57P03"}, true},
		{&pgconn.PgError{Code: "08006"}, true},
		{fmt.Errorf("commit: %w", io.ErrUnexpectedEOF), true},
		{&pgconn.PgError{Code: "40001"}, false}, // retried at once, not unavailability
		{&pgconn.PgError{Code: "23505"}, false},
		{&pgconn.PgError{Code: "28P01"}, false}, // bad password: configuration, not availability
		{pgx.ErrNoRows, false},
		{context.Canceled, false},
	} {
		if got := postgres.IsUnavailable(tc.err); got != tc.want {
			t.Errorf("IsUnavailable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func prepareThings(ctx context.Context, url string) error {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, `CREATE TABLE things (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, port int NOT NULL)`)
	return err
}

func open(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	c := postgres.DefaultConfig()
	c.URL, c.MaxConns, c.ConnectTimeout = config.Secret(url), 4, time.Second
	pool, err := postgres.Open(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// warm fills the pool with n connections, all idle afterwards.
func warm(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	var conns []*pgxpool.Conn
	for range n {
		c, err := pool.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Release()
	}
}

// write stores the port of the server that took the row and returns it.
func write(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	var port int
	err := pool.QueryRow(ctx, `INSERT INTO things (port) VALUES (inet_server_port()) RETURNING port`).Scan(&port)
	return port, err
}

// writeAll runs n writes from 4 goroutines and returns every error.
func writeAll(pool *pgxpool.Pool, n int, wantPort int) []error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < n; i += 4 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				port, err := write(ctx, pool)
				cancel()
				if err == nil && port != wantPort {
					err = fmt.Errorf("write landed on port %d, want %d", port, wantPort)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return errs
}

func port(t *testing.T, url string) int {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	return int(cfg.Port)
}

// TestPoolFollowsCrashedPrimary: the primary crashes under a warm pool and
// the standby is promoted; until then every error the callers see is one
// IsUnavailable names, and afterwards every write lands on the new primary
// with no error (no stale connection is handed out).
func TestPoolFollowsCrashedPrimary(t *testing.T) {
	pair := testenv.NewPostgresPair(t, prepareThings, true)
	pool := open(t, pair.URL())
	warm(t, pool, 4)
	if errs := writeAll(pool, 20, port(t, pair.PrimaryURL())); len(errs) > 0 {
		t.Fatalf("writes before the failover: %v", errs)
	}
	pair.StopPrimary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err := write(ctx, pool)
	cancel()
	if err == nil || !postgres.IsUnavailable(err) {
		t.Fatalf("write with the primary down and the standby not promoted: %v, want an error IsUnavailable names", err)
	}
	pair.Promote(t)
	newPrimary := port(t, pair.StandbyURL())
	for i, err := range writeAll(pool, 40, newPrimary) {
		// The connections that were busy at the crash are gone; the idle
		// ones are pinged before use. Tolerate nothing but unavailability,
		// and only on the first use of each pooled connection.
		if !postgres.IsUnavailable(err) || i >= 4 {
			t.Errorf("write after the promotion: %v", err)
		}
	}
	if errs := writeAll(pool, 40, newPrimary); len(errs) > 0 {
		t.Fatalf("writes once the pool had met the new primary: %v", errs)
	}
}

// TestPoolDropsConnectionsToFencedPrimary: the old primary stays up but is
// switched to read-only (fenced, as a failover manager or a managed
// service's storage guard does) and the standby is promoted. Its pooled
// sessions still work and pass a ping, so a plain pool keeps handing them
// out and every write fails with 25006; Open's pool drops them and writes
// reach the new primary.
func TestPoolDropsConnectionsToFencedPrimary(t *testing.T) {
	pair := testenv.NewPostgresPair(t, prepareThings, false)
	pool := open(t, pair.URL())
	plain, err := pgxpool.New(context.Background(), pair.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plain.Close)
	warm(t, pool, 4)
	warm(t, plain, 4)
	for _, stmt := range []string{"ALTER SYSTEM SET default_transaction_read_only = on", "SELECT pg_reload_conf()"} {
		if _, err := pool.Exec(context.Background(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	pair.Promote(t)
	// The pools' connections must sit idle past pgxpool's ping threshold
	// (one second) so that the next acquire exchanges a message with the
	// server and learns its new setting: the situation of a pool after a
	// failover, which takes seconds.
	time.Sleep(1100 * time.Millisecond)

	var pgErr *pgconn.PgError
	if _, err := write(context.Background(), plain); !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Fatalf("plain pool after fencing: %v, want 25006 (else the hook in Open may be unnecessary)", err)
	}
	if errs := writeAll(pool, 40, port(t, pair.StandbyURL())); len(errs) > 0 {
		t.Fatalf("writes after the old primary was fenced and the standby promoted: %d failed, first: %v", len(errs), errs[0])
	}
}
