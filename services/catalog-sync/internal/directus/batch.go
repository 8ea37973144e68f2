package directus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// WriteBatch writes many products, each only if Directus holds an older
// version or none: in one request through the goshop-catalog extension when
// Directus has it (bulk.go), else with the REST batch write (RESTBatch).
func (c *Client) WriteBatch(ctx context.Context, items []Item) ([]Outcome, error) {
	if c.useBulk(ctx) {
		outs, err := c.bulkWrite(ctx, items)
		if !errors.Is(err, errNoBulk) {
			return outs, err
		}
	}
	return c.RESTBatch(ctx, items)
}

// RESTBatch writes many products with at most three requests of Directus'
// REST API, keeping the version guard of Upsert for each of them:
//
//  1. read the stored items in one request;
//  2. update, in one batch update, the items Directus holds in an older
//     version — only the fields that differ (Changes);
//  3. create, in one batch create, the items Directus lacks.
//
// Items Directus already holds in the same or a newer version are not
// written (Stale). The items must have distinct ids. The outcomes are in
// the order of items.
//
// The guard is exact as long as nobody else writes these items between
// the read and the writes, which catalog-sync ensures as for Upsert: the
// relay holds each product's outbox rows locked while it writes it, and
// the reconcile excludes the relay. A batch is not all-or-nothing across
// its two writes: when the create is refused, the update may have been
// applied. Callers fall back to Upsert per item on any error; the guard
// then finds those items current (Stale).
func (c *Client) RESTBatch(ctx context.Context, items []Item) ([]Outcome, error) {
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = int64(it.ID)
	}
	have, err := c.Current(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Outcome, len(items))
	var create []Item
	var update []map[string]any
	for i, it := range items {
		cur, ok := have[int64(it.ID)]
		switch {
		case !ok:
			create, out[i] = append(create, it), Created
		case cur.Version < it.Version:
			update, out[i] = append(update, Changes(cur, it)), Updated
		default:
			out[i] = Stale
		}
	}
	// Updates first: an item may give up a sku that a new one takes.
	if len(update) > 0 {
		if err := c.do(ctx, http.MethodPatch, "/items/"+Collection+q("fields", "id"), update, nil); err != nil {
			return nil, fmt.Errorf("update %d products: %w", len(update), err)
		}
	}
	if err := c.CreateMany(ctx, create); err != nil {
		return nil, err
	}
	return out, nil
}

// Current returns the stored item of each of ids that exists in Directus,
// in one request.
func (c *Client) Current(ctx context.Context, ids []int64) (map[int64]Item, error) {
	have := make(map[int64]Item, len(ids))
	if len(ids) == 0 {
		return have, nil
	}
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.FormatInt(id, 10)
	}
	var items []Item
	path := "/items/" + Collection + q("filter[id][_in]", strings.Join(list, ","), "fields", Fields, "limit", "-1")
	if err := c.do(ctx, http.MethodGet, path, nil, &items); err != nil {
		return nil, fmt.Errorf("read %d products: %w", len(ids), err)
	}
	for _, it := range items {
		have[int64(it.ID)] = it
	}
	return have, nil
}
