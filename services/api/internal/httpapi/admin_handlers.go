package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/goshop-platform/shop/services/api/internal/operations"
	"github.com/goshop-platform/shop/services/kernel/deadletter"
	"github.com/goshop-platform/shop/services/kernel/pause"
	"github.com/goshop-platform/shop/services/platform/problem"
)

// mountAdmin adds the operations console's routes (admin role required by
// the caller's group). Every POST takes a reason and is audited.
func (a *API) mountAdmin(r chi.Router) {
	r.Get("/queues", a.handle(a.adminQueues))
	r.Post("/queues/consumption", a.handle(a.adminSwitch(pause.Consumption)))
	r.Post("/intake", a.handle(a.adminSwitch(pause.Intake)))
	r.Get("/dead-letters", a.handle(a.listDeadLetters))
	r.Get("/dead-letters/{id}", a.handle(a.getDeadLetter))
	r.Post("/dead-letters/replay", a.handle(a.replayDeadLetters))
	r.Post("/dead-letters/discard", a.handle(a.discardDeadLetters))
	r.Get("/catalog", a.handle(a.adminCatalog))
	r.Get("/catalog/dead-events", a.handle(a.listDeadEvents))
	r.Get("/catalog/dead-events/{id}", a.handle(a.getDeadEvent))
	r.Post("/catalog/dead-events/retry", a.handle(a.retryDeadEvents))
	r.Post("/catalog/reconciles", a.handle(a.requestReconcile))
	r.Get("/catalog/reconciles/{id}", a.handle(a.getReconcile))
	r.Get("/actions", a.handle(a.listAdminActions))
	r.Get("/users", a.handle(a.listUsers))
	r.Post("/users/{id}/sessions/end", a.handle(a.actOnUser(operations.EndSessions)))
	r.Post("/users/{id}/disable", a.handle(a.actOnUser(operations.DisableUser)))
	r.Post("/users/{id}/enable", a.handle(a.actOnUser(operations.EnableUser)))
}

func actor(r *http.Request) operations.Actor { return operations.Actor{UserID: principal(r).UserID} }

// reasonError checks an action's reason (required: it goes to the audit record).
func reasonError(reason string) []problem.FieldError {
	if n := len([]rune(reason)); n < 1 || n > 500 {
		return []problem.FieldError{{Pointer: problem.Pointer("reason"), Detail: "must be 1 to 500 characters: say why, it is kept in the audit log"}}
	}
	return nil
}

// decodeReason reads the body of an action that takes only a reason.
func (a *API) decodeReason(r *http.Request) (string, error) {
	var req struct {
		Reason string `json:"reason"`
	}
	if p := problem.DecodeJSON(r, a.MaxBodyBytes, &req); p != nil {
		return "", p
	}
	if errs := reasonError(req.Reason); len(errs) > 0 {
		return "", problem.Validation(errs...)
	}
	return req.Reason, nil
}

func (a *API) adminQueues(w http.ResponseWriter, r *http.Request) error {
	q, err := a.Operations.Queues(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, q)
}

type switchRequest struct {
	Paused            *bool  `json:"paused"`
	Reason            string `json:"reason"`
	RetryAfterSeconds int    `json:"retry_after_seconds"`
}

// adminSwitch pauses or resumes intake or consumption.
func (a *API) adminSwitch(name string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req switchRequest
		if p := problem.DecodeJSON(r, a.MaxBodyBytes, &req); p != nil {
			return p
		}
		errs := reasonError(req.Reason)
		if req.Paused == nil {
			errs = append(errs, problem.FieldError{Pointer: problem.Pointer("paused"), Detail: "required: true to pause, false to resume"})
		}
		if req.RetryAfterSeconds < 0 || req.RetryAfterSeconds > 3600 || (name != pause.Intake && req.RetryAfterSeconds != 0) {
			errs = append(errs, problem.FieldError{Pointer: problem.Pointer("retry_after_seconds"), Detail: "must be 0 to 3600, and only for intake"})
		}
		if len(errs) > 0 {
			return problem.Validation(errs...)
		}
		st := pause.State{Paused: *req.Paused, RetryAfterSeconds: req.RetryAfterSeconds}
		if st.Paused && name == pause.Intake && st.RetryAfterSeconds == 0 {
			st.RetryAfterSeconds = 30
		}
		out, err := a.Operations.SetPause(r.Context(), actor(r), name, st, req.Reason)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, out)
	}
}

// deadLetterFilter reads the dead-letter filters of a query string.
func deadLetterFilter(r *http.Request) (deadletter.Filter, []problem.FieldError) {
	q := r.URL.Query()
	f := deadletter.Filter{Reason: q.Get("reason")}
	var errs []problem.FieldError
	for name, dst := range map[string]*int64{"product_id": &f.ProductID, "user_id": &f.UserID} {
		if s := q.Get(name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				errs = append(errs, problem.Param(name, "must be a positive integer"))
			}
			*dst = n
		}
	}
	if s := q.Get("older_than"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			errs = append(errs, problem.Param("older_than", "must be a duration such as 30m or 24h"))
		}
		f.OlderThan = d
	}
	return f, errs
}

type deadLetterPage struct {
	Items  []deadletter.Letter `json:"items"`
	Total  int                 `json:"total"`
	Limit  int                 `json:"limit"`
	Offset int                 `json:"offset"`
	// State is dead or discarded; DiscardedRetention says how long
	// discarded letters are kept.
	State              string `json:"state"`
	DiscardedRetention string `json:"discarded_retention"`
}

func (a *API) listDeadLetters(w http.ResponseWriter, r *http.Request) error {
	limit, offset, errs := paging(r)
	f, ferrs := deadLetterFilter(r)
	errs = append(errs, ferrs...)
	state := r.URL.Query().Get("state")
	if state == "" {
		state = "dead"
	}
	if state != "dead" && state != "discarded" {
		errs = append(errs, problem.Param("state", "must be dead or discarded"))
	}
	if len(errs) > 0 {
		return problem.BadRequest("invalid query parameters", errs...)
	}
	items, total, err := a.Operations.DeadLetters().List(r.Context(), f, state == "discarded", limit, offset)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, deadLetterPage{Items: items, Total: total, Limit: limit, Offset: offset,
		State: state, DiscardedRetention: a.Operations.Retention.String()})
}

func (a *API) getDeadLetter(w http.ResponseWriter, r *http.Request) error {
	ref, err := url.PathUnescape(chi.URLParam(r, "id")) // "0%3A1-0" as well as "0:1-0"
	if err != nil {
		return problem.BadRequest("invalid dead letter id", problem.Param("id", "is not a valid path segment"))
	}
	if _, _, err := a.Operations.DeadLetters().ParseRef(ref); err != nil {
		return problem.BadRequest("invalid dead letter id", problem.Param("id", err.Error()))
	}
	l, err := a.Operations.DeadLetters().Get(r.Context(), ref, r.URL.Query().Get("state") == "discarded")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

type selectionRequest struct {
	IDs    []string `json:"ids"`
	All    bool     `json:"all"`
	Filter struct {
		Reason    string `json:"reason"`
		ProductID int64  `json:"product_id"`
		UserID    int64  `json:"user_id"`
		OlderThan string `json:"older_than"`
	} `json:"filter"`
	Reason string `json:"reason"`
}

// selection decodes and checks a replay or discard request.
func (a *API) selection(r *http.Request) (operations.Selection, string, error) {
	var req selectionRequest
	if p := problem.DecodeJSON(r, a.MaxBodyBytes, &req); p != nil {
		return operations.Selection{}, "", p
	}
	errs := reasonError(req.Reason)
	sel := operations.Selection{Refs: req.IDs, All: req.All, Filter: deadletter.Filter{
		Reason: req.Filter.Reason, ProductID: req.Filter.ProductID, UserID: req.Filter.UserID}}
	switch {
	case req.All && len(req.IDs) > 0:
		errs = append(errs, problem.FieldError{Pointer: problem.Pointer("ids"), Detail: "give ids or all, not both"})
	case !req.All && (len(req.IDs) == 0 || len(req.IDs) > 1000):
		errs = append(errs, problem.FieldError{Pointer: problem.Pointer("ids"), Detail: "must list 1 to 1000 dead letter ids, or set all with a filter"})
	}
	for i, id := range req.IDs {
		if _, _, err := a.Operations.DeadLetters().ParseRef(id); err != nil {
			errs = append(errs, problem.FieldError{Pointer: problem.Pointer("ids", i), Detail: err.Error()})
		}
	}
	if req.Filter.OlderThan != "" {
		d, err := time.ParseDuration(req.Filter.OlderThan)
		if err != nil || d < 0 {
			errs = append(errs, problem.FieldError{Pointer: problem.Pointer("filter", "older_than"), Detail: "must be a duration such as 30m or 24h"})
		}
		sel.Filter.OlderThan = d
	}
	if len(errs) > 0 {
		return sel, "", problem.Validation(errs...)
	}
	return sel, req.Reason, nil
}

func (a *API) replayDeadLetters(w http.ResponseWriter, r *http.Request) error {
	sel, reason, err := a.selection(r)
	if err != nil {
		return err
	}
	n, err := a.Operations.ReplayDeadLetters(r.Context(), actor(r), sel, reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"replayed": n})
}

func (a *API) discardDeadLetters(w http.ResponseWriter, r *http.Request) error {
	sel, reason, err := a.selection(r)
	if err != nil {
		return err
	}
	n, err := a.Operations.DiscardDeadLetters(r.Context(), actor(r), sel, reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"discarded": n})
}

// page is one page of a console list.
type page[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

func (a *API) listAdminActions(w http.ResponseWriter, r *http.Request) error {
	limit, offset, errs := paging(r)
	q := operations.ActionQuery{Action: r.URL.Query().Get("action"), Limit: limit, Offset: offset}
	if len(q.Action) > 64 {
		errs = append(errs, problem.Param("action", "must be at most 64 characters"))
	}
	if len(errs) > 0 {
		return problem.BadRequest("invalid query parameters", errs...)
	}
	items, total, err := a.Operations.Actions(r.Context(), q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page[operations.Action]{Items: items, Total: total, Limit: limit, Offset: offset})
}

// intakeOpen answers new orders with 503 while an operator has paused
// intake; the watcher is read without a lock or a Redis call per request.
func (a *API) intakeOpen(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.IntakePause != nil {
			if st := a.IntakePause.State(); st.Paused {
				p := problem.New(http.StatusServiceUnavailable, "intake-paused",
					"order intake is paused by an operator ("+st.Reason+"); nothing was ordered: retry later")
				p.RetryAfter = time.Duration(max(st.RetryAfterSeconds, 1)) * time.Second
				a.ordersRejected.WithLabelValues("intake_paused").Inc()
				problem.Write(w, r, p)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
