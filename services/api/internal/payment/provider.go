package payment

import (
	"context"
	"errors"

	"github.com/google/uuid"
)

// Outcomes of a charge as a provider reports them.
const (
	Succeeded  = "succeeded"
	Failed     = "failed"
	Processing = "processing" // the provider settles it later (webhook or lookup)
)

// Decline reasons the shop reports (a provider maps its own codes to these).
const (
	ReasonDeclined          = "card_declined"
	ReasonInsufficientFunds = "insufficient_funds"
	ReasonExpiredCard       = "expired_card"
	ReasonInvalidMethod     = "invalid_payment_method"
	ReasonAbandoned         = "abandoned" // no answer from the provider was ever recorded, and it cannot be asked again
	// ReasonInjected: declined on purpose by fault injection
	// (spec.faults.paymentDeclineRatio); the provider was never asked.
	ReasonInjected = "injected_decline"
)

// Charge asks a provider for money. Key is the idempotency key: the same
// key always means the same charge, however often it is sent.
type Charge struct {
	Key         string
	OrderID     uuid.UUID
	AmountMinor int64
	Currency    string
	Method      string // a test card number (mock) or a PaymentMethod id (stripe)
}

// Result is a provider's answer about one charge.
type Result struct {
	Status string // Succeeded, Failed or Processing
	Ref    string // the provider's id of the charge (PaymentIntent id)
	Reason string // for Failed: one of the Reason constants
}

// Refund asks a provider to give a charge's money back. Key is the
// idempotency key; the same key never refunds twice.
type Refund struct {
	Key         string
	ChargeRef   string
	AmountMinor int64
}

// Provider is a payment service provider.
type Provider interface {
	Name() string
	// Charge creates (or, for a known Key, returns) a charge. An error means
	// the outcome is unknown: the attempt stays pending and is retried.
	Charge(ctx context.Context, c Charge) (Result, error)
	// Lookup reports the current state of a charge the provider answered for.
	Lookup(ctx context.Context, ref string) (Result, error)
	// Refund returns the provider's id of the refund.
	Refund(ctx context.Context, r Refund) (string, error)
	// Retainable is what of method may be stored to retry a charge after a
	// crash: a provider token, never card data ("" when nothing may be kept).
	Retainable(method string) string
}

// ErrInvalidMethod is returned by Charge when the payment method is
// malformed (not a declined card: a request the provider refuses to read).
var ErrInvalidMethod = errors.New("invalid payment method")

// Update is what a provider's webhook says about a charge or a refund.
type Update struct {
	EventID string // the provider's event id (replays carry the same id)
	Ref     string // the charge's provider id
	Status  string // Succeeded, Failed or Processing; for a refund update "" (refunded) or Failed (the refund failed)
	Reason  string
	Refund  string // for a refund update: the refund's id
}
