package directus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/goshop-platform/shop/services/kernel/catalogevent"
)

// Item is a product as stored in Directus. Directus returns bigInteger
// columns as JSON strings, so the integer fields accept both forms.
type Item struct {
	ID          Int64  `json:"id"`
	SKU         string `json:"sku"`
	Name        string `json:"name"`
	Description string `json:"description"`
	PriceMinor  Int64  `json:"price_minor"`
	Price       string `json:"price"`
	Currency    string `json:"currency"`
	Stock       Int64  `json:"stock"`
	ImageURL    string `json:"image_url"`
	Active      bool   `json:"active"`
	Version     Int64  `json:"version"`
	UpdatedAt   string `json:"updated_at"`
}

// Fields is the fields= list that reads every Item field.
const Fields = "id,sku,name,description,price_minor,price,currency,stock,image_url,active,version,updated_at"

// Int64 decodes from a JSON number or a string holding one, and encodes as a number.
type Int64 int64

// UnmarshalJSON accepts 12 and "12"; null leaves zero.
func (n *Int64) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "null" || s == "" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*n = Int64(v)
	return nil
}

// ItemFrom maps a catalogue snapshot onto the Directus item.
func ItemFrom(p catalogevent.Product) Item {
	return Item{
		ID: Int64(p.ID), SKU: p.SKU, Name: p.Name, Description: p.Description,
		PriceMinor: Int64(p.PriceMinor), Price: DisplayPrice(p.PriceMinor, p.Currency), Currency: p.Currency,
		Stock: Int64(p.Stock), ImageURL: p.ImageURL, Active: p.Active, Version: Int64(p.Version),
		UpdatedAt: FormatTime(p.UpdatedAt),
	}
}

// FormatTime is how updated_at is written: UTC, milliseconds (Directus
// keeps no more), so a value read back compares equal.
func FormatTime(t time.Time) string {
	return t.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z")
}

// Same reports whether the item in Directus (d) already equals want in every
// field sync owns. Timestamps are compared as instants.
func Same(d, want Item) bool { return len(Changes(d, want)) == 1 }

// Changes is want as a batch-update element: its id and every field whose
// value differs from the stored item cur (timestamps compared as
// instants). Sending only these keeps Directus' per-item work small: a
// stock change is {id, stock, version, updated_at}.
func Changes(cur, want Item) map[string]any {
	m := map[string]any{"id": want.ID}
	set := func(field string, differs bool, v any) {
		if differs {
			m[field] = v
		}
	}
	set("sku", cur.SKU != want.SKU, want.SKU)
	set("name", cur.Name != want.Name, want.Name)
	set("description", cur.Description != want.Description, want.Description)
	set("price_minor", cur.PriceMinor != want.PriceMinor, want.PriceMinor)
	set("price", cur.Price != want.Price, want.Price)
	set("currency", cur.Currency != want.Currency, want.Currency)
	set("stock", cur.Stock != want.Stock, want.Stock)
	set("image_url", cur.ImageURL != want.ImageURL, want.ImageURL)
	set("active", cur.Active != want.Active, want.Active)
	set("version", cur.Version != want.Version, want.Version)
	set("updated_at", !sameInstant(cur.UpdatedAt, want.UpdatedAt), want.UpdatedAt)
	return m
}

func sameInstant(a, b string) bool {
	if a == b {
		return true
	}
	at, err1 := time.Parse(time.RFC3339Nano, a)
	bt, err2 := time.Parse(time.RFC3339Nano, b)
	return err1 == nil && err2 == nil && at.Equal(bt)
}

// minorDigits lists the ISO 4217 currencies whose minor unit is not 1/100.
var minorDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3, "CLF": 4, "UYW": 4,
}

// DisplayPrice renders minor units as the decimal a shopper reads: 1999 EUR
// is "19.99", 1500 JPY is "1500", 1999 KWD is "1.999". It is a string, not
// a Directus decimal column, because a decimal column has one fixed scale
// and would misprint the currencies with 0 or 3 minor digits; arithmetic
// uses price_minor.
func DisplayPrice(minor int64, currency string) string {
	digits, ok := minorDigits[strings.ToUpper(currency)]
	if !ok {
		digits = 2
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	s := strconv.FormatInt(minor, 10)
	if digits == 0 {
		return sign + s
	}
	for len(s) <= digits {
		s = "0" + s
	}
	return sign + s[:len(s)-digits] + "." + s[len(s)-digits:]
}

// Outcome says what Upsert did.
type Outcome string

// Upsert outcomes.
const (
	Created Outcome = "created"
	Updated Outcome = "updated"
	// Stale: Directus already holds this version or a newer one; nothing written.
	Stale Outcome = "stale"
)

// Upsert writes it unless Directus already holds the same or a newer
// version. Directus has no upsert, so:
//
//  1. PATCH by query: update the item only where id = it.ID and
//     version < it.Version. Directus selects the matching keys and updates
//     them; the answer lists what it updated.
//  2. Nothing updated: either the item does not exist or it is not older.
//     POST creates it; 400 RECORD_NOT_UNIQUE on id means it exists (or was
//     created meanwhile), so the guarded PATCH is tried once more and an
//     empty answer then means Directus is at least as new: Stale.
//
// The guard runs inside Directus, but Directus evaluates the filter and
// then updates in two statements, so a writer that changes the same item
// between them could be overwritten. catalog-sync never has two writers on
// one item at once: the relay holds the product's oldest outbox row locked
// while pushing it, and the reconcile excludes the relay with an advisory
// lock. Only a person editing that very item in the same milliseconds can
// slip in, and the reconcile undoes such edits anyway.
func (c *Client) Upsert(ctx context.Context, it Item) (Outcome, error) {
	n, err := c.patchIfOlder(ctx, it)
	if err != nil || n > 0 {
		return Updated, err
	}
	err = c.do(ctx, http.MethodPost, "/items/"+Collection+q("fields", "id"), it, nil)
	if err == nil {
		return Created, nil
	}
	var de *Error
	if !IsCode(err, "RECORD_NOT_UNIQUE") || (errorsAs(err, &de) && de.Field != "" && de.Field != "id") {
		return "", fmt.Errorf("create product %d: %w", it.ID, err)
	}
	if n, err = c.patchIfOlder(ctx, it); err != nil || n > 0 {
		return Updated, err
	}
	return Stale, nil
}

func (c *Client) patchIfOlder(ctx context.Context, it Item) (int, error) {
	body := map[string]any{
		"query": map[string]any{"filter": map[string]any{
			"id": map[string]any{"_eq": it.ID}, "version": map[string]any{"_lt": it.Version},
		}, "limit": 1},
		"data": it,
	}
	var updated []json.RawMessage
	if err := c.do(ctx, http.MethodPatch, "/items/"+Collection+q("fields", "id"), body, &updated); err != nil {
		return 0, fmt.Errorf("update product %d to version %d: %w", it.ID, it.Version, err)
	}
	return len(updated), nil
}

// Get reads one item; found is false when it does not exist.
func (c *Client) Get(ctx context.Context, id int64) (it Item, found bool, err error) {
	var items []Item
	err = c.do(ctx, http.MethodGet, "/items/"+Collection+q("filter[id][_eq]", itoa(id), "fields", Fields, "limit", "1"), nil, &items)
	if err != nil || len(items) == 0 {
		return Item{}, false, err
	}
	return items[0], true, nil
}

// List reads up to limit items with afterID < id <= maxID (maxID 0: no
// upper bound), in id order.
func (c *Client) List(ctx context.Context, afterID, maxID int64, limit int) ([]Item, error) {
	args := []string{"filter[id][_gt]", itoa(afterID), "sort", "id", "limit", strconv.Itoa(limit), "fields", Fields}
	if maxID > 0 {
		args = append(args, "filter[id][_lte]", itoa(maxID))
	}
	var items []Item
	if err := c.do(ctx, http.MethodGet, "/items/"+Collection+q(args...), nil, &items); err != nil {
		return nil, fmt.Errorf("list products after %d: %w", afterID, err)
	}
	return items, nil
}

// CreateMany creates items in one request.
func (c *Client) CreateMany(ctx context.Context, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	if err := c.do(ctx, http.MethodPost, "/items/"+Collection+q("fields", "id"), items, nil); err != nil {
		return fmt.Errorf("create %d products: %w", len(items), err)
	}
	return nil
}

// UpdateMany overwrites items (matched by id) in one request.
func (c *Client) UpdateMany(ctx context.Context, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	if err := c.do(ctx, http.MethodPatch, "/items/"+Collection+q("fields", "id"), items, nil); err != nil {
		return fmt.Errorf("update %d products: %w", len(items), err)
	}
	return nil
}

// DeleteMany removes the items with these ids in one request.
func (c *Client) DeleteMany(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if err := c.do(ctx, http.MethodDelete, "/items/"+Collection, ids, nil); err != nil {
		return fmt.Errorf("delete %d products: %w", len(ids), err)
	}
	return nil
}
