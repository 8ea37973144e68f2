package problem_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/goshop-platform/shop/services/platform/problem"
)

type item struct {
	ProductID int64 `json:"product_id"`
	Quantity  int   `json:"quantity"`
}

type address struct {
	City string `json:"city"`
}

type audit struct {
	Source string `json:"source"`
}

type orderRequest struct {
	audit                     // embedded: its fields are promoted
	Items   []item            `json:"items"`
	Note    string            `json:"note"`
	Address *address          `json:"address"`
	Tags    map[string]item   `json:"tags"`
	Extra   json.RawMessage   `json:"extra"` // decodes itself: never looked into
	Grid    [][]item          `json:"grid"`
	Flags   map[string]bool   `json:"flags"`
	Matrix  map[string][]item `json:"matrix"`
	Hidden  string            `json:"-"`
}

func TestDecodeBytesAccepts(t *testing.T) {
	body := `{"source":"app","items":[{"product_id":1,"quantity":2},{"PRODUCT_ID":3,"Quantity":4}],
		"note":"caf\u00e9","address":{"city":"Köln"},"tags":{"a/b":{"quantity":1}},"extra":{"anything":[1,"x"]}}` + "\n\t "
	var got orderRequest
	if p := problem.DecodeBytes([]byte(body), &got); p != nil {
		t.Fatalf("DecodeBytes = %v", p)
	}
	want := orderRequest{
		audit:   audit{Source: "app"},
		Items:   []item{{1, 2}, {3, 4}},
		Note:    "café",
		Address: &address{City: "Köln"},
		Tags:    map[string]item{"a/b": {Quantity: 1}},
		Extra:   json.RawMessage(`{"anything":[1,"x"]}`),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v\nwant    %+v", got, want)
	}
}

func TestDecodeBytesRejects(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		detail string // the problem's detail, when it is worth pinning exactly
		errors []problem.FieldError
	}{
		{
			name:   "empty body",
			body:   "",
			detail: "the request body is empty; send a JSON object",
			errors: []problem.FieldError{{Pointer: "#", Detail: "required"}},
		},
		{
			name:   "whitespace only",
			body:   " \n\t\r ",
			errors: []problem.FieldError{{Pointer: "#", Detail: "required"}},
		},
		{
			name:   "malformed JSON",
			body:   `{"items": [1,]}`,
			detail: "the request body is not valid JSON (at byte 14): invalid character ']' looking for beginning of value",
			errors: []problem.FieldError{{Pointer: "#", Detail: "malformed JSON"}},
		},
		{
			name:   "single quotes",
			body:   `{'note': 'x'}`,
			errors: []problem.FieldError{{Pointer: "#", Detail: "malformed JSON"}},
		},
		{
			name:   "truncated",
			body:   `{"items": [{"product_id": 1`,
			detail: "the request body ends in the middle of a JSON value",
			errors: []problem.FieldError{{Pointer: "#", Detail: "truncated JSON"}},
		},
		{
			name:   "invalid UTF-8",
			body:   "{\"note\": \"\xff\xfe\"}",
			detail: "the request body is not valid UTF-8",
			errors: []problem.FieldError{{Pointer: "#", Detail: "invalid UTF-8"}},
		},
		{
			name:   "trailing value",
			body:   `{"note":"a"} {"note":"b"}`,
			detail: "the request body holds more than one JSON value",
			errors: []problem.FieldError{{Pointer: "#", Detail: "trailing data after the JSON value"}},
		},
		{
			name:   "trailing garbage",
			body:   `{"note":"a"}x`,
			errors: []problem.FieldError{{Pointer: "#", Detail: "trailing data after the JSON value"}},
		},
		{
			name:   "trailing form feed (not JSON whitespace)",
			body:   "{\"note\":\"a\"} \f",
			errors: []problem.FieldError{{Pointer: "#", Detail: "trailing data after the JSON value"}},
		},
		{
			name:   "trailing closing bracket",
			body:   `{"note":"a"}]`,
			errors: []problem.FieldError{{Pointer: "#", Detail: "trailing data after the JSON value"}},
		},
		{
			name:   "top-level array",
			body:   `[{"note":"a"}]`,
			detail: "a field has the wrong type",
			errors: []problem.FieldError{{Pointer: "#", Detail: "must be an object, got JSON array"}},
		},
		{
			name:   "top-level string",
			body:   ` "x" `,
			errors: []problem.FieldError{{Pointer: "#", Detail: "must be an object, got JSON string"}},
		},
		{
			name:   "string for string field is fine, number is not",
			body:   `{"note": 5}`,
			errors: []problem.FieldError{{Pointer: "#/note", Detail: "must be a string, got JSON number"}},
		},
		{
			name:   "string in the second array element",
			body:   `{"items":[{"product_id":1,"quantity":1},{"product_id":2,"quantity":"3"}]}`,
			errors: []problem.FieldError{{Pointer: "#/items/1/quantity", Detail: "must be an integer, got JSON string"}},
		},
		{
			name:   "object for an integer",
			body:   `{"items":[{"product_id":1,"quantity":{"n":1}}]}`,
			errors: []problem.FieldError{{Pointer: "#/items/0/quantity", Detail: "must be an integer, got JSON object"}},
		},
		{
			name:   "array for an integer",
			body:   `{"items":[{"product_id":1,"quantity":[1]}]}`,
			errors: []problem.FieldError{{Pointer: "#/items/0/quantity", Detail: "must be an integer, got JSON array"}},
		},
		{
			name:   "bool for an integer after nested containers",
			body:   `{"note":"[{\"x\":1}]","extra":{"a":[{"b":[]}]},"items":[{},{},{"quantity":true}]}`,
			errors: []problem.FieldError{{Pointer: "#/items/2/quantity", Detail: "must be an integer, got JSON bool"}},
		},
		{
			name:   "object for an array",
			body:   `{"items":{"quantity":1}}`,
			errors: []problem.FieldError{{Pointer: "#/items", Detail: "must be an array, got JSON object"}},
		},
		{
			name:   "integer overflow",
			body:   `{"items":[{"product_id":1e30,"quantity":1}]}`,
			errors: []problem.FieldError{{Pointer: "#/items/0/product_id", Detail: "must be an integer within range, got JSON number 1e30"}},
		},
		{
			name:   "int overflow past int64",
			body:   `{"items":[{"product_id":1,"quantity":1},{"product_id":1,"quantity":9223372036854775808}]}`,
			errors: []problem.FieldError{{Pointer: "#/items/1/quantity", Detail: "must be an integer within range, got JSON number 9223372036854775808"}},
		},
		{
			name:   "fraction for an integer",
			body:   `{"items":[{"product_id":1.5}]}`,
			errors: []problem.FieldError{{Pointer: "#/items/0/product_id", Detail: "must be an integer within range, got JSON number 1.5"}},
		},
		{
			name:   "pointer uses the keys as sent",
			body:   `{"Items":[{"Quantity":"x"}]}`,
			errors: []problem.FieldError{{Pointer: "#/Items/0/Quantity", Detail: "must be an integer, got JSON string"}},
		},
		{
			name:   "map key with slash and tilde is escaped",
			body:   `{"tags":{"a/b~c":{"quantity":false}}}`,
			errors: []problem.FieldError{{Pointer: "#/tags/a~1b~0c/quantity", Detail: "must be an integer, got JSON bool"}},
		},
		{
			name:   "nested arrays",
			body:   `{"grid":[[],[{"quantity":1},{"quantity":"2"}]]}`,
			errors: []problem.FieldError{{Pointer: "#/grid/1/1/quantity", Detail: "must be an integer, got JSON string"}},
		},
		{
			name:   "map value of the wrong type",
			body:   `{"flags":{"gift":true,"rush":"yes"}}`,
			errors: []problem.FieldError{{Pointer: "#/flags/rush", Detail: "must be a boolean, got JSON string"}},
		},
		{
			name:   "first of several type errors",
			body:   `{"note":1,"items":[{"quantity":"x"}]}`,
			errors: []problem.FieldError{{Pointer: "#/note", Detail: "must be a string, got JSON number"}},
		},
		{
			name:   "unknown top-level field",
			body:   `{"note":"a","coupon":"FREE"}`,
			detail: "the request body has a field this endpoint does not accept",
			errors: []problem.FieldError{{Pointer: "#/coupon", Detail: "unknown field"}},
		},
		{
			name:   "unknown field in an array element",
			body:   `{"items":[{"product_id":1},{"product_id":2},{"product_id":3,"colour":"red"}]}`,
			errors: []problem.FieldError{{Pointer: "#/items/2/colour", Detail: "unknown field"}},
		},
		{
			name:   "unknown field behind a pointer",
			body:   `{"address":{"city":"Bonn","zip":"53111"}}`,
			errors: []problem.FieldError{{Pointer: "#/address/zip", Detail: "unknown field"}},
		},
		{
			name:   "unknown field in a map value",
			body:   `{"matrix":{"k/1":[{"quantity":1},{"sku":"A"}]}}`,
			errors: []problem.FieldError{{Pointer: "#/matrix/k~11/1/sku", Detail: "unknown field"}},
		},
		{
			name:   "unknown field named like a field of another object",
			body:   `{"items":[{"quantity":1}],"quantity":2}`,
			errors: []problem.FieldError{{Pointer: "#/quantity", Detail: "unknown field"}},
		},
		{
			name:   "field hidden with a dash tag",
			body:   `{"Hidden":"x"}`,
			errors: []problem.FieldError{{Pointer: "#/Hidden", Detail: "unknown field"}},
		},
		{
			name:   "unknown field with characters to escape",
			body:   `{"a\"b/c d":1}`,
			errors: []problem.FieldError{{Pointer: "#/a%22b~1c%20d", Detail: "unknown field"}},
		},
		{
			name:   "unknown field with non-ASCII name",
			body:   `{"größe":1}`,
			errors: []problem.FieldError{{Pointer: "#/gr%C3%B6%C3%9Fe", Detail: "unknown field"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dst orderRequest
			p := problem.DecodeBytes([]byte(tt.body), &dst)
			if p == nil {
				t.Fatalf("DecodeBytes accepted %q: %+v", tt.body, dst)
			}
			if p.Status != http.StatusBadRequest || p.Type != "/problems/malformed-request" || p.Title != "Bad Request" {
				t.Errorf("status/type/title = %d %q %q, want 400 /problems/malformed-request Bad Request", p.Status, p.Type, p.Title)
			}
			if tt.detail != "" && p.Detail != tt.detail {
				t.Errorf("detail = %q, want %q", p.Detail, tt.detail)
			}
			if !reflect.DeepEqual(p.Errors, tt.errors) {
				t.Errorf("errors = %+v, want %+v", p.Errors, tt.errors)
			}
		})
	}
}

// A type that decodes itself reports offsets into its own input; the
// pointer then falls back to encoding/json's Field path.
type selfDecoding struct{ N int }

func (s *selfDecoding) UnmarshalJSON(b []byte) error {
	var inner struct {
		N int `json:"n"`
	}
	if err := json.Unmarshal(b, &inner); err != nil {
		return err
	}
	s.N = inner.N
	return nil
}

func TestDecodeBytesSelfDecodingField(t *testing.T) {
	var dst struct {
		P    string       `json:"p"`
		Self selfDecoding `json:"self"`
	}
	// The inner decoder reports offset 8, the end of "x" inside {"n":"x"};
	// in the body, offset 8 is where the value of "p" ends. The pointer
	// must not name that unrelated value.
	p := problem.DecodeBytes([]byte(`{"p":"x","self":{"n":"x"}}`), &dst)
	if p == nil {
		t.Fatal("DecodeBytes accepted a string for an int inside UnmarshalJSON")
	}
	want := []problem.FieldError{{Pointer: "#/self/n", Detail: "must be an integer, got JSON string"}}
	if p.Status != http.StatusBadRequest || !reflect.DeepEqual(p.Errors, want) {
		t.Errorf("problem = %d %+v, want 400 %+v", p.Status, p.Errors, want)
	}
}

type limitErrReader struct{ err error }

func (r limitErrReader) Read([]byte) (int, error) { return 0, r.err }

func TestDecodeJSON(t *testing.T) {
	const limit = 64
	okBody := `{"note":"hello"}`
	tests := []struct {
		name        string
		contentType string
		body        io.Reader
		wantStatus  int // 0: accepted
		wantType    string
		wantDetail  string
	}{
		{name: "json", contentType: "application/json", body: strings.NewReader(okBody)},
		{name: "json with charset", contentType: "application/json; charset=utf-8", body: strings.NewReader(okBody)},
		{name: "upper-case media type", contentType: "Application/JSON", body: strings.NewReader(okBody)},
		{name: "+json suffix", contentType: "application/merge-patch+json", body: strings.NewReader(okBody)},
		{name: "exactly the limit", contentType: "application/json",
			body: strings.NewReader(`{"note":"` + strings.Repeat("x", limit-11) + `"}`)},
		{
			name: "no content type", body: strings.NewReader(okBody),
			wantStatus: 415, wantType: "/problems/unsupported-media-type",
			wantDetail: "send the body as application/json (Content-Type header missing)",
		},
		{
			name: "form content type", contentType: "application/x-www-form-urlencoded", body: strings.NewReader(okBody),
			wantStatus: 415, wantType: "/problems/unsupported-media-type",
			wantDetail: "send the body as application/json, not application/x-www-form-urlencoded",
		},
		{
			name: "text/plain", contentType: "text/plain", body: strings.NewReader(okBody),
			wantStatus: 415, wantType: "/problems/unsupported-media-type",
		},
		{
			name: "unparsable content type", contentType: "application/json; charset", body: strings.NewReader(okBody),
			wantStatus: 415, wantType: "/problems/unsupported-media-type",
		},
		{
			name: "one byte over the limit", contentType: "application/json",
			body:       strings.NewReader(`{"note":"` + strings.Repeat("x", limit-10) + `"}`),
			wantStatus: 413, wantType: "/problems/body-too-large",
			wantDetail: "the request body exceeds the limit of 64 bytes",
		},
		{
			name: "far over the limit", contentType: "application/json",
			body:       strings.NewReader(strings.Repeat(" ", 10*limit) + okBody),
			wantStatus: 413, wantType: "/problems/body-too-large",
		},
		{
			name: "read error", contentType: "application/json",
			body:       limitErrReader{errors.New("connection reset")},
			wantStatus: 400, wantType: "/problems/malformed-request",
			wantDetail: "the request body could not be read: connection reset",
		},
		{
			name: "malformed body after content checks", contentType: "application/json", body: strings.NewReader(`{`),
			wantStatus: 400, wantType: "/problems/malformed-request",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/orders", tt.body)
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			var dst orderRequest
			p := problem.DecodeJSON(r, limit, &dst)
			if tt.wantStatus == 0 {
				if p != nil {
					t.Fatalf("DecodeJSON = %v, want accepted", p)
				}
				if dst.Note == "" {
					t.Errorf("accepted body not decoded: %+v", dst)
				}
				return
			}
			if p == nil {
				t.Fatalf("DecodeJSON accepted the request, want %d", tt.wantStatus)
			}
			if p.Status != tt.wantStatus || p.Type != tt.wantType {
				t.Errorf("problem = %d %s, want %d %s", p.Status, p.Type, tt.wantStatus, tt.wantType)
			}
			if tt.wantDetail != "" && p.Detail != tt.wantDetail {
				t.Errorf("detail = %q, want %q", p.Detail, tt.wantDetail)
			}
		})
	}
}

// Behind http.MaxBytesReader (httpserver.LimitBody) the reader's own limit
// is the one reported.
func TestDecodeJSONBehindMaxBytesReader(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"note":"`+strings.Repeat("x", 100)+`"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Body = http.MaxBytesReader(rec, r.Body, 32)
	var dst orderRequest
	p := problem.DecodeJSON(r, 1<<20, &dst)
	if p == nil || p.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("DecodeJSON = %v, want 413", p)
	}
	if want := "the request body exceeds the limit of 32 bytes"; p.Detail != want {
		t.Errorf("detail = %q, want %q", p.Detail, want)
	}
}

// FuzzDecodeBytes feeds arbitrary bodies to the decoder every endpoint uses.
// It must never panic; it either accepts (and then what it decoded survives a
// round trip) or returns a 4xx problem with at least one well-formed pointer.
func FuzzDecodeBytes(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var dst orderRequest
		p := problem.DecodeBytes(body, &dst)
		if p == nil {
			// An accepted body names each member once (a repeated name would
			// be read one way here and maybe another in front of us).
			if name, ok := repeatedName(body); ok {
				t.Fatalf("accepted a body that repeats the name %q", name)
			}
			b, err := json.Marshal(dst)
			if err != nil {
				t.Fatalf("accepted body does not re-encode: %v", err)
			}
			var again orderRequest
			if p := problem.DecodeBytes(b, &again); p != nil {
				t.Fatalf("re-encoded body %s rejected: %v", b, p)
			}
			if !reflect.DeepEqual(normalize(dst), normalize(again)) {
				t.Fatalf("round trip changed the value:\n%+v\n%+v", dst, again)
			}
			return
		}
		if p.Status < 400 || p.Status > 499 {
			t.Fatalf("status %d, want 4xx: %v", p.Status, p)
		}
		if p.Type == "" || p.Title == "" || p.Detail == "" {
			t.Fatalf("incomplete problem %+v", p)
		}
		if len(p.Errors) == 0 {
			t.Fatalf("problem without field errors: %+v", p)
		}
		for _, fe := range p.Errors {
			if !validFragmentPointer(fe.Pointer) {
				t.Fatalf("pointer %q is not a JSON pointer in URI fragment form", fe.Pointer)
			}
			if fe.Detail == "" {
				t.Fatalf("field error without detail: %+v", fe)
			}
		}
		if _, err := json.Marshal(p); err != nil {
			t.Fatalf("problem does not encode: %v", err)
		}
	})
}

// normalize makes Extra comparable after re-encoding, which compacts a
// RawMessage, escapes HTML characters in it and renders a nil one as null.
func normalize(r orderRequest) orderRequest {
	if r.Extra != nil {
		var v any
		if err := json.Unmarshal(r.Extra, &v); err == nil {
			r.Extra, _ = json.Marshal(v)
		}
	}
	if string(r.Extra) == "null" {
		r.Extra = nil
	}
	return r
}

func validFragmentPointer(p string) bool {
	if p == "" || p[0] != '#' || (len(p) > 1 && p[1] != '/') {
		return false
	}
	for i := 1; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:@/?", c) >= 0:
		case c == '%':
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
		if c == '~' && (i+1 >= len(p) || (p[i+1] != '0' && p[i+1] != '1')) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'F'
}

type Base struct {
	ID int `json:"id"`
}

type Meta struct {
	Label string `json:"label"`
}

type wrapper struct {
	*Base                    // promoted through a pointer
	Meta  `json:"meta"`      // a tag makes an embedded struct a named field
	Rows  []map[string]*Meta `json:"rows"`
	Any   any                `json:"any"`
}

// The unknown-field walk follows encoding/json's field rules.
func TestDecodeBytesUnknownFieldPointer(t *testing.T) {
	order := func() any { return &orderRequest{} }
	wrapped := func() any { return &wrapper{} }
	tests := []struct {
		name, body, want string
		dst              func() any
	}{
		{"case-insensitive known keys are walked through", `{"ITEMS":[{"Product_Id":1,"qty":1}]}`, "#/ITEMS/0/qty", order},
		{"promoted through a pointer", `{"id":1,"rows":[{"a":{"label":"x"}},{"b":{"size":2}}]}`, "#/rows/1/b/size", wrapped},
		{"tagged embedded struct", `{"meta":{"label":"x","colour":1}}`, "#/meta/colour", wrapped},
		{"fields of a tagged embedded struct are not promoted", `{"label":"x"}`, "#/label", wrapped},
		{"values of an any field are not looked into", `{"any":{"size":1},"size":2}`, "#/size", wrapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := problem.DecodeBytes([]byte(tt.body), tt.dst())
			want := []problem.FieldError{{Pointer: tt.want, Detail: "unknown field"}}
			if p == nil || !reflect.DeepEqual(p.Errors, want) {
				t.Errorf("DecodeBytes = %v, want errors %+v", p, want)
			}
		})
	}
	var ok wrapper
	if p := problem.DecodeBytes([]byte(`{"id":7,"meta":{"label":"x"},"any":{"whatever":[1]}}`), &ok); p != nil {
		t.Fatalf("DecodeBytes = %v", p)
	}
	if ok.Base == nil || ok.ID != 7 || ok.Label != "x" {
		t.Errorf("decoded %+v", ok)
	}
}
