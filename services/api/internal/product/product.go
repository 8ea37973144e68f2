// Package product is the catalogue as the api manages it: validation of
// product fields, optimistic concurrency on the version, archiving instead
// of deleting, and stock adjustments by delta. Every write records a
// catalogue event in the same transaction (transactional outbox), which
// catalog-sync relays to Directus.
package product

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goshop-platform/shop/services/platform/problem"
)

// Domain errors, mapped to HTTP status at the edge.
var (
	ErrNotFound        = errors.New("product not found")
	ErrVersionMismatch = errors.New("product was changed by someone else")
	ErrSKUTaken        = errors.New("sku already used by another product")
	ErrArchived        = errors.New("product is archived")
)

// Product is one catalogue entry. Money is in minor units of Currency.
type Product struct {
	ID          int64      `json:"id"`
	SKU         string     `json:"sku"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	PriceMinor  int64      `json:"price_minor"`
	Currency    string     `json:"currency"`
	Stock       int        `json:"stock"`
	ImageURL    string     `json:"image_url"`
	Active      bool       `json:"active"`
	Version     int64      `json:"version"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ArchivedAt  *time.Time `json:"archived_at"`
}

// Fields are the admin-editable attributes (everything but stock, which
// only changes through adjustments and orders).
type Fields struct {
	SKU         *string `json:"sku"`
	Name        *string `json:"name"`
	Description *string `json:"description"`
	PriceMinor  *int64  `json:"price_minor"`
	Currency    *string `json:"currency"`
	ImageURL    *string `json:"image_url"`
	Active      *bool   `json:"active"`
}

// NewProduct is the body of a create request: the fields plus initial
// stock. (Not an embedded Fields: decoding errors must name "price_minor",
// not "Fields.price_minor".)
type NewProduct struct {
	SKU         *string `json:"sku"`
	Name        *string `json:"name"`
	Description *string `json:"description"`
	PriceMinor  *int64  `json:"price_minor"`
	Currency    *string `json:"currency"`
	ImageURL    *string `json:"image_url"`
	Active      *bool   `json:"active"`
	Stock       *int    `json:"stock"`
}

// Fields returns the editable part of a create request.
func (n *NewProduct) Fields() Fields {
	return Fields{SKU: n.SKU, Name: n.Name, Description: n.Description, PriceMinor: n.PriceMinor,
		Currency: n.Currency, ImageURL: n.ImageURL, Active: n.Active}
}

// Limits.
const (
	MaxPriceMinor = 1_000_000_000_00 // one billion in major units
	MaxStock      = 1_000_000_000
	MaxAdjust     = 1_000_000_000
)

var (
	skuPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Validate checks every field for a full replacement (PUT) or creation;
// required fields must be present. Defaults: description "", image_url "", active true.
func (f *Fields) Validate() []problem.FieldError {
	var errs []problem.FieldError
	bad := func(field, detail string) {
		errs = append(errs, problem.FieldError{Pointer: problem.Pointer(field), Detail: detail})
	}
	switch {
	case f.SKU == nil:
		bad("sku", "required")
	case !skuPattern.MatchString(*f.SKU):
		bad("sku", "must be 1-64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	switch {
	case f.Name == nil:
		bad("name", "required")
	case strings.TrimSpace(*f.Name) == "" || utf8.RuneCountInString(*f.Name) > 200 || hasControl(*f.Name):
		bad("name", "must be 1-200 characters without control characters")
	}
	if f.Description != nil && utf8.RuneCountInString(*f.Description) > 10000 {
		bad("description", "must be at most 10000 characters")
	}
	switch {
	case f.PriceMinor == nil:
		bad("price_minor", "required")
	case *f.PriceMinor < 0 || *f.PriceMinor > MaxPriceMinor:
		bad("price_minor", fmt.Sprintf("must be between 0 and %d (minor units, e.g. cents)", int64(MaxPriceMinor)))
	}
	switch {
	case f.Currency == nil:
		bad("currency", "required")
	case !currencyPattern.MatchString(*f.Currency):
		bad("currency", "must be an ISO 4217 code of three upper-case letters, e.g. EUR")
	}
	if f.ImageURL != nil && *f.ImageURL != "" {
		u, err := url.Parse(*f.ImageURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(*f.ImageURL) > 2000 {
			bad("image_url", "must be an http(s) URL of at most 2000 characters, or empty")
		}
	}
	return errs
}

// Validate checks a create request, including initial stock.
func (n *NewProduct) Validate() []problem.FieldError {
	f := n.Fields()
	errs := f.Validate()
	switch {
	case n.Stock == nil:
		errs = append(errs, problem.FieldError{Pointer: problem.Pointer("stock"), Detail: "required"})
	case *n.Stock < 0 || *n.Stock > MaxStock:
		errs = append(errs, problem.FieldError{Pointer: problem.Pointer("stock"), Detail: fmt.Sprintf("must be between 0 and %d", MaxStock)})
	}
	return errs
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

func (f *Fields) withDefaults() Fields {
	out := *f
	empty, yes := "", true
	if out.Description == nil {
		out.Description = &empty
	}
	if out.ImageURL == nil {
		out.ImageURL = &empty
	}
	if out.Active == nil {
		out.Active = &yes
	}
	return out
}

// ListQuery filters and pages the catalogue.
type ListQuery struct {
	Text   string
	Active *bool
	Limit  int
	Offset int
}

// Page is one page of a listing.
type Page struct {
	Items  []Product `json:"items"`
	Total  int       `json:"total"`
	Limit  int       `json:"limit"`
	Offset int       `json:"offset"`
}
