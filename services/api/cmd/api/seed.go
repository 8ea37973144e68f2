package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/api/internal/product"
	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/postgres"
)

type demo struct {
	sku, name, desc string
	price           int64
	stock           int
}

var demoCatalogue = []demo{
	{"MUG-001", "Enamel mug", "Camp-fire proof enamel mug, 350 ml.", 1490, 120},
	{"TEE-002", "Organic T-shirt", "Heavyweight organic cotton, unisex fit.", 2900, 80},
	{"CAP-003", "Six-panel cap", "Washed cotton cap with brass buckle.", 2400, 35},
	{"BAG-004", "Canvas tote", "Waxed canvas tote with leather handles.", 4900, 20},
	{"BTL-005", "Insulated bottle", "Keeps drinks cold for 24 hours, 750 ml.", 3450, 60},
	{"NTB-006", "Dot-grid notebook", "A5, 192 pages, lay-flat binding.", 1800, 150},
	{"PEN-007", "Brass pen", "Solid brass ballpoint that ages beautifully.", 3900, 5},
	{"SOK-008", "Merino socks", "Cushioned merino hiking socks.", 1900, 3},
	{"LMP-009", "Desk lamp", "Dimmable LED desk lamp with USB-C.", 6900, 12},
	{"PLT-010", "Ceramic plant pot", "Hand-glazed pot with saucer, 14 cm.", 2200, 0},
}

// seedDemo adds a small catalogue (through the product store, so outbox
// events are written) when the catalogue is empty.
func seedDemo(ctx context.Context, doc *config.Document[apiconfig.Spec], log *slog.Logger) error {
	pool, err := postgres.Open(ctx, doc.Spec.Database)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := product.Store{DB: pool}
	page, err := store.List(ctx, product.ListQuery{Limit: 1})
	if err != nil {
		return fmt.Errorf("%w (run `api migrate` first)", err)
	}
	if page.Total > 0 {
		log.Info("seed-demo skipped: catalogue not empty", "products", page.Total)
		return nil
	}
	currency := "EUR"
	for _, d := range demoCatalogue {
		d := d
		img := "" // the storefront shows a placeholder; real images come from Directus later
		n := product.NewProduct{SKU: &d.sku, Name: &d.name, Description: &d.desc,
			PriceMinor: &d.price, Currency: &currency, ImageURL: &img, Stock: &d.stock}
		if _, err := store.Create(ctx, n, ""); err != nil {
			return fmt.Errorf("seed %s: %w", d.sku, err)
		}
	}
	log.Info("seed-demo added products", "count", len(demoCatalogue))
	return nil
}
