package testenv_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/platform/testenv"
)

// productsCollection is a products collection as catalog-sync will own it:
// the primary key is the Postgres product id, so it must not auto-increment.
const productsCollection = `{
  "collection": "products",
  "meta": {"icon": "inventory_2"},
  "schema": {},
  "fields": [
    {"field": "id", "type": "integer", "schema": {"is_primary_key": true, "has_auto_increment": false}},
    {"field": "name", "type": "string"},
    {"field": "price_minor", "type": "integer"},
    {"field": "currency", "type": "string", "schema": {"max_length": 3}}
  ]
}`

func TestDirectusStartsAndServesREST(t *testing.T) {
	d := testenv.Directus(t)

	status, body := call(t, d, http.MethodPost, "/collections", d.AdminToken, productsCollection)
	if status != http.StatusOK {
		t.Fatalf("POST /collections: %d %s", status, body)
	}
	var created struct {
		Data struct {
			Collection string `json:"collection"`
		} `json:"data"`
	}
	decode(t, body, &created)
	if created.Data.Collection != "products" {
		t.Fatalf("POST /collections created %q, want products: %s", created.Data.Collection, body)
	}

	status, body = call(t, d, http.MethodGet, "/fields/products/id", d.AdminToken, "")
	var field struct {
		Data struct {
			Type   string `json:"type"`
			Schema struct {
				IsPrimaryKey     bool `json:"is_primary_key"`
				HasAutoIncrement bool `json:"has_auto_increment"`
			} `json:"schema"`
		} `json:"data"`
	}
	decode(t, body, &field)
	if status != http.StatusOK || field.Data.Type != "integer" || !field.Data.Schema.IsPrimaryKey || field.Data.Schema.HasAutoIncrement {
		t.Fatalf("products.id is not an integer primary key without auto-increment: %d %s", status, body)
	}

	item := `{"id": 42, "name": "Espresso cup", "price_minor": 1299, "currency": "EUR"}`
	if status, body = call(t, d, http.MethodPost, "/items/products", d.AdminToken, item); status != http.StatusOK {
		t.Fatalf("POST /items/products: %d %s", status, body)
	}

	status, body = call(t, d, http.MethodGet, "/items/products/42", d.AdminToken, "")
	if status != http.StatusOK {
		t.Fatalf("GET /items/products/42: %d %s", status, body)
	}
	var got struct {
		Data map[string]any `json:"data"`
	}
	decode(t, body, &got)
	want := map[string]any{"id": 42.0, "name": "Espresso cup", "price_minor": 1299.0, "currency": "EUR"}
	if !reflect.DeepEqual(got.Data, want) {
		t.Fatalf("GET /items/products/42 = %v, want exactly %v", got.Data, want)
	}

	// Facts catalog-sync is built on: no upsert by POST, and nothing is
	// public until a permission says so.
	status, body = call(t, d, http.MethodPost, "/items/products", d.AdminToken, item)
	if status != http.StatusBadRequest || errorCode(t, body) != "RECORD_NOT_UNIQUE" {
		t.Fatalf("second POST of id 42: %d %s, want 400 RECORD_NOT_UNIQUE", status, body)
	}
	if status, body = call(t, d, http.MethodGet, "/items/products/42", "", ""); status != http.StatusForbidden {
		t.Fatalf("anonymous GET /items/products/42: %d %s, want 403", status, body)
	}
}

func TestDirectusRestartKeepsItems(t *testing.T) {
	d := testenv.Directus(t)
	if status, body := call(t, d, http.MethodPost, "/collections", d.AdminToken, productsCollection); status != http.StatusOK {
		t.Fatalf("POST /collections: %d %s", status, body)
	}
	if status, body := call(t, d, http.MethodPost, "/items/products", d.AdminToken, `{"id": 7, "name": "Kept"}`); status != http.StatusOK {
		t.Fatalf("POST /items/products: %d %s", status, body)
	}

	d.Stop(t)
	c := &http.Client{Timeout: 2 * time.Second}
	if resp, err := c.Get(d.URL + "/server/ping"); err == nil {
		resp.Body.Close()
		t.Fatalf("Directus answered %d while stopped", resp.StatusCode)
	}

	d.Start(t)
	status, body := call(t, d, http.MethodGet, "/items/products/7?fields=id,name", d.AdminToken, "")
	var got struct {
		Data map[string]any `json:"data"`
	}
	decode(t, body, &got)
	if want := map[string]any{"id": 7.0, "name": "Kept"}; status != http.StatusOK || !reflect.DeepEqual(got.Data, want) {
		t.Fatalf("after restart GET /items/products/7: %d %s, want %v", status, body, want)
	}
}

// The installer, package.json and testenv must agree on the version, or
// tests would look for an install that the script never makes.
func TestDirectusVersionMatchesPackageJSON(t *testing.T) {
	raw, err := os.ReadFile("../../catalog-sync/directus/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	decode(t, raw, &pkg)
	if got := pkg.Dependencies["directus"]; got != testenv.DirectusVersion {
		t.Fatalf("package.json pins directus %q, testenv.DirectusVersion is %q", got, testenv.DirectusVersion)
	}
}

func call(t *testing.T, d *testenv.DirectusServer, method, path, token, body string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = bytes.NewBufferString(body)
	}
	req, err := http.NewRequest(method, d.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func decode(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Errors []struct {
			Extensions struct {
				Code string `json:"code"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	decode(t, body, &e)
	if len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Extensions.Code
}
