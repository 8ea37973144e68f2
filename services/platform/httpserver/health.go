package httpserver

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Check is one dependency probed by /readyz (Postgres, Redis, ...).
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

func (s *Server) livez(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz answers 200 only when the server is not draining and every
// dependency answers within a short deadline; the body names each check.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status := http.StatusOK
	result := map[string]string{}
	if s.draining.Load() {
		status = http.StatusServiceUnavailable
		result["server"] = "draining"
	}
	for _, c := range s.checks {
		if err := c.Func(ctx); err != nil {
			status = http.StatusServiceUnavailable
			result[c.Name] = "failing: " + err.Error()
			continue
		}
		result[c.Name] = "ok"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(result)
}
