// Package postgres opens the pgx connection pool every service uses and
// classifies the errors that callers retry (serialization failures,
// deadlocks) or report as unavailability (the database away, or failing
// over to a standby).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"syscall"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/platform/config"
)

// Config is the database part of a service's configuration document.
type Config struct {
	// URL is a libpq connection string or postgres:// URL; it usually holds
	// the password, so it is a secret. Against a replicated database it
	// names every server, e.g.
	// postgres://u:p@pg-a:5432,pg-b:5432/shop?target_session_attrs=read-write,
	// and the pool connects to whichever of them accepts writes.
	URL            config.Secret `json:"url"`
	MaxConns       int32         `json:"maxConns" jsonschema:"minimum=1,maximum=1000"`
	ConnectTimeout time.Duration `json:"connectTimeout"`
}

// DefaultConfig points at a local development database.
func DefaultConfig() Config {
	return Config{URL: "postgres://postgres@127.0.0.1:5432/shop?sslmode=disable", MaxConns: 10, ConnectTimeout: 5 * time.Second}
}

// Validate reports bad database settings with paths under prefix.
func (c Config) Validate(prefix string, add func(path, msg string)) {
	pc, err := pgxpool.ParseConfig(c.URL.Value())
	switch {
	case err != nil || c.URL == "":
		add(prefix+".url", "must be a PostgreSQL URL such as postgres://user:pass@host:5432/db")
	case len(hosts(pc.ConnConfig)) > 1 && !wantsWritable(pc.ConnConfig):
		// Without it pgx takes the first host that answers, which may be a
		// standby (after a failover, the old primary come back as one):
		// every write would fail while the pool looked healthy.
		add(prefix+".url", "names several hosts, so it must also set target_session_attrs=read-write (connect to the one that accepts writes)")
	}
	if c.MaxConns < 1 || c.MaxConns > 1000 {
		add(prefix+".maxConns", "must be between 1 and 1000")
	}
	if c.ConnectTimeout <= 0 {
		add(prefix+".connectTimeout", "must be a positive duration")
	}
}

// Open creates the pool. It does not wait for the database: services start
// and report unready until it answers.
func Open(ctx context.Context, c Config) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(c.URL.Value())
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	pc.MaxConns = c.MaxConns
	pc.ConnConfig.ConnectTimeout = c.ConnectTimeout
	// The pool pings a connection idle for over a second before handing it
	// out; a server that does not answer within the connect timeout (frozen,
	// gone behind a switch) costs that much, not the caller's whole deadline.
	pc.PingTimeout = c.ConnectTimeout
	// Client spans for queries inside a recorded trace only (otelpgx skips
	// calls without a recording parent); statements without parameters.
	pc.ConnConfig.Tracer = otelpgx.NewTracer(otelpgx.WithDisableConnectionDetailsInAttributes())
	if wantsWritable(pc.ConnConfig) {
		// target_session_attrs is checked only when a connection is made, so
		// a pooled connection outlives its server's change of role: a primary
		// fenced before a failover (or a managed server switched to read-only)
		// keeps its sessions, and the pool would hand them out, each write
		// failing with 25006, until MaxConnLifetime (an hour). The server
		// reports both settings on every round trip (PostgreSQL 14+), and the
		// pool pings a connection idle for more than a second before handing
		// it out, so reading them here costs nothing and drops such a
		// connection before use; the pool then connects anew, to the host
		// that accepts writes. Connections to a primary that crashed need
		// nothing extra: the ping (or the failed statement) closes them.
		pc.PrepareConn = func(_ context.Context, conn *pgx.Conn) (bool, error) {
			pg := conn.PgConn()
			return pg.ParameterStatus("default_transaction_read_only") != "on" && pg.ParameterStatus("in_hot_standby") != "on", nil
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("create database pool: %w", err)
	}
	return pool, nil
}

// IsRetryable reports a transaction error that succeeds when simply run
// again: serialization failure or deadlock.
func IsRetryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	return false
}

// IsUnavailable reports an error that says the database cannot serve the
// statement now but a new connection later may: it is unreachable or
// shutting down, the connection broke, or the server is not (or no longer)
// the primary (25006: read-only transaction; a connect that found no
// writable host). During a failover callers see these for the seconds until
// the standby is promoted; they retry with backoff, or answer 503 with
// Retry-After, instead of treating them as a bug (500) or bad input.
func IsUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "25006", // read_only_sql_transaction: a standby, or a fenced primary
			"57P01", "57P02", "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08") // connection_exception
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}

// hosts lists the distinct servers of a connection config (pgx adds a
// fallback per host for sslmode=prefer, with the same address).
func hosts(cc *pgx.ConnConfig) map[string]bool {
	hs := map[string]bool{fmt.Sprint(cc.Host, ":", cc.Port): true}
	for _, fb := range cc.Fallbacks {
		hs[fmt.Sprint(fb.Host, ":", fb.Port)] = true
	}
	return hs
}

// wantsWritable reports target_session_attrs=read-write. ParseConfig turns
// the setting into a ValidateConnect function and keeps nothing else of it,
// so the function is what can be compared. ("primary" is not enough: it
// accepts a fenced primary, which refuses writes.)
func wantsWritable(cc *pgx.ConnConfig) bool {
	return cc.ValidateConnect != nil &&
		reflect.ValueOf(cc.ValidateConnect).Pointer() == reflect.ValueOf(pgconn.ValidateConnectTargetSessionAttrsReadWrite).Pointer()
}

// IsUniqueViolation reports a unique-constraint error, optionally for a
// specific constraint name.
func IsUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return constraint == "" || pgErr.ConstraintName == constraint
	}
	return false
}
