package httpapi

import (
	"net/http"

	"github.com/goshop-platform/shop/services/api/internal/operations"
	"github.com/goshop-platform/shop/services/platform/problem"
)

// listUsers finds accounts by a part of their email (?email=).
func (a *API) listUsers(w http.ResponseWriter, r *http.Request) error {
	limit, offset, errs := paging(r)
	q := r.URL.Query().Get("email")
	if len(q) > 254 {
		errs = append(errs, problem.Param("email", "must be at most 254 characters"))
	}
	if len(errs) > 0 {
		return problem.BadRequest("invalid query parameters", errs...)
	}
	items, total, err := a.Operations.Users(r.Context(), q, limit, offset)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page[operations.User]{Items: items, Total: total, Limit: limit, Offset: offset})
}

// actOnUser ends a user's sessions, disables or enables the account.
func (a *API) actOnUser(action operations.UserAction) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := idParam(r)
		if err != nil {
			return err
		}
		reason, err := a.decodeReason(r)
		if err != nil {
			return err
		}
		u, err := a.Operations.ActOnUser(r.Context(), actor(r), action, id, reason)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, u)
	}
}

// logoutEverywhere ends every session of the caller: all refresh tokens are
// revoked and every access token issued so far stops working on every
// replica within seconds (this one included).
func (a *API) logoutEverywhere(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.Auth.EndSessions(r.Context(), principal(r).UserID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
