package scenario_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/loadgen/scenario"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// Browse reads the public catalogue from a real Directus whose products
// collection a real catalog-sync built from Postgres: every page request
// succeeds without a token.
func TestBrowseReadsTheDirectusCatalogue(t *testing.T) {
	d := testenv.Directus(t)
	dbURL := schematest.MigratedDatabase(t)
	db, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids []int64
	for i := range 30 {
		var id int64
		if err := db.QueryRow(context.Background(), `INSERT INTO products (sku, name, description, price_minor, currency, stock, image_url, active)
			VALUES ($1, 'Product '||$1, '', 990, 'EUR', 50, '', $2) RETURNING id`, fmt.Sprintf("BR-%d", i), i%6 != 0).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	start(t, "catalog-sync", addr, "SYNC_DATABASE_URL="+dbURL, "SYNC_DIRECTUS_URL="+d.URL,
		"SYNC_DIRECTUS_TOKEN=loadgen-test-sync-token", "SYNC_DIRECTUS_ADMIN_TOKEN="+d.AdminToken,
		"SYNC_HTTP_ADDR="+addr, "SYNC_HTTP_DRAIN_DELAY=0s", "SYNC_TELEMETRY_LOG_LEVEL=warn")
	waitFor(t, 30*time.Second, "25 active products in Directus", func() bool { return activeInDirectus(d.URL) == 25 })

	cfg := scenario.Defaults()
	cfg.APIURL, cfg.DirectusURL, cfg.Products, cfg.BrowseLimit = "http://127.0.0.1:1", d.URL, ids, 10
	cfg.Mix, cfg.Follow = scenario.Mix{{Kind: scenario.Browse, Weight: 1}}, scenario.FollowNone
	cfg.Rate, cfg.Duration = vegeta.Rate{Freq: 20, Per: time.Second}, time.Second
	sum := run(t, cfg)
	if b := sum.Kind(scenario.Browse); b.Count == 0 || len(sum.Kinds) != 1 {
		t.Fatalf("browse-only run:\n%s", table(sum))
	}
}

// activeInDirectus counts the active products an anonymous visitor sees.
func activeInDirectus(base string) int {
	r, err := http.Get(base + "/items/products?filter[active][_eq]=true&aggregate[count]=id")
	if err != nil {
		return -1
	}
	defer r.Body.Close()
	var body struct {
		Data []struct {
			Count map[string]json.Number `json:"count"`
		} `json:"data"`
	}
	if r.StatusCode != http.StatusOK || json.NewDecoder(r.Body).Decode(&body) != nil || len(body.Data) != 1 {
		return -1
	}
	n, _ := body.Data[0].Count["id"].Int64()
	return int(n)
}
