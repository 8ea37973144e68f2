// Package postgres opens the pgx connection pool every service uses and
// classifies the errors that callers retry (serialization failures,
// deadlocks) or report as unavailability.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/platform/config"
)

// Config is the database part of a service's configuration document.
type Config struct {
	// URL is a libpq connection string or postgres:// URL; it usually holds
	// the password, so it is a secret.
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
	if _, err := pgxpool.ParseConfig(c.URL.Value()); err != nil || c.URL == "" {
		add(prefix+".url", "must be a PostgreSQL URL such as postgres://user:pass@host:5432/db")
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
	// Client spans for queries inside a recorded trace only (otelpgx skips
	// calls without a recording parent); statements without parameters.
	pc.ConnConfig.Tracer = otelpgx.NewTracer(otelpgx.WithDisableConnectionDetailsInAttributes())
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

// IsUniqueViolation reports a unique-constraint error, optionally for a
// specific constraint name.
func IsUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return constraint == "" || pgErr.ConstraintName == constraint
	}
	return false
}
