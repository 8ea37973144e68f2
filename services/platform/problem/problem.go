// Package problem writes RFC 9457 "problem details" error responses
// (application/problem+json). Every service maps its domain errors to a
// Problem in exactly one place at its HTTP edge and writes it with Write, so
// clients always get the same machine-readable shape, including a list of
// field-level errors that names each offending field with a JSON pointer.
package problem

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ContentType is the media type of every error body.
const ContentType = "application/problem+json"

// FieldError names one offending field. For the request body, Pointer is a
// JSON pointer in URI-fragment form ("#/items/0/quantity"), following the
// example in RFC 9457 section 3; for a query parameter or header, Parameter
// names it ("limit", "If-Match").
type FieldError struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
	Detail    string `json:"detail"`
}

// Param is a FieldError about a query parameter or header.
func Param(name, detail string) FieldError { return FieldError{Parameter: name, Detail: detail} }

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
	// CurrentStatus is the resource's state when a request conflicts with it
	// (409: an order that cannot be cancelled, paid or shipped now).
	CurrentStatus string `json:"current_status,omitempty"`

	// RetryAfter, when set, is sent as a Retry-After header (whole seconds).
	RetryAfter time.Duration `json:"-"`
}

// Error makes a Problem usable as an error value inside handlers.
func (p *Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
	}
	return fmt.Sprintf("%d %s", p.Status, p.Title)
}

// New builds a problem of the given status. slug names the problem type
// (it becomes "/problems/<slug>"); an empty slug means "about:blank".
func New(status int, slug, detail string) *Problem {
	typ := "about:blank"
	if slug != "" {
		typ = "/problems/" + slug
	}
	return &Problem{Type: typ, Title: http.StatusText(status), Status: status, Detail: detail}
}

// Validation is the 422 problem for a well-formed request whose values are wrong.
func Validation(errs ...FieldError) *Problem {
	p := New(http.StatusUnprocessableEntity, "validation", "the request has invalid fields; see errors")
	p.Errors = errs
	return p
}

// BadRequest is the 400 problem for a request that cannot be decoded.
func BadRequest(detail string, errs ...FieldError) *Problem {
	p := New(http.StatusBadRequest, "malformed-request", detail)
	p.Errors = errs
	return p
}

// Write sends p as the response. The instance member defaults to the request path.
func Write(w http.ResponseWriter, r *http.Request, p *Problem) {
	// Fill in a copy: a *Problem may be a shared value written by many
	// requests at once, and must not keep the first request's path.
	cp := *p
	p = &cp
	if p.Instance == "" && r != nil {
		p.Instance = r.URL.Path
	}
	if p.RetryAfter > 0 {
		secs := int((p.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// Pointer builds a JSON pointer fragment from path segments:
// Pointer("items", 0, "quantity") == "#/items/0/quantity".
func Pointer(segments ...any) string {
	s := "#"
	for _, seg := range segments {
		s += "/" + escape(fmt.Sprint(seg))
	}
	return s
}

// escape applies RFC 6901's escapes ("~" as "~0", "/" as "~1") and then
// percent-encodes every byte a URI fragment cannot hold (RFC 6901 section 6),
// so that the pointer stays a valid fragment even for keys a client made up.
func escape(seg string) string {
	out := make([]byte, 0, len(seg))
	for i := 0; i < len(seg); i++ {
		switch c := seg[i]; {
		case c == '~':
			out = append(out, '~', '0')
		case c == '/':
			out = append(out, '~', '1')
		case fragmentSafe(c):
			out = append(out, c)
		default:
			out = append(out, '%', hex[c>>4], hex[c&0xf])
		}
	}
	return string(out)
}

const hex = "0123456789ABCDEF"

// fragmentSafe reports whether c may appear unencoded in a URI fragment
// (RFC 3986: unreserved, sub-delims, ":", "@", "/" and "?").
func fragmentSafe(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/?", c) >= 0
}
