package orderstream

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Order statuses as they cross service boundaries.
const (
	StatusPending   = "pending"
	StatusConfirmed = "confirmed"
	StatusFailed    = "failed"
)

// Failure reasons recorded by order-worker.
const (
	ReasonInsufficientStock = "insufficient_stock"
	ReasonUnknownProduct    = "unknown_product"
	ReasonInactiveProduct   = "inactive_product"
	ReasonMixedCurrency     = "mixed_currency"
	ReasonPoison            = "poison_message"
	ReasonTooManyDeliveries = "max_deliveries_exceeded"
)

// StatusEvent is published on StatusChannel by order-worker after it
// committed an order's final status; api pushes it to live-status clients.
type StatusEvent struct {
	SchemaVersion int       `json:"schema_version"`
	OrderID       uuid.UUID `json:"order_id"`
	UserID        int64     `json:"user_id"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason,omitempty"`
	ReasonDetail  string    `json:"reason_detail,omitempty"`
	DecidedAt     time.Time `json:"decided_at"`
	// Traceparent continues the trace of the request that placed the order.
	Traceparent string `json:"traceparent,omitempty"`
}

// EncodeStatus renders an event for PUBLISH.
func EncodeStatus(e StatusEvent) string {
	e.SchemaVersion = SchemaVersion
	b, _ := json.Marshal(e) // plain struct: cannot fail
	return string(b)
}

// DecodeStatus parses a published event.
func DecodeStatus(payload string) (StatusEvent, error) {
	var e StatusEvent
	if err := json.Unmarshal([]byte(payload), &e); err != nil {
		return e, fmt.Errorf("decode order status event: %w", err)
	}
	if e.SchemaVersion != SchemaVersion {
		return e, fmt.Errorf("order status event schema version %d, this build reads %d", e.SchemaVersion, SchemaVersion)
	}
	return e, nil
}
