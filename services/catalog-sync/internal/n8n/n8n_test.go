package n8n_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/n8n"
)

func TestUpsertMapsAnswers(t *testing.T) {
	status, body := 200, `{"results":[{"id":7,"result":"updated"}]}`
	var got n8n.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			return
		case "/webhook/catalog-sync":
			if r.Method == http.MethodGet {
				http.Error(w, `{"message":"This webhook is not registered for GET requests. Did you mean to make a POST request?"}`, 404)
				return
			}
			_ = json.NewDecoder(r.Body).Decode(&got)
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, err := n8n.New(srv.URL+"/webhook/catalog-sync", time.Second, "http://cms", "tok", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out, err := c.Upsert(ctx, directus.Item{ID: 7, Version: 3})
	if err != nil || out != directus.Updated || len(got.Items) != 1 || got.Items[0].ID != 7 || got.DirectusURL != "http://cms" || got.DirectusToken != "tok" {
		t.Fatalf("outcome %q, err %v, request %+v", out, err, got)
	}
	// A batch: outcomes come back in the items' order, whatever the
	// workflow's order.
	body = `{"results":[{"id":9,"result":"stale"},{"id":"8","result":"created"}]}`
	outs, err := c.WriteBatch(ctx, []directus.Item{{ID: 8, Version: 1}, {ID: 9, Version: 4}})
	if err != nil || len(outs) != 2 || outs[0] != directus.Created || outs[1] != directus.Stale || len(got.Items) != 2 {
		t.Fatalf("batch outcomes %v, err %v, request %+v", outs, err, got)
	}
	body = `{"results":[{"id":8,"result":"created"}]}`
	if _, err := c.WriteBatch(ctx, []directus.Item{{ID: 8}, {ID: 9}}); err == nil || !strings.Contains(err.Error(), "no result for product 9") {
		t.Fatalf("an answer missing an item: %v", err)
	}
	status, body = 500, `{"message":"Error in workflow"}`
	if _, err := c.Upsert(ctx, directus.Item{ID: 7}); !directus.IsUnavailable(err) || !n8n.IsError(err, 500) {
		t.Fatalf("500: %v", err)
	}
	status, body = 400, `{}`
	if _, err := c.Upsert(ctx, directus.Item{ID: 7}); err == nil || directus.IsUnavailable(err) {
		t.Fatalf("400: %v", err)
	}
	status, body = 200, `{"results":[{"id":7,"result":"maybe"}]}`
	if _, err := c.Upsert(ctx, directus.Item{ID: 7}); err == nil {
		t.Fatal("unknown result accepted")
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	missing, _ := n8n.New(srv.URL+"/webhook/other", time.Second, "http://cms", "tok", nil)
	if err := missing.Ping(ctx); !directus.IsUnavailable(err) {
		t.Fatalf("ping of an unregistered webhook: %v", err)
	}
}
