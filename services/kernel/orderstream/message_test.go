package orderstream_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/platform/problem"
)

var orderID = uuid.MustParse("0b7e8a52-3c2e-4f7a-9d55-2f3c1b4a6e01")

func sampleMessage() orderstream.Message {
	return orderstream.Message{
		OrderID:     orderID,
		UserID:      42,
		Items:       []orderstream.Item{{ProductID: 7, Quantity: 2}, {ProductID: 9, Quantity: 1000}},
		AcceptedAt:  time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600)),
		Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
}

func TestEncode(t *testing.T) {
	want := map[string]any{
		"v":           "1",
		"order_id":    "0b7e8a52-3c2e-4f7a-9d55-2f3c1b4a6e01",
		"user_id":     "42",
		"items":       `[{"product_id":7,"quantity":2},{"product_id":9,"quantity":1000}]`,
		"accepted_at": "2025-03-14T14:09:26.535897932Z",
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
	if got := sampleMessage().Encode(); !reflect.DeepEqual(got, want) {
		t.Errorf("Encode() =\n%v\nwant\n%v", got, want)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	in := sampleMessage()
	out, err := orderstream.Decode(in.Encode())
	if err != nil {
		t.Fatalf("Decode(Encode()) = %v", err)
	}
	if !out.AcceptedAt.Equal(in.AcceptedAt) || out.AcceptedAt.Location() != time.UTC {
		t.Errorf("AcceptedAt = %v, want %v in UTC", out.AcceptedAt, in.AcceptedAt)
	}
	out.AcceptedAt, in.AcceptedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
}

// Redis hands back every field as a string; fields of other types (as a
// hand-written XADD in a test tool might produce) are treated as missing.
func TestDecodeErrors(t *testing.T) {
	valid := func() map[string]any { return sampleMessage().Encode() }
	with := func(k string, v any) map[string]any {
		f := valid()
		if v == nil {
			delete(f, k)
		} else {
			f[k] = v
		}
		return f
	}
	tests := []struct {
		name    string
		fields  map[string]any
		wantErr error
		wantID  uuid.UUID // uuid.Nil when the id is unreadable
		wantMsg string
	}{
		{"no fields", map[string]any{}, orderstream.ErrUndecodable, uuid.Nil, `undecodable: order_id "" is not a UUID`},
		{"nil map", nil, orderstream.ErrUndecodable, uuid.Nil, `undecodable: order_id "" is not a UUID`},
		{"garbled order id", with("order_id", "not-a-uuid"), orderstream.ErrUndecodable, uuid.Nil, `undecodable: order_id "not-a-uuid" is not a UUID`},
		{"order id of the wrong type", with("order_id", orderID), orderstream.ErrUndecodable, uuid.Nil, `undecodable: order_id "" is not a UUID`},
		{"missing version", with("v", nil), orderstream.ErrUnknownSchema, orderID, `unknown_schema_version: message schema version "", this build reads 1`},
		{"future version", with("v", "2"), orderstream.ErrUnknownSchema, orderID, `unknown_schema_version: message schema version "2", this build reads 1`},
		{"version as int", with("v", 1), orderstream.ErrUnknownSchema, orderID, `unknown_schema_version: message schema version "", this build reads 1`},
		{"missing user id", with("user_id", nil), orderstream.ErrUndecodable, orderID, `undecodable: user_id ""`},
		{"garbled user id", with("user_id", "forty-two"), orderstream.ErrUndecodable, orderID, `undecodable: user_id "forty-two"`},
		{"zero user id", with("user_id", "0"), orderstream.ErrUndecodable, orderID, `undecodable: user_id "0"`},
		{"negative user id", with("user_id", "-5"), orderstream.ErrUndecodable, orderID, `undecodable: user_id "-5"`},
		{"user id overflow", with("user_id", "9223372036854775808"), orderstream.ErrUndecodable, orderID, `undecodable: user_id "9223372036854775808"`},
		{"missing accepted_at", with("accepted_at", nil), orderstream.ErrUndecodable, orderID, `undecodable: accepted_at ""`},
		{"garbled accepted_at", with("accepted_at", "yesterday"), orderstream.ErrUndecodable, orderID, `undecodable: accepted_at "yesterday"`},
		{"accepted_at before year 0 in UTC", with("accepted_at", "0000-01-01T00:30:00+01:00"), orderstream.ErrUndecodable, orderID,
			`undecodable: accepted_at "0000-01-01T00:30:00+01:00"`},
		{"accepted_at after year 9999 in UTC", with("accepted_at", "9999-12-31T23:30:00-01:00"), orderstream.ErrUndecodable, orderID,
			`undecodable: accepted_at "9999-12-31T23:30:00-01:00"`},
		{"missing items", with("items", nil), orderstream.ErrUndecodable, orderID, "undecodable: items: unexpected end of JSON input"},
		{"garbled items", with("items", `[{"product_id":7,`), orderstream.ErrUndecodable, orderID, "undecodable: items: unexpected end of JSON input"},
		{"items of the wrong JSON type", with("items", `{"product_id":7}`), orderstream.ErrUndecodable, orderID,
			"undecodable: items: json: cannot unmarshal object into Go value of type []orderstream.Item"},
		{"repeated name in a line", with("items", `[{"product_id":7,"quantity":1,"Quantity":9}]`), orderstream.ErrInvalidOrderFields, orderID,
			"invalid_order: items/0/Quantity: repeated name"},
		{"quantity as string", with("items", `[{"product_id":7,"quantity":"2"}]`), orderstream.ErrUndecodable, orderID,
			"undecodable: items: json: cannot unmarshal string into Go struct field Item.quantity of type int"},
		{"no lines", with("items", `[]`), orderstream.ErrInvalidOrderFields, orderID, "invalid_order: #/items must have between 1 and 100 lines, got 0"},
		{"null items", with("items", `null`), orderstream.ErrInvalidOrderFields, orderID, "invalid_order: #/items must have between 1 and 100 lines, got 0"},
		{"quantity too large", with("items", `[{"product_id":7,"quantity":1001}]`), orderstream.ErrInvalidOrderFields, orderID,
			"invalid_order: #/items/0/quantity must be between 1 and 1000"},
		{"duplicate product", with("items", `[{"product_id":7,"quantity":1},{"product_id":7,"quantity":1}]`), orderstream.ErrInvalidOrderFields, orderID,
			"invalid_order: #/items/1/product_id product 7 is already on line 0; combine the quantities"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := orderstream.Decode(tt.fields)
			if err == nil {
				t.Fatalf("Decode accepted %v: %+v", tt.fields, m)
			}
			for _, reason := range []error{orderstream.ErrUndecodable, orderstream.ErrUnknownSchema, orderstream.ErrInvalidOrderFields} {
				if got, want := errors.Is(err, reason), reason == tt.wantErr; got != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", err, reason, got, want)
				}
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("error = %q, want %q", err, tt.wantMsg)
			}
			if m.OrderID != tt.wantID {
				t.Errorf("OrderID = %v, want %v", m.OrderID, tt.wantID)
			}
		})
	}
}

func TestDecodeIgnoresUnknownFieldsAndAcceptsOffsets(t *testing.T) {
	f := sampleMessage().Encode()
	f["extra"] = "ignored by version 1"
	f["accepted_at"] = "2025-03-14T15:09:26.535897932+01:00"
	f["traceparent"] = ""
	m, err := orderstream.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 3, 14, 14, 9, 26, 535897932, time.UTC); !m.AcceptedAt.Equal(want) {
		t.Errorf("AcceptedAt = %v, want %v", m.AcceptedAt, want)
	}
	if m.Traceparent != "" {
		t.Errorf("Traceparent = %q, want empty", m.Traceparent)
	}
}

func lines(n int) []orderstream.Item {
	items := make([]orderstream.Item, n)
	for i := range items {
		items[i] = orderstream.Item{ProductID: int64(i + 1), Quantity: 1}
	}
	return items
}

func TestValidateItems(t *testing.T) {
	tests := []struct {
		name  string
		items []orderstream.Item
		want  []problem.FieldError
	}{
		{"one line", lines(1), nil},
		{"100 lines", lines(100), nil},
		{"quantity bounds", []orderstream.Item{{1, 1}, {2, 1000}}, nil},
		{"nil", nil, []problem.FieldError{{Pointer: "#/items", Detail: "must have between 1 and 100 lines, got 0"}}},
		{"0 lines", []orderstream.Item{}, []problem.FieldError{{Pointer: "#/items", Detail: "must have between 1 and 100 lines, got 0"}}},
		{"101 lines", lines(101), []problem.FieldError{{Pointer: "#/items", Detail: "must have between 1 and 100 lines, got 101"}}},
		{"quantity 0", []orderstream.Item{{1, 1}, {2, 0}}, []problem.FieldError{{Pointer: "#/items/1/quantity", Detail: "must be between 1 and 1000"}}},
		{"quantity -1", []orderstream.Item{{1, -1}}, []problem.FieldError{{Pointer: "#/items/0/quantity", Detail: "must be between 1 and 1000"}}},
		{"quantity 1001", []orderstream.Item{{1, 1001}}, []problem.FieldError{{Pointer: "#/items/0/quantity", Detail: "must be between 1 and 1000"}}},
		{"product id 0", []orderstream.Item{{0, 1}}, []problem.FieldError{{Pointer: "#/items/0/product_id", Detail: "must be a positive integer"}}},
		{"negative product id", []orderstream.Item{{5, 1}, {-3, 1}}, []problem.FieldError{{Pointer: "#/items/1/product_id", Detail: "must be a positive integer"}}},
		{
			name:  "duplicate names the later line",
			items: []orderstream.Item{{7, 1}, {8, 1}, {7, 2}},
			want:  []problem.FieldError{{Pointer: "#/items/2/product_id", Detail: "product 7 is already on line 0; combine the quantities"}},
		},
		{
			name:  "every duplicate refers to the first line",
			items: []orderstream.Item{{8, 1}, {7, 1}, {7, 1}, {7, 1}},
			want: []problem.FieldError{
				{Pointer: "#/items/2/product_id", Detail: "product 7 is already on line 1; combine the quantities"},
				{Pointer: "#/items/3/product_id", Detail: "product 7 is already on line 1; combine the quantities"},
			},
		},
		{
			name:  "all problems of all lines",
			items: []orderstream.Item{{0, 0}, {4, 1}, {4, 2000}},
			want: []problem.FieldError{
				{Pointer: "#/items/0/product_id", Detail: "must be a positive integer"},
				{Pointer: "#/items/0/quantity", Detail: "must be between 1 and 1000"},
				{Pointer: "#/items/2/product_id", Detail: "product 4 is already on line 1; combine the quantities"},
				{Pointer: "#/items/2/quantity", Detail: "must be between 1 and 1000"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := orderstream.ValidateItems(tt.items); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ValidateItems =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// FuzzDecode feeds arbitrary stream entries to the worker's decoder. It must
// never panic; every error wraps exactly one poison reason; and an accepted
// message survives Encode and Decode unchanged.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, v, id, user, items, acceptedAt, traceparent string) {
		fields := map[string]any{"v": v, "order_id": id, "user_id": user, "items": items,
			"accepted_at": acceptedAt, "traceparent": traceparent}
		m, err := orderstream.Decode(fields)
		if err != nil {
			n := 0
			for _, reason := range []error{orderstream.ErrUndecodable, orderstream.ErrUnknownSchema, orderstream.ErrInvalidOrderFields} {
				if errors.Is(err, reason) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %q wraps %d poison reasons, want 1", err, n)
			}
			if parsed, perr := uuid.Parse(id); perr == nil && m.OrderID != parsed {
				t.Fatalf("readable order id %q not returned with the error: got %v", id, m.OrderID)
			}
			return
		}
		if errs := orderstream.ValidateItems(m.Items); errs != nil {
			t.Fatalf("accepted message fails ValidateItems: %+v", errs)
		}
		again, err := orderstream.Decode(m.Encode())
		if err != nil {
			t.Fatalf("re-encoded message rejected: %v\nfields %q\nencoded %q", err, fields, m.Encode())
		}
		if !again.AcceptedAt.Equal(m.AcceptedAt) {
			t.Fatalf("AcceptedAt changed: %v -> %v", m.AcceptedAt, again.AcceptedAt)
		}
		again.AcceptedAt, m.AcceptedAt = time.Time{}, time.Time{}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, again)
		}
		if strings.ContainsRune(m.Encode()["items"].(string), '\n') {
			t.Fatalf("encoded items span lines")
		}
	})
}
