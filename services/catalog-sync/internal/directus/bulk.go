package directus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The goshop-catalog Directus extension
// (services/catalog-sync/directus/extensions/goshop-catalog) writes a whole
// batch with one INSERT ... ON CONFLICT whose version guard runs inside the
// statement: one request and a few milliseconds for hundreds of products,
// where the REST batch write costs Directus 2-4 ms per product. The client
// uses it when Directus has it and the token may use it, and otherwise the
// REST batch write; it looks again every bulkRecheck, so an extension
// installed later (or removed) is noticed without a restart.
const (
	bulkPath    = "/goshop-catalog"
	bulkRecheck = time.Minute
)

var errNoBulk = errors.New("goshop-catalog extension not available")

// bulkProbe remembers whether the extension answered.
type bulkProbe struct {
	mu        sync.Mutex
	off       bool // spec.directus.bulkWrite: off
	available bool
	checked   time.Time
	gauge     prometheus.Gauge
}

// DisableBulk makes the client use the REST batch write only.
func (c *Client) DisableBulk() {
	c.bulk.mu.Lock()
	defer c.bulk.mu.Unlock()
	c.bulk.off = true
}

// ReportBulk sets g to 1 while the client writes through the extension,
// else 0.
func (c *Client) ReportBulk(g prometheus.Gauge) {
	c.bulk.mu.Lock()
	defer c.bulk.mu.Unlock()
	c.bulk.gauge = g
}

// BulkAvailable probes the extension now (GET /goshop-catalog) and reports
// whether batch writes will use it. An answer other than 200 (404: not
// installed, 403: the token may not use it) means the REST batch write.
func (c *Client) BulkAvailable(ctx context.Context) (bool, error) {
	c.bulk.mu.Lock()
	off := c.bulk.off
	c.bulk.mu.Unlock()
	if off {
		return false, nil
	}
	err := c.do(ctx, http.MethodGet, bulkPath, nil, nil)
	if IsUnavailable(err) {
		return false, err
	}
	c.setBulk(err == nil)
	return err == nil, nil
}

func (c *Client) useBulk(ctx context.Context) bool {
	c.bulk.mu.Lock()
	due := !c.bulk.off && time.Since(c.bulk.checked) >= bulkRecheck
	available := c.bulk.available
	c.bulk.mu.Unlock()
	if due {
		available, _ = c.BulkAvailable(ctx)
	}
	return available
}

func (c *Client) setBulk(available bool) {
	c.bulk.mu.Lock()
	defer c.bulk.mu.Unlock()
	c.bulk.available, c.bulk.checked = available, time.Now()
	if c.bulk.gauge != nil {
		v := 0.0
		if available {
			v = 1
		}
		c.bulk.gauge.Set(v)
	}
}

// bulkWrite sends items to the extension. It returns errNoBulk when the
// extension is gone or refuses the caller (the caller then uses the REST
// batch write); any other error is the batch's refusal or an outage.
func (c *Client) bulkWrite(ctx context.Context, items []Item) ([]Outcome, error) {
	var results []Result
	err := c.do(ctx, http.MethodPost, bulkPath+"/products", map[string]any{"items": items}, &results)
	var de *Error
	if errors.As(err, &de) && !IsUnavailable(err) &&
		(de.Status == http.StatusNotFound || de.Status == http.StatusForbidden || de.Status == http.StatusNotImplemented) {
		c.setBulk(false)
		return nil, fmt.Errorf("%w: %w", errNoBulk, err)
	}
	if err != nil {
		return nil, fmt.Errorf("bulk write of %d products: %w", len(items), err)
	}
	return MatchOutcomes(items, results)
}

// Result is a writer's word on one item of a batch ("created", "updated"
// or "stale"): the extension's and the n8n workflow's answer.
type Result struct {
	ID     Int64  `json:"id"`
	Result string `json:"result"`
}

// MatchOutcomes maps results onto items, refusing an answer that does not
// account for every item with a known result.
func MatchOutcomes(items []Item, results []Result) ([]Outcome, error) {
	byID := make(map[Int64]Outcome, len(results))
	for _, r := range results {
		switch o := Outcome(r.Result); o {
		case Created, Updated, Stale:
			byID[r.ID] = o
		default:
			return nil, fmt.Errorf("result %q for product %d", r.Result, r.ID)
		}
	}
	outs := make([]Outcome, len(items))
	for i, it := range items {
		o, ok := byID[it.ID]
		if !ok {
			return nil, fmt.Errorf("no result for product %d", it.ID)
		}
		outs[i] = o
	}
	return outs, nil
}
