// Command xaddbaseline is the physical limit that `make bench` measures
// the api's order intake against: a bare Go HTTP handler that decodes the
// same order body and XADDs the same fields to Redis, with no auth,
// validation, idempotency, metrics or logging. It exists only for the
// benchmark.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: xaddbaseline LISTEN_ADDR REDIS_URL")
		os.Exit(2)
	}
	opts, err := redis.ParseURL(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rdb := redis.NewClient(opts)
	http.HandleFunc("POST /api/v1/orders", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Items []orderstream.Item `json:"items"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m := orderstream.Message{OrderID: uuid.New(), UserID: 1, Items: body.Items, AcceptedAt: time.Now().UTC()}
		if err := rdb.XAdd(r.Context(), &redis.XAddArgs{Stream: orderstream.Stream, Values: m.Encode()}).Err(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": m.OrderID, "status": "pending"})
	})
	http.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { _ = rdb.Ping(r.Context()).Err() })
	srv := &http.Server{Addr: os.Args[1], ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
