package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/goshop-platform/shop/services/api/internal/product"
	"github.com/goshop-platform/shop/services/platform/problem"
)

func etag(p product.Product) string { return fmt.Sprintf(`"%d"`, p.Version) }

func writeProduct(w http.ResponseWriter, status int, p product.Product) error {
	w.Header().Set("ETag", etag(p))
	return writeJSON(w, status, p)
}

// pathID reads a positive integer id from the route.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, problem.New(http.StatusNotFound, "not-found", "product ids are positive integers")
	}
	return id, nil
}

// paging reads limit (1-100, default 20) and offset (0-1000000).
func paging(r *http.Request) (limit, offset int, errs []problem.FieldError) {
	limit, offset = 20, 0
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			errs = append(errs, problem.Param("limit", "must be an integer from 1 to 100"))
		}
		limit = n
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 1_000_000 {
			errs = append(errs, problem.Param("offset", "must be an integer from 0 to 1000000"))
		}
		offset = n
	}
	return limit, offset, errs
}

func (a *API) listProducts(w http.ResponseWriter, r *http.Request) error {
	limit, offset, errs := paging(r)
	q := product.ListQuery{Text: r.URL.Query().Get("q"), Limit: limit, Offset: offset}
	if len(q.Text) > 200 {
		errs = append(errs, problem.Param("q", "must be at most 200 characters"))
	}
	if s := r.URL.Query().Get("active"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			errs = append(errs, problem.Param("active", "must be true or false"))
		}
		q.Active = &b
	}
	if len(errs) > 0 {
		return problem.BadRequest("invalid query parameters", errs...)
	}
	page, err := a.Products.List(r.Context(), q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

func (a *API) getProduct(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := a.Products.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return writeProduct(w, http.StatusOK, p)
}

func (a *API) createProduct(w http.ResponseWriter, r *http.Request) error {
	var in product.NewProduct
	if p := problem.DecodeJSON(r, a.MaxBodyBytes, &in); p != nil {
		return p
	}
	if errs := in.Validate(); len(errs) > 0 {
		return problem.Validation(errs...)
	}
	p, err := a.Products.Create(r.Context(), in, traceparent(r))
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/products/%d", p.ID))
	return writeProduct(w, http.StatusCreated, p)
}

func (a *API) replaceProduct(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	version, err := ifMatch(r, true)
	if err != nil {
		return err
	}
	var in product.Fields
	if p := problem.DecodeJSON(r, a.MaxBodyBytes, &in); p != nil {
		return p
	}
	if errs := in.Validate(); len(errs) > 0 {
		return problem.Validation(errs...)
	}
	p, err := a.Products.Replace(r.Context(), id, version, in, traceparent(r))
	if err != nil {
		return err
	}
	return writeProduct(w, http.StatusOK, p)
}

func (a *API) archiveProduct(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	version, err := ifMatch(r, false)
	if err != nil {
		return err
	}
	if _, err := a.Products.Archive(r.Context(), id, version, traceparent(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type adjustment struct {
	Delta  *int   `json:"delta"`
	Reason string `json:"reason"`
}

func (a *API) adjustStock(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in adjustment
	if p := problem.DecodeJSON(r, a.MaxBodyBytes, &in); p != nil {
		return p
	}
	var errs []problem.FieldError
	switch {
	case in.Delta == nil:
		errs = append(errs, problem.FieldError{Pointer: "#/delta", Detail: "required"})
	case *in.Delta == 0 || *in.Delta < -product.MaxAdjust || *in.Delta > product.MaxAdjust:
		errs = append(errs, problem.FieldError{Pointer: "#/delta", Detail: fmt.Sprintf("must be a non-zero integer between -%d and %d", product.MaxAdjust, product.MaxAdjust)})
	}
	if len(in.Reason) > 500 {
		errs = append(errs, problem.FieldError{Pointer: "#/reason", Detail: "must be at most 500 characters"})
	}
	if len(errs) > 0 {
		return problem.Validation(errs...)
	}
	p, err := a.Products.AdjustStock(r.Context(), id, *in.Delta, traceparent(r))
	if err != nil {
		return err
	}
	a.Log.InfoContext(r.Context(), "stock adjusted", "product_id", id, "delta", *in.Delta, "reason", in.Reason,
		"admin_id", principal(r).UserID, "stock", p.Stock)
	return writeProduct(w, http.StatusOK, p)
}

// ifMatch parses If-Match: "<version>" (weak W/ form accepted). When
// required and absent the answer is 428; absent and optional gives 0.
func ifMatch(r *http.Request, required bool) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		if required {
			p := problem.New(http.StatusPreconditionRequired, "if-match-required", `send If-Match with the ETag from GET /api/v1/products/{id}, e.g. If-Match: "3"`)
			p.Errors = []problem.FieldError{problem.Param("If-Match", "required")}
			return 0, p
		}
		return 0, nil
	}
	v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil || v <= 0 {
		return 0, problem.BadRequest(`If-Match must be an ETag such as "3"`, problem.Param("If-Match", "malformed ETag"))
	}
	return v, nil
}
