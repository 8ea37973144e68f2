package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/relay"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/syncconfig"
	"github.com/goshop-platform/shop/services/kernel/catalogevent"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type env struct {
	d      *testenv.DirectusServer
	db     *pgxpool.Pool
	dbURL  string
	client *directus.Client
	log    *slog.Logger
}

// newEnv starts one Directus with the goshop-catalog extension (as make
// dev, compose and the kind cluster run it) and the schema applied, and a
// migrated shop database.
func newEnv(t *testing.T) *env { return newEnvB(t) }

// newEnvREST is newEnv with a Directus without the extension: batches go
// through the REST API.
func newEnvREST(t *testing.T) *env { return newEnvB(t, false) }

func newEnvB(t testing.TB, withExtension ...bool) *env {
	t.Helper()
	var opts []testenv.DirectusOption
	if len(withExtension) == 0 || withExtension[0] {
		ext, err := filepath.Abs("../../directus/extensions/goshop-catalog")
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, testenv.DirectusExtension(ext))
	}
	d := testenv.Directus(t, opts...)
	dbURL := schematest.MigratedDatabase(t)
	db, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	c := directus.New(d.URL, d.AdminToken, 10*time.Second)
	if _, err := c.EnsureSchema(context.Background()); err != nil {
		t.Fatal(err)
	}
	lvl := slog.LevelWarn
	if os.Getenv("SYNC_TEST_DEBUG") != "" {
		lvl = slog.LevelDebug
	}
	return &env{d: d, db: db, dbURL: dbURL, client: c, log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))}
}

// createProduct inserts a product and its outbox event in one transaction,
// as the api does.
func (e *env) createProduct(t testing.TB, sku string, priceMinor int64) catalogevent.Product {
	t.Helper()
	return e.write(t, catalogevent.TypeUpserted, `INSERT INTO products (sku, name, description, price_minor, currency, stock, image_url)
		VALUES ($1, 'Product '||$1, 'About '||$1, $2, 'EUR', 10, 'https://img.example/'||$1||'.png') RETURNING `+catalogevent.Columns, sku, priceMinor)
}

// updateProduct changes name, price and stock and bumps the version.
func (e *env) updateProduct(t testing.TB, id int64, name string, priceMinor int64) catalogevent.Product {
	t.Helper()
	return e.write(t, catalogevent.TypeUpserted, `UPDATE products SET name = $2, price_minor = $3, stock = stock + 1,
		version = version + 1, updated_at = now() WHERE id = $1 RETURNING `+catalogevent.Columns, id, name, priceMinor)
}

func (e *env) archiveProduct(t testing.TB, id int64) catalogevent.Product {
	t.Helper()
	return e.write(t, catalogevent.TypeArchived, `UPDATE products SET active = false, archived_at = now(),
		version = version + 1, updated_at = now() WHERE id = $1 RETURNING `+catalogevent.Columns, id)
}

func (e *env) write(t testing.TB, typ, sql string, args ...any) catalogevent.Product {
	t.Helper()
	var p catalogevent.Product
	err := pgx.BeginFunc(context.Background(), e.db, func(tx pgx.Tx) error {
		var err error
		if p, err = catalogevent.Scan(tx.QueryRow(context.Background(), sql, args...)); err != nil {
			return err
		}
		return catalogevent.Enqueue(context.Background(), tx, typ, p, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	})
	if err != nil {
		t.Fatalf("write product: %v", err)
	}
	return p
}

func (e *env) postgresItems(t testing.TB) []directus.Item {
	t.Helper()
	rows, err := e.db.Query(context.Background(), `SELECT `+catalogevent.Columns+` FROM products ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalogevent.Product, error) { return catalogevent.Scan(r) })
	if err != nil {
		t.Fatal(err)
	}
	out := make([]directus.Item, len(ps))
	for i, p := range ps {
		out[i] = directus.ItemFrom(p)
	}
	return out
}

// publicItems reads the collection the way the storefront does: no token.
func (e *env) publicItems(t testing.TB) ([]directus.Item, error) {
	t.Helper()
	resp, err := http.Get(e.d.URL + "/items/products?limit=-1&sort=id&fields=" + directus.Fields)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("public GET /items/products: %d %s", resp.StatusCode, b)
	}
	var body struct {
		Data []directus.Item `json:"data"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return nil, err
	}
	sort.Slice(body.Data, func(i, j int) bool { return body.Data[i].ID < body.Data[j].ID })
	return body.Data, nil
}

// diff describes how Directus differs from Postgres ("" when equal).
func (e *env) diff(t testing.TB) string {
	t.Helper()
	want := e.postgresItems(t)
	got, err := e.publicItems(t)
	if err != nil {
		return err.Error()
	}
	if len(got) != len(want) {
		return fmt.Sprintf("Directus has %d items, Postgres %d products", len(got), len(want))
	}
	for i := range want {
		if !directus.Same(got[i], want[i]) {
			return fmt.Sprintf("item %d differs:\n directus %+v\n postgres %+v", want[i].ID, got[i], want[i])
		}
	}
	return ""
}

func (e *env) pending(t testing.TB) (pending, dead int) {
	t.Helper()
	err := e.db.QueryRow(context.Background(), `SELECT
		count(*) FILTER (WHERE processed_at IS NULL AND dead_at IS NULL), count(*) FILTER (WHERE dead_at IS NOT NULL)
		FROM catalog_outbox`).Scan(&pending, &dead)
	if err != nil {
		t.Fatal(err)
	}
	return pending, dead
}

// waitConverged polls until the outbox is drained and Directus equals Postgres.
func (e *env) waitConverged(t testing.TB, timeout time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	deadline := began.Add(timeout)
	for {
		p, _ := e.pending(t)
		msg := fmt.Sprintf("%d outbox events pending", p)
		if p == 0 {
			if msg = e.diff(t); msg == "" {
				return time.Since(began)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not converged after %s: %s", timeout, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// outcomes counts the settled outbox rows by outcome.
func (e *env) outcomes(t testing.TB) map[string]int {
	t.Helper()
	rows, err := e.db.Query(context.Background(), `SELECT outcome, count(*) FROM catalog_outbox WHERE outcome IS NOT NULL GROUP BY outcome`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	var k string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&k, &n}, func() error { out[k] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// eventRow is an outbox row written by hand (payload as JSON text).
type eventRow struct {
	productID, version int64
	payload            string
}

func eventJSON(p catalogevent.Product) string {
	b, _ := json.Marshal(catalogevent.Event{SchemaVersion: catalogevent.SchemaVersion, Type: catalogevent.TypeUpserted, Product: p})
	return string(b)
}

// insertEvents writes rows into the outbox in one transaction, so a relay
// sees them all at once.
func (e *env) insertEvents(t testing.TB, rows ...eventRow) {
	t.Helper()
	e.rewritePending(t, 0, rows...)
}

// rewritePending replaces the pending events of product (0: none) with rows
// in one transaction that holds the relay's push lock exclusively, as the
// reconcile does: a running relay finishes its batch first and starts the
// next one after the commit, so the test never races it for the rows.
func (e *env) rewritePending(t testing.TB, product int64, rows ...eventRow) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, e.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, relay.PushLockKey); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM catalog_outbox WHERE product_id = $1 AND processed_at IS NULL`, product); err != nil {
			return err
		}
		for _, r := range rows {
			if _, err := tx.Exec(ctx, `INSERT INTO catalog_outbox (product_id, product_version, event_type, schema_version, payload)
				VALUES ($1, $2, 'product.upserted', 1, $3)`, r.productID, r.version, r.payload); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("write outbox rows: %v", err)
	}
}

func waitFor(t testing.TB, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serviceSpec configures the wired service (as `catalog-sync serve` runs
// it) on e's database and Directus, as its own identity (token, created
// with the admin token), with the periodic reconcile off.
func (e *env) serviceSpec(t testing.TB, token string, directusTimeout time.Duration) syncconfig.Spec {
	t.Helper()
	spec := syncconfig.Defaults()
	spec.HTTP.Addr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	spec.HTTP.DrainDelay = 0
	spec.Database.URL = config.Secret(e.dbURL)
	spec.Directus.URL, spec.Directus.Token, spec.Directus.Timeout = e.d.URL, config.Secret(token), directusTimeout
	spec.Directus.AdminToken = config.Secret(e.d.AdminToken)
	spec.Reconcile.Interval = 0
	return spec
}
