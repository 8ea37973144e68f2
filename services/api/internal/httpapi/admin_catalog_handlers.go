package httpapi

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/goshop-platform/shop/services/api/internal/operations"
	"github.com/goshop-platform/shop/services/platform/problem"
)

func (a *API) adminCatalog(w http.ResponseWriter, r *http.Request) error {
	c, err := a.Operations.Catalog(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (a *API) listDeadEvents(w http.ResponseWriter, r *http.Request) error {
	limit, offset, errs := paging(r)
	if len(errs) > 0 {
		return problem.BadRequest("invalid query parameters", errs...)
	}
	items, total, err := a.Operations.DeadEvents(r.Context(), limit, offset)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page[operations.DeadEvent]{Items: items, Total: total, Limit: limit, Offset: offset})
}

// idParam reads a positive integer path parameter.
func idParam(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, problem.BadRequest("invalid id", problem.Param("id", "must be a positive integer"))
	}
	return id, nil
}

func (a *API) getDeadEvent(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	e, err := a.Operations.DeadEvent(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (a *API) retryDeadEvents(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		IDs    []int64 `json:"ids"`
		All    bool    `json:"all"`
		Reason string  `json:"reason"`
	}
	if p := problem.DecodeJSON(r, a.MaxBodyBytes, &req); p != nil {
		return p
	}
	errs := reasonError(req.Reason)
	switch {
	case req.All && len(req.IDs) > 0:
		errs = append(errs, problem.FieldError{Pointer: problem.Pointer("ids"), Detail: "give ids or all, not both"})
	case !req.All && (len(req.IDs) == 0 || len(req.IDs) > 1000):
		errs = append(errs, problem.FieldError{Pointer: problem.Pointer("ids"), Detail: "must list 1 to 1000 event ids, or set all"})
	}
	for i, id := range req.IDs {
		if id <= 0 {
			errs = append(errs, problem.FieldError{Pointer: problem.Pointer("ids", i), Detail: "must be a positive integer"})
		}
	}
	if len(errs) > 0 {
		return problem.Validation(errs...)
	}
	n, err := a.Operations.RetryDeadEvents(r.Context(), actor(r), req.IDs, req.All, req.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"retried": n})
}

func (a *API) requestReconcile(w http.ResponseWriter, r *http.Request) error {
	reason, err := a.decodeReason(r)
	if err != nil {
		return err
	}
	rec, err := a.Operations.RequestReconcile(r.Context(), actor(r), reason)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/admin/catalog/reconciles/"+strconv.FormatInt(rec.ID, 10))
	return writeJSON(w, http.StatusAccepted, rec)
}

func (a *API) getReconcile(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r)
	if err != nil {
		return err
	}
	rec, err := a.Operations.Reconcile(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rec)
}
