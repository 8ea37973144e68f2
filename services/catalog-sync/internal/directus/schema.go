package directus

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// schemaJSON is the products collection as the storefront needs it: the
// POST /collections body, applied by EnsureSchema.
//
//go:embed schema.json
var schemaJSON []byte

type collectionDef struct {
	Collection string            `json:"collection"`
	Meta       json.RawMessage   `json:"meta"`
	Schema     json.RawMessage   `json:"schema"`
	Fields     []json.RawMessage `json:"fields"`
}

// SchemaReport says what EnsureSchema changed (all empty: nothing to do).
type SchemaReport struct {
	CreatedCollection bool
	CreatedFields     []string
	PublicRead        bool     // the public read permission was added
	RemovedPublic     []string // public non-read permissions on products removed
	// NoAccountability: activity and revision tracking of the collection
	// was switched off (it was on).
	NoAccountability bool
}

// Changed reports whether anything was written.
func (r SchemaReport) Changed() bool {
	return r.CreatedCollection || len(r.CreatedFields) > 0 || r.PublicRead || len(r.RemovedPublic) > 0 || r.NoAccountability
}

// EnsureSchema makes Directus match schema.json the way an operator
// reconciles: it creates the products collection or the fields it lacks
// (existing fields are left alone: changing a column type is a migration a
// person decides on), gives the public policy read access to products with
// all fields, and removes any public create/update/delete on products.
// Running it again changes nothing.
func (c *Client) EnsureSchema(ctx context.Context) (SchemaReport, error) {
	var rep SchemaReport
	var def collectionDef
	if err := json.Unmarshal(schemaJSON, &def); err != nil {
		return rep, fmt.Errorf("schema.json: %w", err)
	}
	var existing []struct {
		Field string `json:"field"`
	}
	err := c.do(ctx, http.MethodGet, "/fields/"+def.Collection, nil, &existing)
	var de *Error
	switch {
	case err == nil && len(existing) > 0:
		have := map[string]bool{}
		for _, f := range existing {
			have[f.Field] = true
		}
		for _, raw := range def.Fields {
			var f struct {
				Field string `json:"field"`
			}
			if err := json.Unmarshal(raw, &f); err != nil {
				return rep, fmt.Errorf("schema.json field: %w", err)
			}
			if have[f.Field] {
				continue
			}
			if err := c.do(ctx, http.MethodPost, "/fields/"+def.Collection, raw, nil); err != nil {
				return rep, fmt.Errorf("create field %s.%s: %w", def.Collection, f.Field, err)
			}
			rep.CreatedFields = append(rep.CreatedFields, f.Field)
		}
		if err := c.ensureNoAccountability(ctx, def.Collection, &rep); err != nil {
			return rep, err
		}
	case err == nil || (errorsAs(err, &de) && (de.Status == http.StatusForbidden || de.Status == http.StatusNotFound)):
		// Directus answers 403 for a collection that does not exist; if the
		// token is the problem, the POST below says so.
		if err := c.do(ctx, http.MethodPost, "/collections", json.RawMessage(schemaJSON), nil); err != nil {
			return rep, fmt.Errorf("create collection %s: %w", def.Collection, err)
		}
		rep.CreatedCollection = true
	default:
		return rep, fmt.Errorf("read fields of %s: %w", def.Collection, err)
	}
	return rep, c.ensurePublicRead(ctx, def.Collection, &rep)
}

// ensureNoAccountability switches off Directus' activity log and
// revisions for the collection. It is a mirror that catalog-sync rewrites
// on every stock change: with tracking on, every synced change would add an
// activity and a revision row to Directus' database (millions a day under
// order load) and roughly double the cost of each write.
func (c *Client) ensureNoAccountability(ctx context.Context, collection string, rep *SchemaReport) error {
	var col struct {
		Meta struct {
			Accountability *string `json:"accountability"`
		} `json:"meta"`
	}
	if err := c.do(ctx, http.MethodGet, "/collections/"+collection, nil, &col); err != nil {
		return fmt.Errorf("read collection %s: %w", collection, err)
	}
	if col.Meta.Accountability == nil {
		return nil
	}
	body := map[string]any{"meta": map[string]any{"accountability": nil}}
	if err := c.do(ctx, http.MethodPatch, "/collections/"+collection, body, nil); err != nil {
		return fmt.Errorf("switch off accountability of %s: %w", collection, err)
	}
	rep.NoAccountability = true
	return nil
}

func (c *Client) ensurePublicRead(ctx context.Context, collection string, rep *SchemaReport) error {
	var policies []struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodGet, "/policies"+q("filter[name][_eq]", "$t:public_label", "fields", "id"), nil, &policies); err != nil {
		return fmt.Errorf("find the public policy: %w", err)
	}
	if len(policies) != 1 {
		return fmt.Errorf("find the public policy: %d policies named $t:public_label, want 1", len(policies))
	}
	policy := policies[0].ID
	var perms []struct {
		ID     int64    `json:"id"`
		Action string   `json:"action"`
		Fields []string `json:"fields"`
	}
	if err := c.do(ctx, http.MethodGet, "/permissions"+q("filter[policy][_eq]", policy, "filter[collection][_eq]", collection,
		"fields", "id,action,fields", "limit", "-1"), nil, &perms); err != nil {
		return fmt.Errorf("read public permissions on %s: %w", collection, err)
	}
	hasRead := false
	var remove []int64
	for _, p := range perms {
		if p.Action == "read" && len(p.Fields) == 1 && p.Fields[0] == "*" && !hasRead {
			hasRead = true
			continue
		}
		remove = append(remove, p.ID)
		rep.RemovedPublic = append(rep.RemovedPublic, p.Action)
	}
	if len(remove) > 0 {
		if err := c.do(ctx, http.MethodDelete, "/permissions", remove, nil); err != nil {
			return fmt.Errorf("remove public permissions %v on %s: %w", remove, collection, err)
		}
	}
	if hasRead {
		return nil
	}
	perm := map[string]any{"policy": policy, "collection": collection, "action": "read",
		"fields": []string{"*"}, "permissions": map[string]any{}, "validation": map[string]any{}}
	if err := c.do(ctx, http.MethodPost, "/permissions", perm, nil); err != nil {
		return fmt.Errorf("grant public read on %s: %w", collection, err)
	}
	rep.PublicRead = true
	return nil
}

func errorsAs(err error, target **Error) bool { return errors.As(err, target) }
