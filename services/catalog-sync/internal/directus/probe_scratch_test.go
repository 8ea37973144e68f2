package directus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestProbeScratch(t *testing.T) {
	d := testenv.Directus(t)
	ctx := context.Background()
	admin := directus.New(d.URL, d.AdminToken, 60*time.Second)
	if _, err := admin.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.EnsureIdentity(ctx, "svc-token-0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	svc := directus.New(d.URL, "svc-token-0123456789abcdef", 60*time.Second)
	var items []directus.Item
	for i := 1; i <= 500; i++ {
		items = append(items, directus.Item{ID: directus.Int64(i), SKU: fmt.Sprintf("S%d", i), Name: "name of product", Description: "a description", Price: "1.00", PriceMinor: 100, Currency: "EUR", Version: 1, Stock: 5, UpdatedAt: "2026-01-01T00:00:00.000Z"})
	}
	if err := admin.CreateMany(ctx, items); err != nil {
		t.Fatal(err)
	}
	v := 1
	for _, c := range []struct {
		name string
		cl   *directus.Client
	}{{"admin", admin}, {"service identity", svc}, {"admin", admin}, {"service identity", svc}} {
		for _, n := range []int{50, 500} {
			v++
			batch := make([]directus.Item, n)
			for i := range batch {
				batch[i] = items[i]
				batch[i].Version, batch[i].Stock = directus.Int64(v), directus.Int64(v)
				batch[i].UpdatedAt = fmt.Sprintf("2026-01-01T00:00:%02d.000Z", v)
			}
			began := time.Now()
			if _, err := c.cl.WriteBatch(ctx, batch); err != nil {
				t.Fatal(err)
			}
			el := time.Since(began)
			t.Logf("%s: %d stock changes in %v (%.2f ms/item)", c.name, n, el.Round(time.Millisecond), float64(el.Microseconds())/1000/float64(n))
		}
	}
}
