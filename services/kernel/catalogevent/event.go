// Package catalogevent is the wire contract of catalogue changes: the
// versioned event written to the catalog_outbox table in the same
// transaction as the product change, and relayed by catalog-sync to
// Directus (or an n8n webhook). Every writer of products enqueues through
// Enqueue, so the outbox can never miss a change.
package catalogevent

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SchemaVersion of Event; consumers reject versions they do not know.
const SchemaVersion = 1

// Event types.
const (
	TypeUpserted = "product.upserted"
	TypeArchived = "product.archived"
)

// Product is the full snapshot of a product after the change. Consumers
// apply it only when Version is newer than what they hold.
type Product struct {
	ID          int64     `json:"id"`
	SKU         string    `json:"sku"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	PriceMinor  int64     `json:"price_minor"`
	Currency    string    `json:"currency"`
	Stock       int       `json:"stock"`
	ImageURL    string    `json:"image_url"`
	Active      bool      `json:"active"`
	Version     int64     `json:"version"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Event is one outbox entry's payload.
type Event struct {
	SchemaVersion int     `json:"schema_version"`
	Type          string  `json:"type"`
	Product       Product `json:"product"`
	Traceparent   string  `json:"traceparent,omitempty"`
}

// Enqueue writes the event for p into catalog_outbox inside tx, the same
// transaction that changed the product.
func Enqueue(ctx context.Context, tx pgx.Tx, typ string, p Product, traceparent string) error {
	return EnqueueAll(ctx, tx, typ, []Product{p}, []string{traceparent})
}

// EnqueueAll writes one event per product (traceparents[i] for ps[i]) in
// one statement.
func EnqueueAll(ctx context.Context, tx pgx.Tx, typ string, ps []Product, traceparents []string) error {
	args, err := enqueueArgs(typ, ps, traceparents)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, enqueueSQL, args...); err != nil {
		return fmt.Errorf("insert %d catalog_outbox row(s): %w", len(ps), err)
	}
	return nil
}

// QueueAll adds EnqueueAll's statement to b, for a caller that sends its
// transaction's statements in one round trip.
func QueueAll(b *pgx.Batch, typ string, ps []Product, traceparents []string) error {
	args, err := enqueueArgs(typ, ps, traceparents)
	if err != nil {
		return err
	}
	b.Queue(enqueueSQL, args...).Exec(func(pgconn.CommandTag) error { return nil })
	return nil
}

const enqueueSQL = `INSERT INTO catalog_outbox (product_id, product_version, event_type, schema_version, payload, traceparent)
	SELECT id, version, $3, $4, payload::jsonb, tp FROM unnest($1::bigint[], $2::bigint[], $5::text[], $6::text[]) AS e(id, version, payload, tp)`

func enqueueArgs(typ string, ps []Product, traceparents []string) ([]any, error) {
	ids, versions, payloads := make([]int64, len(ps)), make([]int64, len(ps)), make([]string, len(ps))
	for i, p := range ps {
		b, err := json.Marshal(Event{SchemaVersion: SchemaVersion, Type: typ, Product: p, Traceparent: traceparents[i]})
		if err != nil {
			return nil, fmt.Errorf("encode catalog event: %w", err)
		}
		ids[i], versions[i], payloads[i] = p.ID, p.Version, string(b)
	}
	return []any{ids, versions, typ, SchemaVersion, payloads, traceparents}, nil
}

// Decode parses an outbox payload and rejects unknown schema versions.
func Decode(payload []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return ev, fmt.Errorf("decode catalog event: %w", err)
	}
	if ev.SchemaVersion != SchemaVersion {
		return ev, fmt.Errorf("catalog event schema version %d, this build reads %d", ev.SchemaVersion, SchemaVersion)
	}
	return ev, nil
}

// Columns is the SELECT/RETURNING list that Scan reads, in order.
const Columns = "id, sku, name, description, price_minor, currency, stock, image_url, active, version, updated_at"

// Scan reads one row selected with Columns.
func Scan(row pgx.Row) (Product, error) {
	var p Product
	err := row.Scan(&p.ID, &p.SKU, &p.Name, &p.Description, &p.PriceMinor, &p.Currency, &p.Stock, &p.ImageURL, &p.Active, &p.Version, &p.UpdatedAt)
	return p, err
}
