package directus_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/kernel/catalogevent"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// extension is the goshop-catalog Directus extension as shipped.
func extension(t *testing.T) testenv.DirectusOption {
	t.Helper()
	dir, err := filepath.Abs("../../directus/extensions/goshop-catalog")
	if err != nil {
		t.Fatal(err)
	}
	return testenv.DirectusExtension(dir)
}

// The goshop-catalog extension on a real Directus: batch writes go through
// it in one request with the version guard inside the statement, a refused
// value writes nothing, and only callers allowed to create and update every
// product may use it (others get the REST batch write).
func TestBulkWriteThroughTheExtension(t *testing.T) {
	d := testenv.Directus(t, extension(t))
	ctx := context.Background()
	admin := directus.New(d.URL, d.AdminToken, 10*time.Second)
	if _, err := admin.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	const svcToken = "catalog-sync-bulk-test-token-0123"
	if _, err := admin.EnsureIdentity(ctx, svcToken); err != nil {
		t.Fatal(err)
	}
	svc := directus.New(d.URL, svcToken, 10*time.Second)
	if ok, err := svc.BulkAvailable(ctx); !ok || err != nil {
		t.Fatalf("the service identity cannot use the extension: %v %v\n%s", ok, err, d.Logs())
	}

	p := catalogevent.Product{ID: 1, SKU: "BULK-1", Name: "Mug", Description: "a mug", PriceMinor: 1999, Currency: "EUR",
		Stock: 3, ImageURL: "https://img/1.png", Active: true, Version: 3, UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 678000000, time.UTC)}
	item := func(id, version int64, name string) directus.Item {
		q := p
		q.ID, q.Version, q.Name, q.SKU = id, version, name, "BULK-"+name
		return directus.ItemFrom(q)
	}
	outs, err := svc.WriteBatch(ctx, []directus.Item{item(1, 3, "a"), item(2, 1, "b"), item(3, 5, "c")})
	if err != nil || len(outs) != 3 || outs[0] != directus.Created || outs[1] != directus.Created || outs[2] != directus.Created {
		t.Fatalf("first bulk write: %v %v", outs, err)
	}
	// Older (stale), newer (updated), equal (stale), new (created).
	outs, err = svc.WriteBatch(ctx, []directus.Item{item(1, 2, "older"), item(2, 2, "newer"), item(3, 5, "c"), item(4, 1, "d")})
	if err != nil || outs[0] != directus.Stale || outs[1] != directus.Updated || outs[2] != directus.Stale || outs[3] != directus.Created {
		t.Fatalf("second bulk write: %v %v, want stale, updated, stale, created", outs, err)
	}
	for id, want := range map[int64]string{1: "a", 2: "newer", 4: "d"} {
		got, found, err := svc.Get(ctx, id)
		if err != nil || !found || got.Name != want || !directus.Same(got, item(id, int64(got.Version), want)) {
			t.Fatalf("item %d = %+v (found %v, %v), want name %q and every field as sent", id, got, found, err, want)
		}
	}

	// A value Directus' database refuses fails the whole batch (400, not an
	// outage) and writes nothing of it.
	bad := item(2, 9, "bad")
	bad.Currency = "EURO"
	if _, err := svc.WriteBatch(ctx, []directus.Item{item(5, 1, "e"), bad}); err == nil || directus.IsUnavailable(err) ||
		!strings.Contains(err.Error(), "bulk write of 2 products") || !strings.Contains(err.Error(), "400") {
		t.Fatalf("a refused value: %v, want the extension's 400 refusal", err)
	}
	if _, found, _ := svc.Get(ctx, 5); found {
		t.Fatal("the refused batch wrote its other item")
	}

	// Who may call it: not anonymous, not a token without create and update
	// on products; such a client writes through the REST API instead.
	if status, body := call(t, http.MethodGet, d.URL+"/goshop-catalog", ""); status != http.StatusForbidden {
		t.Fatalf("anonymous GET /goshop-catalog: %d %s, want 403", status, body)
	}
	readOnly := readOnlyUser(t, d)
	ro := directus.New(d.URL, readOnly, 10*time.Second)
	if ok, err := ro.BulkAvailable(ctx); ok || err != nil {
		t.Fatalf("a read-only token may use the extension: %v %v", ok, err)
	}
	if status, body := callToken(t, http.MethodPost, d.URL+"/goshop-catalog/products", readOnly, `{"items":[{"id":9,"version":1}]}`); status != http.StatusForbidden {
		t.Fatalf("read-only POST: %d %s, want 403", status, body)
	}
	// Malformed batches are refused with a reason.
	for _, body := range []string{`{}`, `{"items":[]}`, `{"items":[{"id":1,"version":1},{"id":1,"version":2}]}`, `{"items":[{"id":"x","version":1}]}`} {
		if status, answer := callToken(t, http.MethodPost, d.URL+"/goshop-catalog/products", svcToken, body); status != http.StatusBadRequest || !strings.Contains(answer, "INVALID_PAYLOAD") {
			t.Errorf("POST %s: %d %s, want 400 INVALID_PAYLOAD", body, status, answer)
		}
	}
}

// readOnlyUser makes a user whose policy may only read products and
// returns its static token.
func readOnlyUser(t *testing.T, d *testenv.DirectusServer) string {
	t.Helper()
	post := func(path, body string) string {
		t.Helper()
		status, answer := callToken(t, http.MethodPost, d.URL+path, d.AdminToken, body)
		if status != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, status, answer)
		}
		var created struct {
			Data struct {
				ID json.RawMessage `json:"id"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(answer), &created); err != nil {
			t.Fatal(err)
		}
		return strings.Trim(string(created.Data.ID), `"`)
	}
	policy := post("/policies", `{"name":"products-reader","admin_access":false,"app_access":false}`)
	post("/permissions", `{"policy":"`+policy+`","collection":"products","action":"read","fields":["*"],"permissions":{},"validation":{}}`)
	const token = "read-only-token-0123456789abcdef"
	user := post("/users", `{"email":"reader@example.com","status":"active","token":"`+token+`"}`)
	post("/access", `{"user":"`+user+`","policy":"`+policy+`"}`)
	return token
}
