// Package orderstream is the wire contract of the order queue: the Redis
// Stream new_orders, its consumer group and dead-letter stream, and the
// versioned message that api writes and order-worker reads. Both sides use
// Encode/Decode from here, so a change to the message is a change to this
// package and its schema version.
package orderstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/goshop-platform/shop/services/platform/problem"
)

// Names that cross service boundaries (DESIGN.md).
const (
	Stream        = "new_orders"
	Group         = "order-worker"
	DeadLetters   = "new_orders:dead"
	Discarded     = "new_orders:discarded"
	StatusChannel = "order_status"
	SchemaVersion = 1
)

// Limits of one order's shape, enforced by api at intake and re-checked by
// order-worker on decode.
const (
	MaxLines    = 100
	MaxQuantity = 1000
)

// Item is one order line as requested by the customer.
type Item struct {
	ProductID int64 `json:"product_id"`
	Quantity  int   `json:"quantity"`
}

// Message is one accepted order on the stream.
type Message struct {
	OrderID     uuid.UUID
	UserID      int64
	Items       []Item
	AcceptedAt  time.Time
	Traceparent string
}

// Poison reasons: a message carrying one of these can never be processed and
// goes to the dead-letter stream.
var (
	ErrUndecodable        = errors.New("undecodable")
	ErrUnknownSchema      = errors.New("unknown_schema_version")
	ErrInvalidOrderFields = errors.New("invalid_order")
)

// Encode renders m as stream entry fields.
func (m Message) Encode() map[string]any {
	f := m.AppendFields(make([]any, 0, 12))
	out := make(map[string]any, len(f)/2)
	for i := 0; i < len(f); i += 2 {
		out[f[i].(string)] = f[i+1]
	}
	return out
}

// AppendFields appends the entry's fields to dst as name, value pairs (the
// order XADD and HSET take them in), without building a map: the intake
// path's form of Encode.
func (m Message) AppendFields(dst []any) []any {
	items, _ := json.Marshal(m.Items) // a slice of plain structs cannot fail
	return append(dst,
		"v", schemaVersion,
		"order_id", m.OrderID.String(),
		"user_id", strconv.FormatInt(m.UserID, 10),
		"items", string(items),
		"accepted_at", m.AcceptedAt.UTC().Format(time.RFC3339Nano),
		"traceparent", m.Traceparent)
}

// schemaVersion is SchemaVersion as the string the entries carry.
var schemaVersion = strconv.Itoa(SchemaVersion)

// Decode parses stream entry fields. Its errors wrap one of the poison
// reasons above; the order id is returned whenever it was readable so that
// the order can be recorded failed.
func Decode(fields map[string]any) (Message, error) {
	var m Message
	get := func(k string) string { s, _ := fields[k].(string); return s }
	if id, err := uuid.Parse(get("order_id")); err == nil {
		m.OrderID = id
	} else {
		return m, fmt.Errorf("%w: order_id %q is not a UUID", ErrUndecodable, get("order_id"))
	}
	// Who and when are read before the version check, so that even a
	// message of an unknown version can be recorded failed for its owner.
	uid, uidErr := strconv.ParseInt(get("user_id"), 10, 64)
	if uidErr == nil && uid > 0 {
		m.UserID = uid
	}
	at, atErr := time.Parse(time.RFC3339Nano, get("accepted_at"))
	// Encode writes UTC, and RFC 3339 has no years outside 0000-9999: an
	// offset that moves the instant past either end could not be read back.
	if y := at.UTC().Year(); atErr == nil && y >= 0 && y <= 9999 {
		m.AcceptedAt = at
	}
	if v := get("v"); v != strconv.Itoa(SchemaVersion) {
		return m, fmt.Errorf("%w: message schema version %q, this build reads %d", ErrUnknownSchema, v, SchemaVersion)
	}
	if m.UserID == 0 {
		return m, fmt.Errorf("%w: user_id %q", ErrUndecodable, get("user_id"))
	}
	if m.AcceptedAt.IsZero() {
		return m, fmt.Errorf("%w: accepted_at %q", ErrUndecodable, get("accepted_at"))
	}
	if err := json.Unmarshal([]byte(get("items")), &m.Items); err != nil {
		return m, fmt.Errorf("%w: items: %v", ErrUndecodable, err)
	}
	// The api refuses repeated names at intake; an entry from elsewhere
	// that repeats one could be read differently by another consumer.
	if ptr, dup := problem.DuplicateName([]byte(get("items"))); dup {
		return m, fmt.Errorf("%w: items%s: repeated name", ErrInvalidOrderFields, strings.TrimPrefix(ptr, "#"))
	}
	if errs := ValidateItems(m.Items); len(errs) > 0 {
		return m, fmt.Errorf("%w: %s %s", ErrInvalidOrderFields, errs[0].Pointer, errs[0].Detail)
	}
	m.Traceparent = get("traceparent")
	return m, nil
}

// ValidateItems checks an order's shape: 1 to MaxLines lines, quantities 1
// to MaxQuantity, positive product ids, each product at most once. It does
// not look at the catalogue; stock and existence are order-worker's job.
func ValidateItems(items []Item) []problem.FieldError {
	var errs []problem.FieldError
	if len(items) == 0 || len(items) > MaxLines {
		return append(errs, problem.FieldError{Pointer: problem.Pointer("items"),
			Detail: fmt.Sprintf("must have between 1 and %d lines, got %d", MaxLines, len(items))})
	}
	seen := make(map[int64]int, len(items))
	for i, it := range items {
		if it.ProductID <= 0 {
			errs = append(errs, problem.FieldError{Pointer: problem.Pointer("items", i, "product_id"), Detail: "must be a positive integer"})
		} else if first, dup := seen[it.ProductID]; dup {
			errs = append(errs, problem.FieldError{Pointer: problem.Pointer("items", i, "product_id"),
				Detail: fmt.Sprintf("product %d is already on line %d; combine the quantities", it.ProductID, first)})
		} else {
			seen[it.ProductID] = i
		}
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			errs = append(errs, problem.FieldError{Pointer: problem.Pointer("items", i, "quantity"),
				Detail: fmt.Sprintf("must be between 1 and %d", MaxQuantity)})
		}
	}
	return errs
}
