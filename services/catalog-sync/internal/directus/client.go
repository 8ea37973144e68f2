// Package directus is the small Directus REST client catalog-sync needs:
// applying the products collection schema and its public read permission
// (EnsureSchema), a version-guarded upsert of one product, and the batch
// item endpoints the full reconcile uses. JSON over net/http, every request
// bounded by a timeout.
package directus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/goshop-platform/shop/services/platform/telemetry"
)

// Collection is the Directus collection catalog-sync owns.
const Collection = "products"

// Client talks to one Directus with one static token.
type Client struct {
	base    string
	token   string
	timeout time.Duration
	http    *http.Client
	bulk    bulkProbe
}

// New returns a client for base (no trailing slash) authenticating with token.
func New(base, token string, timeout time.Duration) *Client {
	return &Client{base: base, token: token, timeout: timeout, http: &http.Client{Transport: telemetry.Transport()}}
}

// CountRequests counts every request the client sends in requests, by
// method (telemetry.CountRequests).
func (c *Client) CountRequests(requests *prometheus.CounterVec) {
	c.http.Transport = telemetry.CountRequests(c.http.Transport, requests)
}

// Error is a Directus answer other than 2xx.
type Error struct {
	Method, Path string
	Status       int
	Code         string // first errors[].extensions.code, e.g. RECORD_NOT_UNIQUE
	Field        string // errors[].extensions.field when Directus names one
	Message      string
}

func (e *Error) Error() string {
	return fmt.Sprintf("directus %s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Message)
}

// ErrUnavailable marks failures that are not the request's fault: Directus
// unreachable, timing out, or answering 5xx/429. Callers retry them without
// blaming the event.
var ErrUnavailable = errors.New("directus unavailable")

// IsUnavailable reports whether err is ErrUnavailable.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

// do sends body (JSON-encoded unless nil) and decodes the "data" member of
// the answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, pathQuery string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// Errors name the path without the query: a batch's query lists
	// hundreds of ids.
	path, _, _ := strings.Cut(pathQuery, "?")
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode directus %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+pathQuery, rd)
	if err != nil {
		return fmt.Errorf("directus %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("directus %s %s: %w: %w", method, path, ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("directus %s %s: read answer: %w: %w", method, path, ErrUnavailable, err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{Method: method, Path: path, Status: resp.StatusCode}
		var eb struct {
			Errors []struct {
				Message    string `json:"message"`
				Extensions struct {
					Code  string `json:"code"`
					Field string `json:"field"`
				} `json:"extensions"`
			} `json:"errors"`
		}
		if json.Unmarshal(raw, &eb) == nil && len(eb.Errors) > 0 {
			e.Code, e.Field, e.Message = eb.Errors[0].Extensions.Code, eb.Errors[0].Extensions.Field, eb.Errors[0].Message
		} else {
			e.Message = string(raw[:min(len(raw), 300)])
		}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return fmt.Errorf("%w: %w", ErrUnavailable, e)
		}
		return e
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("directus %s %s: decode answer: %w", method, path, err)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("directus %s %s: decode data: %w", method, path, err)
	}
	return nil
}

// Ping checks that Directus answers (GET /server/ping).
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/server/ping", nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: /server/ping answered %d", ErrUnavailable, resp.StatusCode)
	}
	return nil
}

// IsCode reports a Directus error with the given extensions.code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "?" + v.Encode()
}
