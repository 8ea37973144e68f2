package e2e_test

import "testing"

// The shop in a real browser on the real stack: browse the Directus
// catalogue, register, buy, watch the order confirmed live; an order beyond
// the stock fails with the reason; an admin's new product reaches the shop;
// a customer cannot open admin pages; then the order lifecycle: pay (a
// declined card, then 4242…), cancel (the stock comes back), an admin ships
// and delivers while the customer's page follows live, an admin cancels and
// refunds. Screenshots go to SCREENSHOT_DIR (default: web/e2e/screenshots,
// ignored by git); E2E_ONLY (a regular expression) picks scenarios by name.
func TestShopInTheBrowser(t *testing.T) {
	s := startStack(t)
	s.browse(t, "e2e/shop.e2e.mjs")
}
