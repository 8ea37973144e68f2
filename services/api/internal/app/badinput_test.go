package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// TestBadInputGetsPrecise4xx sends malformed, mistyped, unknown, oversized,
// out-of-range and unauthorised requests to every writing endpoint and
// checks each gets the right 4xx problem naming the field, and that nothing
// at all was written.
func TestBadInputGetsPrecise4xx(t *testing.T) {
	e := newEnv(t)
	admin := e.admin()
	cust, _ := e.customer("bad@example.com")
	p := e.createProduct(admin, "BASE-1", 5)
	prodPath := fmt.Sprintf("/api/v1/products/%d", p.ID)
	expired := signWith(t, e, jwt.MapClaims{"iss": e.spec.Auth.Issuer, "aud": "shop", "sub": "1", "role": "admin",
		"exp": time.Now().Add(-time.Minute).Unix(), "iat": time.Now().Add(-time.Hour).Unix()}, "k1")
	huge := []byte(`{"sku":"` + strings.Repeat("A", 2<<20) + `"}`)
	lines101 := make([][2]int, 101)
	for i := range lines101 {
		lines101[i] = [2]int{i + 1, 1}
	}
	okProduct := map[string]any{"sku": "NEW-1", "name": "n", "price_minor": 1, "currency": "EUR", "stock": 1}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range okProduct {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name   string
		r      req
		status int
		names  []string // field pointers / parameters the problem must name
	}{
		{"malformed JSON", req{method: "POST", path: "/api/v1/orders", token: cust, raw: []byte(`{"items": [`)}, 400, []string{"#"}},
		{"not JSON at all", req{method: "POST", path: "/api/v1/products", token: admin, raw: []byte(`sku=1`)}, 400, []string{"#"}},
		{"trailing garbage", req{method: "POST", path: "/api/v1/products", token: admin, raw: append(mustJSON(t, okProduct), []byte(` {}`)...)}, 400, []string{"#"}},
		{"invalid UTF-8", req{method: "POST", path: "/api/v1/auth/register", raw: []byte("{\"email\":\"a\xff@x.io\",\"password\":\"12345678\"}")}, 400, []string{"#"}},
		{"wrong type", req{method: "POST", path: "/api/v1/products", token: admin, body: with("price_minor", "12.00")}, 400, []string{"#/price_minor"}},
		{"wrong nested type", req{method: "POST", path: "/api/v1/orders", token: cust, raw: []byte(`{"items":[{"product_id":1,"quantity":"two"}]}`)}, 400, []string{"#/items/0/quantity"}},
		{"unknown field", req{method: "POST", path: "/api/v1/products", token: admin, body: with("colour", "red")}, 400, []string{"#/colour"}},
		{"repeated name", req{method: "POST", path: "/api/v1/orders", token: cust, raw: []byte(`{"items":[{"product_id":1,"quantity":1}],"items":[{"product_id":1,"quantity":900}]}`)}, 400, []string{"#/items"}},
		{"repeated name in a line, other case", req{method: "POST", path: "/api/v1/orders", token: cust, raw: []byte(`{"items":[{"product_id":1,"quantity":1,"QUANTITY":900}]}`)}, 400, []string{"#/items/0/QUANTITY"}},
		{"repeated name at login", req{method: "POST", path: "/api/v1/auth/login", raw: []byte(`{"email":"bad@example.com","password":"x","email":"admin@shop.test"}`)}, 400, []string{"#/email"}},
		{"missing field", req{method: "POST", path: "/api/v1/products", token: admin, body: with("currency", nil)}, 422, []string{"#/currency"}},
		{"negative price", req{method: "POST", path: "/api/v1/products", token: admin, body: with("price_minor", -1)}, 422, []string{"#/price_minor"}},
		{"huge price", req{method: "POST", path: "/api/v1/products", token: admin, body: with("price_minor", 1e30)}, 400, []string{"#/price_minor"}},
		{"negative stock", req{method: "POST", path: "/api/v1/products", token: admin, body: with("stock", -5)}, 422, []string{"#/stock"}},
		{"lower-case currency", req{method: "POST", path: "/api/v1/products", token: admin, body: with("currency", "eur")}, 422, []string{"#/currency"}},
		{"bad sku and name", req{method: "POST", path: "/api/v1/products", token: admin, body: with("sku", "has space")}, 422, []string{"#/sku"}},
		{"control chars in name", req{method: "POST", path: "/api/v1/products", token: admin, body: with("name", "a\u0000b")}, 422, []string{"#/name"}},
		{"javascript image url", req{method: "POST", path: "/api/v1/products", token: admin, body: with("image_url", "javascript:alert(1)")}, 422, []string{"#/image_url"}},
		{"oversized body", req{method: "POST", path: "/api/v1/products", token: admin, raw: huge}, 413, nil},
		{"no content type", req{method: "POST", path: "/api/v1/auth/login", raw: nil}, 415, nil},
		{"no lines", req{method: "POST", path: "/api/v1/orders", token: cust, body: orderBody()}, 422, []string{"#/items"}},
		{"101 lines", req{method: "POST", path: "/api/v1/orders", token: cust, body: orderBody(lines101...)}, 422, []string{"#/items"}},
		{"zero quantity", req{method: "POST", path: "/api/v1/orders", token: cust, body: orderBody([2]int{1, 0})}, 422, []string{"#/items/0/quantity"}},
		{"quantity 1001", req{method: "POST", path: "/api/v1/orders", token: cust, body: orderBody([2]int{1, 1001})}, 422, []string{"#/items/0/quantity"}},
		{"quantity overflow", req{method: "POST", path: "/api/v1/orders", token: cust, raw: []byte(`{"items":[{"product_id":1,"quantity":99999999999999999999}]}`)}, 400, []string{"#/items/0/quantity"}},
		{"negative product id", req{method: "POST", path: "/api/v1/orders", token: cust, body: orderBody([2]int{-3, 1})}, 422, []string{"#/items/0/product_id"}},
		{"duplicate lines", req{method: "POST", path: "/api/v1/orders", token: cust, body: orderBody([2]int{2, 1}, [2]int{2, 3})}, 422, []string{"#/items/1/product_id"}},
		{"bad idempotency key", req{method: "POST", path: "/api/v1/orders", token: cust, body: orderBody([2]int{1, 1}), headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 300)}}, 400, []string{"Idempotency-Key"}},
		{"no token", req{method: "POST", path: "/api/v1/orders", body: orderBody([2]int{1, 1})}, 401, nil},
		{"invalid token", req{method: "POST", path: "/api/v1/orders", token: "abc.def.ghi", body: orderBody([2]int{1, 1})}, 401, nil},
		{"expired token", req{method: "POST", path: "/api/v1/orders", token: expired, body: orderBody([2]int{1, 1})}, 401, nil},
		{"customer on admin route", req{method: "POST", path: "/api/v1/products", token: cust, body: okProduct}, 403, nil},
		{"customer adjusts stock", req{method: "POST", path: prodPath + "/stock-adjustments", token: cust, body: map[string]any{"delta": 1}}, 403, nil},
		{"zero delta", req{method: "POST", path: prodPath + "/stock-adjustments", token: admin, body: map[string]any{"delta": 0}}, 422, []string{"#/delta"}},
		{"stale If-Match", req{method: "PUT", path: prodPath, token: admin, headers: map[string]string{"If-Match": `"7"`}, body: with("stock", nil)}, 412, nil},
		{"missing If-Match", req{method: "PUT", path: prodPath, token: admin, body: with("stock", nil)}, 428, []string{"If-Match"}},
		{"malformed If-Match", req{method: "PUT", path: prodPath, token: admin, headers: map[string]string{"If-Match": "v1"}, body: with("stock", nil)}, 400, []string{"If-Match"}},
		{"stock in PUT", req{method: "PUT", path: prodPath, token: admin, headers: map[string]string{"If-Match": `"1"`}, body: okProduct}, 400, []string{"#/stock"}},
		{"bad email", req{method: "POST", path: "/api/v1/auth/register", body: map[string]string{"email": "not-an-email", "password": "12345678"}}, 422, []string{"#/email"}},
		{"display-name email", req{method: "POST", path: "/api/v1/auth/register", body: map[string]string{"email": "Eve <eve@x.io>", "password": "12345678"}}, 422, []string{"#/email"}},
		{"unicode email", req{method: "POST", path: "/api/v1/auth/register", body: map[string]string{"email": "аdmin@shop.test", "password": "12345678"}}, 422, []string{"#/email"}},
		{"short password", req{method: "POST", path: "/api/v1/auth/register", body: map[string]string{"email": "new@x.io", "password": "short"}}, 422, []string{"#/password"}},
		{"login missing password", req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"email": "new@x.io"}}, 422, []string{"#/password"}},
		{"bad paging", req{method: "GET", path: "/api/v1/products?limit=0&offset=-1"}, 400, []string{"limit", "offset"}},
		{"bad active filter", req{method: "GET", path: "/api/v1/products?active=maybe"}, 400, []string{"active"}},
		{"bad order status filter", req{method: "GET", path: "/api/v1/orders?status=lost", token: cust}, 400, []string{"status"}},
		{"non-numeric product id", req{method: "GET", path: "/api/v1/products/abc"}, 404, nil},
		{"non-uuid order id", req{method: "GET", path: "/api/v1/orders/123", token: cust}, 404, nil},
		{"unknown route", req{method: "GET", path: "/api/v1/nope", unlisted: true}, 404, nil},
		{"deeply nested JSON", req{method: "POST", path: "/api/v1/orders", token: cust, raw: []byte(`{"items":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`)}, 400, []string{"#/items/0"}},
		{"10,000 order lines", req{method: "POST", path: "/api/v1/orders", token: cust, body: orderBody(make10k()...)}, 422, []string{"#/items"}},
		{"SQL-looking search", req{method: "GET", path: "/api/v1/products?q=%27%3B%20DROP%20TABLE%20products%3B--"}, 200, nil},
		{"wrong method", req{method: "PATCH", path: prodPath, token: admin, body: okProduct, unlisted: true}, 405, nil},
	}
	before := snapshotCounts(e)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.r.badRequest = true
			if c.name == "no content type" {
				r := rawCall(t, e.base, c.r.method, c.r.path, `{"email":"a@b.io","password":"x"}`)
				expect(t, r, c.status).problem(t)
				return
			}
			r := expect(t, e.do(c.r), c.status)
			if c.status < 400 {
				return // a hostile-looking but valid request: answered normally
			}
			p := r.problem(t)
			if p.Status != c.status {
				t.Fatalf("problem status %d, HTTP %d", p.Status, c.status)
			}
			for _, n := range c.names {
				if !slices.Contains(p.names(), n) {
					t.Fatalf("problem names %v, want it to name %q; body %s", p.names(), n, r.body)
				}
			}
		})
	}
	if after := snapshotCounts(e); after != before {
		t.Fatalf("bad requests wrote data: before %+v, after %+v", before, after)
	}
}

func make10k() [][2]int {
	lines := make([][2]int, 10000)
	for i := range lines {
		lines[i] = [2]int{i + 1, 1}
	}
	return lines
}

type counts struct{ users, products, outbox, stream, version int }

func snapshotCounts(e *env) counts {
	n, _ := e.rdb.XLen(e.t.Context(), "new_orders").Result()
	return counts{
		users: e.count("SELECT count(*) FROM users"), products: e.count("SELECT count(*) FROM products"),
		outbox: e.count("SELECT count(*) FROM catalog_outbox"), stream: int(n),
		version: e.count("SELECT coalesce(sum(version), 0)::int FROM products"),
	}
}

// rawCall sends a body without a Content-Type header.
func rawCall(t *testing.T, base, method, path, body string) resp {
	t.Helper()
	hr, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b := make([]byte, 0, 1024)
	buf := make([]byte, 1024)
	for {
		n, err := res.Body.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			break
		}
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// TestDatabaseAwayIs503: with the database unreachable (as during a
// failover, until the standby is promoted) requests that need it get 503
// with Retry-After, not a 500.
func TestDatabaseAwayIs503(t *testing.T) {
	spec, keys := testSpec(t, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/shop?sslmode=disable", testenv.FreePort(t)), testenv.Redis(t))
	spec.Auth.BootstrapAdmin = apiconfig.BootstrapAdmin{}
	spec.Database.ConnectTimeout = time.Second
	e := startEnv(t, spec, keys)
	r := expect(t, e.do(req{method: "GET", path: "/api/v1/products"}), 503)
	if p := r.problem(t); p.Type != "/problems/database-unavailable" || r.header.Get("Retry-After") == "" {
		t.Fatalf("database away: %+v (Retry-After %q)", p, r.header.Get("Retry-After"))
	}
}
