package problem_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/platform/problem"
)

func TestPointer(t *testing.T) {
	tests := []struct {
		segments []any
		want     string
	}{
		{nil, "#"},
		{[]any{"items"}, "#/items"},
		{[]any{"items", 0, "quantity"}, "#/items/0/quantity"},
		{[]any{"a~b"}, "#/a~0b"},
		{[]any{"a/b"}, "#/a~1b"},
		{[]any{"~1"}, "#/~01"}, // "~" is escaped first, so "~1" is not read back as "/"
		{[]any{"/~"}, "#/~1~0"},
		{[]any{""}, "#/"},
		{[]any{"", ""}, "#//"},
		{[]any{"a b"}, "#/a%20b"},
		{[]any{"100%"}, "#/100%25"},
		{[]any{`"#[]`}, "#/%22%23%5B%5D"},
		{[]any{"é"}, "#/%C3%A9"},
		{[]any{"x?y:z@a!$&'()*+,;="}, "#/x?y:z@a!$&'()*+,;="},
		{[]any{int64(-3), uint8(7), true}, "#/-3/7/true"},
	}
	for _, tt := range tests {
		if got := problem.Pointer(tt.segments...); got != tt.want {
			t.Errorf("Pointer(%q) = %q, want %q", tt.segments, got, tt.want)
		}
	}
}

func TestConstructors(t *testing.T) {
	fe := problem.FieldError{Pointer: "#/name", Detail: "required"}
	tests := []struct {
		name string
		got  *problem.Problem
		want problem.Problem
		err  string
	}{
		{
			name: "New with slug",
			got:  problem.New(http.StatusConflict, "out-of-stock", "only 2 left"),
			want: problem.Problem{Type: "/problems/out-of-stock", Title: "Conflict", Status: 409, Detail: "only 2 left"},
			err:  "409 Conflict: only 2 left",
		},
		{
			name: "New without slug or detail",
			got:  problem.New(http.StatusNotFound, "", ""),
			want: problem.Problem{Type: "about:blank", Title: "Not Found", Status: 404},
			err:  "404 Not Found",
		},
		{
			name: "Validation",
			got:  problem.Validation(fe),
			want: problem.Problem{Type: "/problems/validation", Title: "Unprocessable Entity", Status: 422,
				Detail: "the request has invalid fields; see errors", Errors: []problem.FieldError{fe}},
			err: "422 Unprocessable Entity: the request has invalid fields; see errors",
		},
		{
			name: "BadRequest",
			got:  problem.BadRequest("nope", fe),
			want: problem.Problem{Type: "/problems/malformed-request", Title: "Bad Request", Status: 400,
				Detail: "nope", Errors: []problem.FieldError{fe}},
			err: "400 Bad Request: nope",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(*tt.got, tt.want) {
				t.Errorf("got %+v, want %+v", *tt.got, tt.want)
			}
			if tt.got.Error() != tt.err {
				t.Errorf("Error() = %q, want %q", tt.got.Error(), tt.err)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name       string
		problem    *problem.Problem
		path       string
		retryAfter string // "" means no header
		wantBody   map[string]any
	}{
		{
			name:    "instance defaults to the path",
			problem: problem.New(http.StatusNotFound, "not-found", "no product 7"),
			path:    "/products/7",
			wantBody: map[string]any{"type": "/problems/not-found", "title": "Not Found", "status": 404.0,
				"detail": "no product 7", "instance": "/products/7"},
		},
		{
			name: "explicit instance is kept",
			problem: func() *problem.Problem {
				p := problem.New(http.StatusConflict, "", "")
				p.Instance = "/orders/abc"
				return p
			}(),
			path:     "/orders",
			wantBody: map[string]any{"type": "about:blank", "title": "Conflict", "status": 409.0, "instance": "/orders/abc"},
		},
		{
			name:    "field errors",
			problem: problem.Validation(problem.FieldError{Pointer: "#/items/0/quantity", Detail: "must be between 1 and 1000"}),
			path:    "/orders",
			wantBody: map[string]any{"type": "/problems/validation", "title": "Unprocessable Entity", "status": 422.0,
				"detail": "the request has invalid fields; see errors", "instance": "/orders",
				"errors": []any{map[string]any{"pointer": "#/items/0/quantity", "detail": "must be between 1 and 1000"}}},
		},
		{name: "retry after whole seconds", problem: retry(2 * time.Second), path: "/x", retryAfter: "2"},
		{name: "retry after rounds up", problem: retry(1500 * time.Millisecond), path: "/x", retryAfter: "2"},
		{name: "retry after a nanosecond", problem: retry(time.Nanosecond), path: "/x", retryAfter: "1"},
		{name: "retry after just over a second", problem: retry(time.Second + time.Nanosecond), path: "/x", retryAfter: "2"},
		{name: "retry after zero sends nothing", problem: retry(0), path: "/x"},
		{name: "negative retry after sends nothing", problem: retry(-time.Second), path: "/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			problem.Write(rec, httptest.NewRequest(http.MethodGet, tt.path+"?q=1", nil), tt.problem)
			res := rec.Result()
			if res.StatusCode != tt.problem.Status {
				t.Errorf("status = %d, want %d", res.StatusCode, tt.problem.Status)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q", cc)
			}
			if got := res.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			var body map[string]any
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if _, ok := body["retryAfter"]; ok {
				t.Errorf("RetryAfter leaked into the body: %v", body)
			}
			if tt.wantBody != nil && !reflect.DeepEqual(body, tt.wantBody) {
				t.Errorf("body = %v\nwant   %v", body, tt.wantBody)
			}
		})
	}
}

func retry(d time.Duration) *problem.Problem {
	p := problem.New(http.StatusServiceUnavailable, "busy", "try again")
	p.RetryAfter = d
	return p
}

// A package-level problem value is written by many requests; each response
// must carry its own path, and the shared value must not change.
func TestWriteSharedProblem(t *testing.T) {
	shared := problem.New(http.StatusUnauthorized, "unauthorized", "log in first")
	var wg sync.WaitGroup
	for _, path := range []string{"/a", "/b", "/c", "/d"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			problem.Write(rec, httptest.NewRequest(http.MethodGet, path, nil), shared)
			var body problem.Problem
			if err := json.NewDecoder(rec.Body).Decode(&body); err != nil {
				t.Error(err)
				return
			}
			if body.Instance != path {
				t.Errorf("instance = %q, want %q", body.Instance, path)
			}
		}()
	}
	wg.Wait()
	if shared.Instance != "" {
		t.Errorf("Write changed the shared problem: instance = %q", shared.Instance)
	}
}

func TestWriteWithoutRequest(t *testing.T) {
	rec := httptest.NewRecorder()
	problem.Write(rec, nil, problem.New(http.StatusBadGateway, "", ""))
	var body map[string]any
	if err := json.NewDecoder(rec.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "about:blank", "title": "Bad Gateway", "status": 502.0}
	if rec.Code != 502 || !reflect.DeepEqual(body, want) {
		t.Errorf("got %d %v, want 502 %v", rec.Code, body, want)
	}
}
