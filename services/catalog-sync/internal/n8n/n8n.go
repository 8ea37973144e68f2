// Package n8n is the relay's target in n8n mode (spec.target: n8n): it
// POSTs batches of product snapshots to the webhook of the shipped workflow
// (services/catalog-sync/n8n/catalog-sync-workflow.json), which writes them
// to Directus with the same version-guarded batch write as the direct mode
// (read the stored versions, update the older items, create the missing
// ones) and answers one result per item; a 2xx answer means confirmed.
//
// The request carries what the workflow needs besides the items: the
// Directus base URL and the sync identity's static token. So the workflow
// needs no n8n credential and no environment access (n8n 2.x blocks $env in
// expressions by default), and one n8n can serve several shops. The
// workflow does not keep successful executions, so the token is not stored
// in n8n's database for them.
package n8n

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/platform/telemetry"
)

// Request is the webhook's body.
type Request struct {
	Items         []directus.Item `json:"items"`
	DirectusURL   string          `json:"directus_url"`
	DirectusToken string          `json:"directus_token"`
}

// Response is what the workflow answers on success.
type Response struct {
	Results []directus.Result `json:"results"`
}

// Client pushes to one workflow webhook.
type Client struct {
	webhook  string
	health   string
	directus *directus.Client
	dURL     string
	dToken   string
	timeout  time.Duration
	http     *http.Client
}

// New returns a client for the webhook URL. d (with the same directusURL
// and token) is used by Ping: the push path is n8n and then Directus.
func New(webhookURL string, timeout time.Duration, directusURL, directusToken string, d *directus.Client) (*Client, error) {
	u, err := url.Parse(webhookURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("n8n webhook URL %q is not an absolute URL", webhookURL)
	}
	health := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/healthz"}).String()
	return &Client{webhook: webhookURL, health: health, directus: d, dURL: directusURL, dToken: directusToken,
		timeout: timeout, http: &http.Client{Transport: telemetry.Transport()}}, nil
}

// Error is a webhook answer other than 2xx.
type Error struct {
	Status int
	Body   string
}

func (e *Error) Error() string { return fmt.Sprintf("n8n webhook answered %d: %s", e.Status, e.Body) }

// Upsert sends one item through the workflow.
func (c *Client) Upsert(ctx context.Context, it directus.Item) (directus.Outcome, error) {
	outs, err := c.WriteBatch(ctx, []directus.Item{it})
	if err != nil {
		return "", fmt.Errorf("product %d: %w", it.ID, err)
	}
	return outs[0], nil
}

// WriteBatch sends items through the workflow in one request and returns
// the outcome of each, in order. Transport errors, 5xx and 429 are wrapped
// in directus.ErrUnavailable (the relay then pings to tell an outage from
// a refused batch); 404 (workflow not published) too.
func (c *Client) WriteBatch(ctx context.Context, items []directus.Item) ([]directus.Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	b, err := json.Marshal(Request{Items: items, DirectusURL: c.dURL, DirectusToken: c.dToken})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.webhook, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("n8n POST webhook with %d products: %w: %w", len(items), directus.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Status: resp.StatusCode, Body: string(raw[:min(len(raw), 500)])}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("%w: %w", directus.ErrUnavailable, e)
		}
		return nil, e
	}
	return outcomes(items, raw)
}

// outcomes maps the workflow's answer onto items.
func outcomes(items []directus.Item, raw []byte) ([]directus.Outcome, error) {
	var out Response
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("n8n answered 2xx with an unreadable body %.300q: %w", raw, err)
	}
	outs, err := directus.MatchOutcomes(items, out.Results)
	if err != nil {
		return nil, fmt.Errorf("n8n answered 2xx with %w", err)
	}
	return outs, nil
}

// CountRequests counts every request the client sends in requests, by
// method (telemetry.CountRequests).
func (c *Client) CountRequests(requests *prometheus.CounterVec) {
	c.http.Transport = telemetry.CountRequests(c.http.Transport, requests)
}

// Ping checks n8n (GET /healthz), that the workflow's webhook is
// registered (an unpublished workflow is an outage, not the event's fault),
// and then Directus.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.health, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("n8n %w: %w", directus.ErrUnavailable, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("n8n %w: /healthz answered %d", directus.ErrUnavailable, resp.StatusCode)
	}
	// n8n answers a GET on a POST-only webhook with 404 "... Did you mean
	// to make a POST request?", and on an unknown one with a plain 404.
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, c.webhook, nil)
	if err != nil {
		return err
	}
	resp, err = c.http.Do(req)
	if err != nil {
		return fmt.Errorf("n8n %w: %w", directus.ErrUnavailable, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound && !bytes.Contains(body, []byte("Did you mean to make a")) {
		return fmt.Errorf("n8n %w: webhook %s is not registered (workflow not published?)", directus.ErrUnavailable, c.webhook)
	}
	if c.directus == nil {
		return nil
	}
	return c.directus.Ping(ctx)
}

// IsError reports an n8n answer with this status.
func IsError(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}
