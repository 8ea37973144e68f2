package product

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/goshop-platform/shop/services/kernel/catalogevent"
	"github.com/goshop-platform/shop/services/kernel/stock"
	"github.com/goshop-platform/shop/services/platform/postgres"
)

// Store reads and writes products in PostgreSQL. Each write and its outbox
// event commit together or not at all.
type Store struct{ DB *pgxpool.Pool }

const columns = "id, sku, name, description, price_minor, currency, stock, image_url, active, version, created_at, updated_at, archived_at"

func scan(row pgx.Row) (Product, error) {
	var p Product
	err := row.Scan(&p.ID, &p.SKU, &p.Name, &p.Description, &p.PriceMinor, &p.Currency, &p.Stock, &p.ImageURL,
		&p.Active, &p.Version, &p.CreatedAt, &p.UpdatedAt, &p.ArchivedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, ErrNotFound
	}
	return p, err
}

func snapshot(p Product) catalogevent.Product {
	return catalogevent.Product{ID: p.ID, SKU: p.SKU, Name: p.Name, Description: p.Description, PriceMinor: p.PriceMinor,
		Currency: p.Currency, Stock: p.Stock, ImageURL: p.ImageURL, Active: p.Active, Version: p.Version, UpdatedAt: p.UpdatedAt}
}

// Get returns one product.
func (s Store) Get(ctx context.Context, id int64) (Product, error) {
	return scan(s.DB.QueryRow(ctx, "SELECT "+columns+" FROM products WHERE id = $1", id))
}

// List pages through the catalogue, newest first by id, filtered by a
// case-insensitive text match on name or sku and by the active flag.
func (s Store) List(ctx context.Context, q ListQuery) (Page, error) {
	where := []string{"true"}
	args := []any{}
	if q.Text != "" {
		args = append(args, "%"+escapeLike(strings.ToLower(q.Text))+"%")
		where = append(where, fmt.Sprintf("(lower(name) LIKE $%d OR lower(sku) LIKE $%d)", len(args), len(args)))
	}
	if q.Active != nil {
		args = append(args, *q.Active)
		where = append(where, fmt.Sprintf("active = $%d", len(args)))
	}
	cond := strings.Join(where, " AND ")
	page := Page{Items: []Product{}, Limit: q.Limit, Offset: q.Offset}
	if err := s.DB.QueryRow(ctx, "SELECT count(*) FROM products WHERE "+cond, args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("count products: %w", err)
	}
	args = append(args, q.Limit, q.Offset)
	rows, err := s.DB.Query(ctx, fmt.Sprintf("SELECT %s FROM products WHERE %s ORDER BY id LIMIT $%d OFFSET $%d",
		columns, cond, len(args)-1, len(args)), args...)
	if err != nil {
		return page, fmt.Errorf("list products: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scan(rows)
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, p)
	}
	return page, rows.Err()
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Create inserts a product and its outbox event.
func (s Store) Create(ctx context.Context, n NewProduct, traceparent string) (Product, error) {
	fields := n.Fields()
	f := fields.withDefaults()
	return s.write(ctx, catalogevent.TypeUpserted, traceparent, func(tx pgx.Tx) (Product, error) {
		return scan(tx.QueryRow(ctx, `INSERT INTO products (sku, name, description, price_minor, currency, stock, image_url, active)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+columns,
			*f.SKU, *f.Name, *f.Description, *f.PriceMinor, *f.Currency, *n.Stock, *f.ImageURL, *f.Active))
	})
}

// Replace overwrites the editable fields if the stored version is still
// ifVersion; otherwise ErrVersionMismatch (or ErrNotFound).
func (s Store) Replace(ctx context.Context, id, ifVersion int64, in Fields, traceparent string) (Product, error) {
	f := in.withDefaults()
	return s.write(ctx, catalogevent.TypeUpserted, traceparent, func(tx pgx.Tx) (Product, error) {
		p, err := scan(tx.QueryRow(ctx, `UPDATE products SET sku = $3, name = $4, description = $5, price_minor = $6,
			currency = $7, image_url = $8, active = $9, archived_at = CASE WHEN $9 THEN NULL ELSE archived_at END,
			version = version + 1, updated_at = now()
			WHERE id = $1 AND version = $2 RETURNING `+columns,
			id, ifVersion, *f.SKU, *f.Name, *f.Description, *f.PriceMinor, *f.Currency, *f.ImageURL, *f.Active))
		if errors.Is(err, ErrNotFound) {
			return p, s.whyNot(ctx, tx, id)
		}
		return p, err
	})
}

// Archive deactivates a product (never a hard delete: orders refer to it).
// ifVersion 0 skips the version check. Archiving an archived product is a no-op.
func (s Store) Archive(ctx context.Context, id, ifVersion int64, traceparent string) (Product, error) {
	return s.write(ctx, catalogevent.TypeArchived, traceparent, func(tx pgx.Tx) (Product, error) {
		p, err := scan(tx.QueryRow(ctx, `UPDATE products SET active = false, archived_at = now(),
			version = version + 1, updated_at = now()
			WHERE id = $1 AND ($2 = 0 OR version = $2) AND archived_at IS NULL RETURNING `+columns, id, ifVersion))
		if errors.Is(err, ErrNotFound) {
			cur, gerr := scan(tx.QueryRow(ctx, "SELECT "+columns+" FROM products WHERE id = $1", id))
			if gerr == nil && cur.ArchivedAt != nil && (ifVersion == 0 || cur.Version == ifVersion) {
				return cur, errAlreadyArchived
			}
			return p, s.whyNot(ctx, tx, id)
		}
		return p, err
	})
}

var errAlreadyArchived = errors.New("already archived")

// AdjustStock adds delta to the stock through the shared stock rule; it
// fails with *stock.Error when stock would go negative.
func (s Store) AdjustStock(ctx context.Context, id int64, delta int, traceparent string) (Product, error) {
	var out Product
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		if _, err := stock.Apply(ctx, tx, []stock.Change{{ProductID: id, Delta: delta, Traceparent: traceparent}}); err != nil {
			if errors.Is(err, stock.ErrUnknownProduct) {
				return ErrNotFound
			}
			return err
		}
		var err error
		out, err = scan(tx.QueryRow(ctx, "SELECT "+columns+" FROM products WHERE id = $1", id))
		return err
	})
	return out, err
}

// write runs change and enqueues the catalogue event in one transaction.
func (s Store) write(ctx context.Context, typ, traceparent string, change func(pgx.Tx) (Product, error)) (Product, error) {
	var out Product
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		p, err := change(tx)
		if errors.Is(err, errAlreadyArchived) {
			out = p
			return nil
		}
		if postgres.IsUniqueViolation(err, "products_sku_key") {
			return ErrSKUTaken
		}
		if err != nil {
			return err
		}
		out = p
		return catalogevent.Enqueue(ctx, tx, typ, snapshot(p), traceparent)
	})
	return out, err
}

func (s Store) whyNot(ctx context.Context, tx pgx.Tx, id int64) error {
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM products WHERE id = $1)", id).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return ErrVersionMismatch
	}
	return ErrNotFound
}
