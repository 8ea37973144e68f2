package livestack_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	adminEmail    = "admin@example.com"
	adminPassword = "livestack-admin-password"
)

// load is what driveLoad did, for the assertions.
type load struct {
	orders, confirmed, failed, productWrites int
	orderTraceID, productTraceID             string
}

// driveLoad makes the short burst the dashboards are checked against: two
// product writes, 20 orders of which 6 fail for stock, one order refused at
// intake (422), and one undecodable stream entry that becomes a dead letter.
// One order and one product write carry a traceparent of the test's own, so
// their traces can be fetched by id.
func driveLoad(t *testing.T, s *stack) load {
	t.Helper()
	var l load
	admin := login(t, s, adminEmail, adminPassword)
	l.productTraceID = newTraceID(t)
	scarce := createProduct(t, s, admin, "LS-SCARCE", 5, l.productTraceID)
	plenty := createProduct(t, s, admin, "LS-PLENTY", 1000, "")
	l.productWrites = 2

	call(t, s, http.MethodPost, "/api/v1/auth/register", "", "", map[string]string{"email": "buyer@example.com", "password": "buyer-password-1"}, http.StatusCreated)
	buyer := login(t, s, "buyer@example.com", "buyer-password-1")
	l.orderTraceID = newTraceID(t)
	var ids []string
	// Paced over ~4 s, so that counters rise between Prometheus' 1 s
	// scrapes and rate() sees the burst rather than one jump.
	pace := time.NewTicker(200 * time.Millisecond)
	defer pace.Stop()
	for i := range 20 {
		<-pace.C
		item := map[string]any{"product_id": plenty, "quantity": 2}
		if i%2 == 0 || i == 19 {
			item = map[string]any{"product_id": scarce, "quantity": 1} // 11 of them, 5 in stock
		}
		traceID := ""
		if i == 0 {
			traceID = l.orderTraceID
		}
		var acc struct {
			ID string `json:"id"`
		}
		decode(t, call(t, s, http.MethodPost, "/api/v1/orders", buyer, traceID, map[string]any{"items": []any{item}}, http.StatusAccepted), &acc)
		ids = append(ids, acc.ID)
	}
	call(t, s, http.MethodPost, "/api/v1/orders", buyer, "", map[string]any{"items": []any{map[string]any{"product_id": plenty, "quantity": 0}}}, http.StatusUnprocessableEntity)

	opts, err := redis.ParseURL(s.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: "new_orders", Values: []string{"garbage", "not an order"}}).Err(); err != nil {
		t.Fatal(err)
	}

	l.orders = len(ids)
	for _, id := range ids {
		var o struct {
			Status string `json:"status"`
		}
		eventually(t, 30*time.Second, "decision for order "+id, func() (bool, string) {
			decode(t, call(t, s, http.MethodGet, "/api/v1/orders/"+id, buyer, "", nil, http.StatusOK), &o)
			return o.Status != "pending", o.Status
		})
		switch o.Status {
		case "confirmed":
			l.confirmed++
		case "failed":
			l.failed++
		}
	}
	if l.confirmed != 14 || l.failed != 6 {
		t.Fatalf("orders: %d confirmed, %d failed; want 14 (9 plenty + 5 scarce) and 6 (scarce out of stock)", l.confirmed, l.failed)
	}
	return l
}

func login(t *testing.T, s *stack, email, password string) string {
	t.Helper()
	var sess struct {
		AccessToken string `json:"access_token"`
	}
	decode(t, call(t, s, http.MethodPost, "/api/v1/auth/login", "", "", map[string]string{"email": email, "password": password}, http.StatusOK), &sess)
	return sess.AccessToken
}

func createProduct(t *testing.T, s *stack, token, sku string, stock int, traceID string) int64 {
	t.Helper()
	var p struct {
		ID int64 `json:"id"`
	}
	decode(t, call(t, s, http.MethodPost, "/api/v1/products", token, traceID,
		map[string]any{"sku": sku, "name": "Live stack " + sku, "price_minor": 1999, "currency": "EUR", "stock": stock}, http.StatusCreated), &p)
	return p.ID
}

// call makes an api request and fails t unless it answers want; traceID,
// when set, is sent as a sampled W3C traceparent.
func call(t *testing.T, s *stack, method, path, token, traceID string, body any, want int) []byte {
	t.Helper()
	var r io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.api.base()+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if traceID != "" {
		req.Header.Set("traceparent", fmt.Sprintf("00-%s-%s-01", traceID, newTraceID(t)[:16]))
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	return b
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func newTraceID(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
