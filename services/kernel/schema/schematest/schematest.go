// Package schematest hands tests PostgreSQL databases that hold the shop's
// schema (every embedded migration applied), through the generic test
// environment of the platform module: a fresh copy of a template migrated
// once per test binary, or a dedicated server a test may stop and restart.
package schematest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/kernel/schema"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// MigratedDatabase returns the URL of a fresh database holding the shop's
// schema, dropped when t ends.
func MigratedDatabase(t testing.TB) string {
	t.Helper()
	return testenv.TemplateDatabase(t, "shop", Migrate)
}

// NewPostgresServer starts a dedicated PostgreSQL server for t whose
// database "shop" holds the shop's schema (outage and failover tests).
func NewPostgresServer(t testing.TB) *testenv.PostgresServer {
	t.Helper()
	return testenv.NewPostgresServer(t, Migrate)
}

// Migrate applies the shop's migrations to the database at url (a
// testenv.Prepare for servers a test starts itself).
func Migrate(ctx context.Context, url string) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = schema.Migrate(ctx, pool)
	return err
}
