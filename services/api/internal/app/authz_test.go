package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestAuthorizationMatrix walks every operation of the OpenAPI document and
// calls it anonymously, as a customer and as an admin: operations that
// declare bearer security refuse anonymous callers with 401, the admin-only
// product writes refuse customers with 403, and nothing answers 5xx. A new
// route added to the contract is covered automatically.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	admin := e.admin()
	cust, _ := e.customer("matrix@example.com")
	p := e.createProduct(admin, "MATRIX-1", 5)
	var a accepted
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: cust, body: orderBody([2]int{int(p.ID), 1})}), 202).json(t, &a)
	adminOnly := map[string]bool{
		"POST /api/v1/products": true, "PUT /api/v1/products/{id}": true, "DELETE /api/v1/products/{id}": true,
		"POST /api/v1/products/{id}/stock-adjustments": true,
	}
	contract(t)
	checked := 0
	// Logging out everywhere ends the caller's sessions, its tokens too:
	// it is called last.
	const last = "POST /api/v1/auth/logout-everywhere"
	type operation struct {
		key, method, path string
		secured           bool
	}
	var ops, final []operation
	for path, item := range specModel.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			o := operation{strings.ToUpper(method) + " " + path, method, path, len(op.Security) > 0}
			if o.key == last {
				final = append(final, o)
			} else {
				ops = append(ops, o)
			}
		}
	}
	if len(final) != 1 {
		t.Fatalf("%s is not in the contract", last)
	}
	for _, o := range append(ops, final...) {
		key, method, path, secured := o.key, o.method, o.path, o.secured
		concrete := strings.ReplaceAll(path, "{id}", fmt.Sprint(p.ID))
		if strings.HasPrefix(path, "/api/v1/orders/{id}") {
			concrete = strings.ReplaceAll(path, "{id}", a.ID)
		}
		for _, who := range []struct{ name, token string }{{"anonymous", ""}, {"customer", cust}, {"admin", admin}} {
			status := rawStatus(t, e.base, strings.ToUpper(method), concrete, who.token)
			switch {
			case status >= 500:
				t.Errorf("%s as %s: %d", key, who.name, status)
			case who.token == "" && secured && status != http.StatusUnauthorized:
				t.Errorf("%s anonymously: %d, want 401", key, status)
			case who.name == "customer" && (adminOnly[key] || strings.HasPrefix(path, "/api/v1/admin/")) && status != http.StatusForbidden:
				t.Errorf("%s as customer: %d, want 403", key, status)
			case who.name == "admin" && (status == http.StatusUnauthorized || status == http.StatusForbidden):
				t.Errorf("%s as admin: %d", key, status)
			}
		}
		checked++
	}
	if checked < 15 {
		t.Fatalf("only %d operations in the contract", checked)
	}
}

// rawStatus calls an operation with an empty JSON object body (enough to
// get past authorization) and returns the status.
func rawStatus(t *testing.T, base, method, path, token string) int {
	t.Helper()
	var body *strings.Reader
	if method == http.MethodPost || method == http.MethodPut {
		body = strings.NewReader(`{}`)
	} else {
		body = strings.NewReader("")
	}
	r, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if strings.HasSuffix(path, "/events") {
		r.Header.Set("Last-Event-ID", "pending") // do not hold a stream open
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
