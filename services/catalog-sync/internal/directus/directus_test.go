package directus_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/kernel/catalogevent"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestDisplayPrice(t *testing.T) {
	for _, c := range []struct {
		minor int64
		cur   string
		want  string
	}{{1999, "EUR", "19.99"}, {5, "USD", "0.05"}, {0, "EUR", "0.00"}, {1500, "JPY", "1500"}, {1999, "KWD", "1.999"}, {100, "XXX", "1.00"}} {
		if got := directus.DisplayPrice(c.minor, c.cur); got != c.want {
			t.Errorf("DisplayPrice(%d, %s) = %q, want %q", c.minor, c.cur, got, c.want)
		}
	}
}

func TestChangesSendsOnlyWhatDiffers(t *testing.T) {
	cur := directus.Item{ID: 7, SKU: "MUG", Name: "Mug", PriceMinor: 1999, Price: "19.99", Currency: "EUR", Stock: 5,
		Active: true, Version: 3, UpdatedAt: "2026-01-02T03:04:05.678Z"}
	want := cur
	want.Stock, want.Version, want.UpdatedAt = 4, 4, "2026-01-02T03:04:06.000Z"
	got := directus.Changes(cur, want)
	if len(got) != 4 || got["id"] != want.ID || got["stock"] != want.Stock || got["version"] != want.Version || got["updated_at"] != want.UpdatedAt {
		t.Fatalf("a stock change: %v, want id, stock, version, updated_at", got)
	}
	// The same instant written differently is no change.
	same := cur
	same.UpdatedAt = "2026-01-02T03:04:05.678+00:00"
	if got := directus.Changes(cur, same); len(got) != 1 || !directus.Same(cur, same) {
		t.Fatalf("equal items: %v", got)
	}
	every := directus.Item{ID: 7, SKU: "X", Name: "n", Description: "d", PriceMinor: 1, Price: "0.01", Currency: "USD", Stock: 1,
		ImageURL: "u", Active: false, Version: 9, UpdatedAt: "2027-01-01T00:00:00.000Z"}
	if got := directus.Changes(cur, every); len(got) != 12 {
		t.Fatalf("every field changed: %d fields in %v, want all 12", len(got), got)
	}
}

// One Directus for everything the client promises: schema, permissions,
// the version-guarded upsert and the batch endpoints.
func TestClientAgainstDirectus(t *testing.T) {
	d := testenv.Directus(t)
	ctx := context.Background()
	c := directus.New(d.URL, d.AdminToken, 10*time.Second)

	rep, err := c.EnsureSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.CreatedCollection || !rep.PublicRead {
		t.Fatalf("first EnsureSchema: %+v", rep)
	}
	if rep, err = c.EnsureSchema(ctx); err != nil || rep.Changed() {
		t.Fatalf("second EnsureSchema changed something: %+v %v", rep, err)
	}

	// The service identity: CRUD on products, nothing else.
	const svcToken = "catalog-sync-test-token-0123456789"
	if changed, err := c.EnsureIdentity(ctx, svcToken); err != nil || !changed {
		t.Fatalf("first EnsureIdentity: %v %v", changed, err)
	}
	if changed, err := c.EnsureIdentity(ctx, svcToken); err != nil || changed {
		t.Fatalf("second EnsureIdentity changed something: %v %v", changed, err)
	}
	svc := directus.New(d.URL, svcToken, 10*time.Second)
	if _, err := svc.Upsert(ctx, directus.Item{ID: 1000, SKU: "SVC", Name: "svc", Currency: "EUR", Version: 1, UpdatedAt: "2026-01-01T00:00:00.000Z"}); err != nil {
		t.Fatalf("service identity cannot upsert: %v", err)
	}
	if err := svc.DeleteMany(ctx, []int64{1000}); err != nil {
		t.Fatalf("service identity cannot delete: %v", err)
	}
	for _, path := range []string{"/collections", "/users", "/permissions"} {
		status, body := callToken(t, http.MethodPost, d.URL+path, svcToken, `{"collection":"x","email":"x@example.com"}`)
		if status != http.StatusForbidden {
			t.Errorf("service identity POST %s: %d %s, want 403", path, status, body)
		}
	}

	p := catalogevent.Product{ID: 7, SKU: "MUG-7", Name: "Mug", Description: "a mug", PriceMinor: 1999, Currency: "EUR",
		Stock: 3, ImageURL: "https://img/7.png", Active: true, Version: 3, UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC)}
	if out, err := c.Upsert(ctx, directus.ItemFrom(p)); err != nil || out != directus.Created {
		t.Fatalf("upsert v3: %s %v", out, err)
	}
	older := p
	older.Version, older.Name = 2, "Old mug"
	if out, err := c.Upsert(ctx, directus.ItemFrom(older)); err != nil || out != directus.Stale {
		t.Fatalf("upsert v2 over v3: %s %v, want stale", out, err)
	}
	if out, err := c.Upsert(ctx, directus.ItemFrom(p)); err != nil || out != directus.Stale {
		t.Fatalf("upsert v3 again: %s %v, want stale", out, err)
	}
	newer := p
	newer.Version, newer.Name, newer.Active = 4, "New mug", false
	if out, err := c.Upsert(ctx, directus.ItemFrom(newer)); err != nil || out != directus.Updated {
		t.Fatalf("upsert v4: %s %v, want updated", out, err)
	}
	got, found, err := c.Get(ctx, 7)
	if err != nil || !found || !directus.Same(got, directus.ItemFrom(newer)) {
		t.Fatalf("item 7 = %+v (found %v, %v), want %+v", got, found, err, directus.ItemFrom(newer))
	}

	// Public: read products without a token, write nothing.
	status, body := call(t, http.MethodGet, d.URL+"/items/products?fields=id,name,version,price", "")
	if status != 200 || !strings.Contains(body, `"name":"New mug"`) || !strings.Contains(body, `"price":"19.99"`) {
		t.Fatalf("public GET /items/products: %d %s", status, body)
	}
	for _, w := range []struct{ method, path, body string }{
		{http.MethodPost, "/items/products", `{"id":99,"sku":"X","name":"x","price_minor":1,"currency":"EUR","stock":1,"version":1}`},
		{http.MethodPatch, "/items/products/7", `{"name":"hacked"}`},
		{http.MethodDelete, "/items/products/7", ""},
		{http.MethodPost, "/collections", `{"collection":"evil","schema":{}}`},
		{http.MethodPost, "/permissions", `{"collection":"products","action":"create","fields":["*"]}`},
		{http.MethodGet, "/users", ""},
	} {
		req, _ := http.NewRequest(w.method, d.URL+w.path, strings.NewReader(w.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("anonymous %s %s: %d %s, want 403", w.method, w.path, resp.StatusCode, b)
		}
	}

	// Batch endpoints.
	var batch []directus.Item
	for i := int64(10); i < 15; i++ {
		q := p
		q.ID, q.SKU = i, "SKU-"+string(rune('A'+i))
		batch = append(batch, directus.ItemFrom(q))
	}
	if err := c.CreateMany(ctx, batch); err != nil {
		t.Fatal(err)
	}
	batch[0].Name, batch[1].Stock = "renamed", 99
	if err := c.UpdateMany(ctx, batch[:2]); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteMany(ctx, []int64{13, 14}); err != nil {
		t.Fatal(err)
	}
	items, err := c.List(ctx, 7, 12, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 || items[0].ID != 10 || items[0].Name != "renamed" || items[1].Stock != 99 || items[2].ID != 12 {
		t.Fatalf("list (7,12] = %+v", items)
	}
	if !directus.Same(items[0], batch[0]) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", items[0], batch[0])
	}

	// Without the goshop-catalog extension, WriteBatch uses the REST API.
	if ok, err := c.BulkAvailable(ctx); ok || err != nil {
		t.Fatalf("BulkAvailable without the extension: %v %v", ok, err)
	}
	// WriteBatch: one item missing (created), one older (updated), one
	// newer and one equal in Directus (stale, untouched), in one call.
	cur := map[int64]directus.Item{}
	for _, it := range items {
		cur[int64(it.ID)] = it
	}
	older10, newer11, same12 := cur[10], cur[11], cur[12]
	older10.Version, older10.Name = 2, "older than Directus"
	newer11.Version, newer11.Name = 4, "newer"
	missing := directus.ItemFrom(p)
	missing.ID, missing.SKU, missing.Version = 20, "SKU-NEW", 1
	outs, err := c.WriteBatch(ctx, []directus.Item{older10, newer11, missing, same12})
	if err != nil || len(outs) != 4 || outs[0] != directus.Stale || outs[1] != directus.Updated || outs[2] != directus.Created || outs[3] != directus.Stale {
		t.Fatalf("WriteBatch outcomes %v, %v; want stale, updated, created, stale", outs, err)
	}
	after, err := c.List(ctx, 9, 20, 100)
	if err != nil || len(after) != 4 || after[0].Name != "renamed" || after[1].Name != "newer" || after[3].SKU != "SKU-NEW" {
		t.Fatalf("after WriteBatch: %+v %v", after, err)
	}
	// A refused item fails the whole batch and writes nothing of it.
	refused := newer11
	refused.Version, refused.Currency = 5, "EURO"
	fresh := missing
	fresh.ID, fresh.SKU = 21, "SKU-21"
	if _, err := c.WriteBatch(ctx, []directus.Item{refused, fresh}); err == nil || directus.IsUnavailable(err) {
		t.Fatalf("WriteBatch with a value Directus refuses: %v, want a refusal", err)
	}
	if _, found, _ := c.Get(ctx, 21); found {
		t.Fatal("the batch with a refused item created its other item")
	}

	// Accountability (activity log and revisions) stays off: switched on
	// by hand, EnsureSchema switches it off again, and product writes then
	// leave no revisions.
	if status, body := callToken(t, http.MethodPatch, d.URL+"/collections/products", d.AdminToken, `{"meta":{"accountability":"all"}}`); status != 200 {
		t.Fatalf("switch accountability on: %d %s", status, body)
	}
	if rep, err := c.EnsureSchema(ctx); err != nil || !rep.NoAccountability {
		t.Fatalf("EnsureSchema with accountability on: %+v %v, want it switched off", rep, err)
	}
	newer11.Version = 6
	if _, err := c.WriteBatch(ctx, []directus.Item{newer11}); err != nil {
		t.Fatal(err)
	}
	if status, body := callToken(t, http.MethodGet, d.URL+"/revisions?filter[collection][_eq]=products&aggregate[count]=*", d.AdminToken, ""); status != 200 || !strings.Contains(body, `"count":0`) && !strings.Contains(body, `"count":"0"`) {
		t.Fatalf("revisions of products: %d %s, want none", status, body)
	}
}

func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func callToken(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
