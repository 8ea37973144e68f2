package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

// The operations console in a real browser on the real stack (real api and
// order-worker processes): a poison entry a faulty producer put on
// new_orders is dead-lettered by the worker (its user does not exist); the
// admin sees it under Dead letters, the operator creates the missing user
// and the admin replays it with a reason: the order is confirmed in
// PostgreSQL. Then the admin pauses consumption: an order placed meanwhile
// stays undecided and the queue shows it as lag until the resume confirms
// it; and pauses intake: the api and the storefront's checkout refuse new
// orders (503 intake-paused) until the resume. The catalogue sync's
// "Reconcile now" runs to done. Under Users the admin logs a customer out
// everywhere (its token is refused at once), disables the account (its
// login answers 403 account-disabled) and enables it again. The audit log
// lists every action with its reason (checked in PostgreSQL too). The browser part is
// web/e2e/console.e2e.mjs; it reaches into Redis and PostgreSQL, as an
// operator would, through the small "operator" server below.
func TestConsoleInTheBrowser(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	db, err := pgxpool.New(ctx, s.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	opt, err := redis.ParseURL(s.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })

	op := &operator{db: db, rdb: rdb, apiURL: s.APIURL, workerURL: s.WorkerURL}
	srv := httptest.NewServer(op.routes())
	t.Cleanup(srv.Close)

	s.browse(t, "e2e/console.e2e.mjs", "OPERATOR_URL="+srv.URL)

	if os.Getenv("E2E_ONLY") != "" {
		return // a subset ran: the checks below assume all of it did
	}
	poisoned := op.poisoned()
	if len(poisoned) != 1 {
		t.Fatalf("the browser scenarios put %d poison entries on the stream, want 1", len(poisoned))
	}
	var status string
	if err := db.QueryRow(ctx, `SELECT status FROM orders WHERE id = $1`, poisoned[0]).Scan(&status); err != nil || status != "confirmed" {
		t.Fatalf("the replayed order %s is %q in PostgreSQL (%v), want confirmed", poisoned[0], status, err)
	}
	// Every action of the console is in the audit log, with the reason typed in the browser.
	rows, err := db.Query(ctx, `SELECT action, reason, admin_email, detail->>'outcome' FROM admin_actions ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var action, reason, email string
		var outcome *string
		if err := rows.Scan(&action, &reason, &email, &outcome); err != nil {
			t.Fatal(err)
		}
		if email != adminEmail || !strings.HasPrefix(reason, "e2e: ") || outcome == nil || *outcome != "done" {
			t.Errorf("audit record %s by %s, reason %q, outcome %v: want the admin, an e2e reason and done", action, email, reason, outcome)
		}
		got = append(got, action)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"replay_dead_letters", "pause_consumption", "resume_consumption", "pause_intake", "resume_intake", "request_catalog_reconcile",
		"end_sessions", "disable_user", "enable_user"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("audit log %v, want %v", got, want)
	}
}

// operator does, for the browser scenarios, what an operator does outside
// the console: a faulty producer's entry on the order stream, a fix in the
// database, and looks at PostgreSQL and at what the replicas report.
type operator struct {
	db                *pgxpool.Pool
	rdb               *redis.Client
	apiURL, workerURL string

	mu     sync.Mutex
	poison []uuid.UUID
}

func (o *operator) poisoned() []uuid.UUID {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]uuid.UUID(nil), o.poison...)
}

func (o *operator) routes() http.Handler {
	mux := http.NewServeMux()
	// An order of a user that does not exist, written as a faulty producer
	// would: the database refuses it and the worker dead-letters it.
	mux.HandleFunc("POST /poison", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ProductID int64 `json:"product_id"`
			UserID    int64 `json:"user_id"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ProductID <= 0 || in.UserID <= 0 {
			http.Error(w, "want {product_id, user_id}", http.StatusBadRequest)
			return
		}
		id := uuid.New()
		entry, err := o.rdb.XAdd(r.Context(), &redis.XAddArgs{Stream: orderstream.Stream, Values: map[string]any{
			"v": "1", "order_id": id.String(), "user_id": fmt.Sprint(in.UserID),
			"items":       fmt.Sprintf(`[{"product_id":%d,"quantity":1}]`, in.ProductID),
			"accepted_at": time.Now().UTC().Format(time.RFC3339Nano),
		}}).Result()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		o.mu.Lock()
		o.poison = append(o.poison, id)
		o.mu.Unlock()
		writeJSON(w, map[string]string{"order_id": id.String(), "entry_id": entry})
	})
	// The fix: the missing user row, as an operator would insert it.
	mux.HandleFunc("POST /users", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ID    int64  `json:"id"`
			Email string `json:"email"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ID <= 0 || in.Email == "" {
			http.Error(w, "want {id, email}", http.StatusBadRequest)
			return
		}
		if _, err := o.db.Exec(r.Context(), `INSERT INTO users (id, email, password_hash, role) OVERRIDING SYSTEM VALUE
			VALUES ($1, $2, 'x', 'customer')`, in.ID, in.Email); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	// An order's status in PostgreSQL: "" while it has no row (undecided).
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		var status string
		err := o.db.QueryRow(r.Context(), `SELECT status FROM orders WHERE id = $1`, r.PathValue("id")).Scan(&status)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]string{"status": status})
	})
	// Whether the worker and the api have seen the switches (their gauges).
	mux.HandleFunc("GET /switches", func(w http.ResponseWriter, r *http.Request) {
		consumption, err1 := gauge(o.workerURL, "shop_order_consumption_paused")
		intake, err2 := gauge(o.apiURL, "shop_order_intake_paused")
		if err1 != nil || err2 != nil {
			http.Error(w, fmt.Sprint(err1, err2), http.StatusBadGateway)
			return
		}
		writeJSON(w, map[string]bool{"consumption_paused": consumption == "1", "intake_paused": intake == "1"})
	})
	return mux
}

// gauge reads one unlabelled metric of a service's /metrics.
func gauge(base, name string) (string, error) {
	r, err := http.Get(base + "/metrics")
	if err != nil {
		return "", err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s/metrics has no %s", base, name)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
