package payment

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Mock test cards and what they do (documented in the README).
const (
	CardSucceeds          = "4242424242424242"
	CardDeclined          = "4000000000000002"
	CardInsufficientFunds = "4000000000009995"
	CardExpired           = "4000000000000069"
	CardProcessing        = "4000000000000077" // answered processing; succeeds ProcessingDelay later
)

// Mock is the local provider: no network, no state, outcomes chosen by
// test card number. It never stores a card number: its charge reference
// only encodes what a later Lookup needs (the outcome and when it was made).
type Mock struct {
	// ProcessingDelay is how long a CardProcessing charge stays processing.
	ProcessingDelay time.Duration
	Now             func() time.Time
}

// Name implements Provider.
func (Mock) Name() string { return "mock" }

// Retainable implements Provider: nothing of a card may be kept.
func (Mock) Retainable(string) string { return "" }

// CheckMethod refuses what is not a card number: 12 to 19 digits (spaces
// and dashes allowed) with a valid Luhn check digit.
func (Mock) CheckMethod(method string) error {
	_, err := cardDigits(method)
	return err
}

func cardDigits(method string) (string, error) {
	d := strings.NewReplacer(" ", "", "-", "").Replace(method)
	if len(d) < 12 || len(d) > 19 || strings.Trim(d, "0123456789") != "" {
		return "", fmt.Errorf("%w: a card number has 12 to 19 digits", ErrInvalidMethod)
	}
	sum := 0
	for i := range len(d) {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	if sum%10 != 0 {
		return "", fmt.Errorf("%w: the card number's check digit is wrong", ErrInvalidMethod)
	}
	return d, nil
}

// Charge implements Provider.
func (m Mock) Charge(_ context.Context, c Charge) (Result, error) {
	d, err := cardDigits(c.Method)
	if err != nil {
		return Result{}, err
	}
	ref := "mock_" + c.Key
	switch d {
	case CardDeclined:
		return Result{Status: Failed, Ref: ref, Reason: ReasonDeclined}, nil
	case CardInsufficientFunds:
		return Result{Status: Failed, Ref: ref, Reason: ReasonInsufficientFunds}, nil
	case CardExpired:
		return Result{Status: Failed, Ref: ref, Reason: ReasonExpiredCard}, nil
	case CardProcessing:
		return Result{Status: Processing, Ref: ref + "_p" + strconv.FormatInt(m.now().UnixMilli(), 10)}, nil
	}
	return Result{Status: Succeeded, Ref: ref}, nil
}

// Lookup implements Provider: a processing charge succeeds once
// ProcessingDelay has passed since it was made.
func (m Mock) Lookup(_ context.Context, ref string) (Result, error) {
	_, at, processing := strings.Cut(ref, "_p")
	if !processing {
		return Result{}, fmt.Errorf("mock: charge %s was answered at once; nothing to look up", ref)
	}
	ms, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return Result{}, fmt.Errorf("mock: malformed charge reference %q", ref)
	}
	if m.now().Sub(time.UnixMilli(ms)) < m.ProcessingDelay {
		return Result{Status: Processing, Ref: ref}, nil
	}
	return Result{Status: Succeeded, Ref: ref}, nil
}

// Refund implements Provider.
func (Mock) Refund(_ context.Context, r Refund) (string, error) {
	if !strings.HasPrefix(r.ChargeRef, "mock_") {
		return "", fmt.Errorf("mock: %q is not a mock charge", r.ChargeRef)
	}
	return "mock_re_" + strings.TrimPrefix(r.Key, "refund-"), nil
}

func (m Mock) now() time.Time {
	if m.Now == nil {
		return time.Now()
	}
	return m.Now()
}
