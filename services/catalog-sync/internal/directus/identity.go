package directus

import (
	"context"
	"fmt"
	"net/http"
)

// Service identity names, fixed so EnsureIdentity finds what it made before.
const (
	IdentityPolicy = "catalog-sync"
	IdentityEmail  = "catalog-sync@example.com"
)

// EnsureIdentity (run with an admin token) makes the least-privilege
// identity catalog-sync runs as: a policy with create/read/update/delete on
// products and nothing else, and a user attached to it whose static token
// is token. Running it again changes nothing; a different token replaces
// the user's token (rotation). It returns whether anything was written.
func (c *Client) EnsureIdentity(ctx context.Context, token string) (bool, error) {
	changed := false
	var policies []struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodGet, "/policies"+q("filter[name][_eq]", IdentityPolicy, "fields", "id"), nil, &policies); err != nil {
		return false, fmt.Errorf("find policy %s: %w", IdentityPolicy, err)
	}
	var policy string
	if len(policies) > 0 {
		policy = policies[0].ID
	} else {
		var created struct {
			ID string `json:"id"`
		}
		body := map[string]any{"name": IdentityPolicy, "icon": "sync", "admin_access": false, "app_access": false,
			"description": "catalog-sync: keeps products equal to the Postgres catalogue"}
		if err := c.do(ctx, http.MethodPost, "/policies", body, &created); err != nil {
			return false, fmt.Errorf("create policy %s: %w", IdentityPolicy, err)
		}
		policy, changed = created.ID, true
	}
	var perms []struct {
		Action string `json:"action"`
	}
	if err := c.do(ctx, http.MethodGet, "/permissions"+q("filter[policy][_eq]", policy, "filter[collection][_eq]", Collection,
		"fields", "action", "limit", "-1"), nil, &perms); err != nil {
		return false, fmt.Errorf("read permissions of %s: %w", IdentityPolicy, err)
	}
	have := map[string]bool{}
	for _, p := range perms {
		have[p.Action] = true
	}
	for _, action := range []string{"create", "read", "update", "delete"} {
		if have[action] {
			continue
		}
		perm := map[string]any{"policy": policy, "collection": Collection, "action": action,
			"fields": []string{"*"}, "permissions": map[string]any{}, "validation": map[string]any{}}
		if err := c.do(ctx, http.MethodPost, "/permissions", perm, nil); err != nil {
			return false, fmt.Errorf("grant %s on %s to %s: %w", action, Collection, IdentityPolicy, err)
		}
		changed = true
	}
	var users []struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodGet, "/users"+q("filter[email][_eq]", IdentityEmail, "fields", "id"), nil, &users); err != nil {
		return false, fmt.Errorf("find user %s: %w", IdentityEmail, err)
	}
	var user string
	if len(users) == 0 {
		var created struct {
			ID string `json:"id"`
		}
		body := map[string]any{"email": IdentityEmail, "first_name": "catalog-sync", "status": "active", "token": token}
		if err := c.do(ctx, http.MethodPost, "/users", body, &created); err != nil {
			return false, fmt.Errorf("create user %s: %w", IdentityEmail, err)
		}
		user, changed = created.ID, true
	} else {
		user = users[0].ID
		// The token is write-only in Directus: whether it is already this
		// one cannot be read, so it is set every time (same value: no change).
		if err := c.do(ctx, http.MethodPatch, "/users/"+user, map[string]any{"token": token, "status": "active"}, nil); err != nil {
			return false, fmt.Errorf("set token of %s: %w", IdentityEmail, err)
		}
	}
	var access []struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodGet, "/access"+q("filter[user][_eq]", user, "filter[policy][_eq]", policy, "fields", "id"), nil, &access); err != nil {
		return false, fmt.Errorf("read access of %s: %w", IdentityEmail, err)
	}
	if len(access) == 0 {
		if err := c.do(ctx, http.MethodPost, "/access", map[string]any{"user": user, "policy": policy}, nil); err != nil {
			return false, fmt.Errorf("attach policy %s to %s: %w", IdentityPolicy, IdentityEmail, err)
		}
		changed = true
	}
	return changed, nil
}
