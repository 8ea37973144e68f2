package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// stack is two api replicas (in process) over one database and Redis,
// with order-worker processes deciding orders and running the expiry.
type stack struct {
	t        *testing.T
	apis     []*env
	dbURL    string
	redisURL string
	client   *http.Client
	products map[int64]int // id -> initial stock
	env      []string      // the workers' settings besides the defaults
}

func newStack(t *testing.T, stocks ...int) *stack {
	dbs := testenvDB(t)
	return newStackOn(t, dbs.db, dbs.redis, nil, stocks...)
}

// newStackOn is a stack on the given database and Redis; change adjusts
// the apis' configuration (and env the workers') first.
func newStackOn(t *testing.T, dbURL, redisURL string, change func(*apiconfig.Spec, *[]string), stocks ...int) *stack {
	spec, keys := testSpec(t, dbURL, redisURL)
	spec.RateLimit.OrdersPerUser = 1_000_000
	s := &stack{t: t, dbURL: dbURL, redisURL: redisURL, products: map[int64]int{},
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	if change != nil {
		change(&spec, &s.env)
	}
	s.apis = []*env{startEnv(t, spec, keys), startEnv(t, spec, keys)}
	admin := s.apis[0].admin()
	for i, st := range stocks {
		p := s.apis[0].createProduct(admin, fmt.Sprintf("STK-%d", i), st)
		s.products[p.ID] = st
	}
	return s
}

// worker starts an order-worker process on the stack with a payment window.
func (s *stack) worker(window string) *exec.Cmd {
	s.t.Helper()
	port := testenv.FreePort(s.t)
	cmd := exec.Command(testenv.Binary(s.t, "../../../order-worker/cmd/order-worker"))
	cmd.Env = append(os.Environ(), "WORKER_DATABASE_URL="+s.dbURL, "WORKER_REDIS_URL="+s.redisURL,
		fmt.Sprintf("WORKER_HTTP_ADDR=127.0.0.1:%d", port), "WORKER_HTTP_DRAIN_DELAY=0s", "WORKER_NOTIFIER_KIND=none",
		"WORKER_CONSUMER_BLOCK=200ms", "WORKER_CONSUMER_CLAIM_IDLE=2s", "WORKER_CONSUMER_CLAIM_INTERVAL=500ms",
		"WORKER_RETRY_INITIAL=50ms", "WORKER_RETRY_MAX=500ms",
		"WORKER_PAYMENT_WINDOW="+window, "WORKER_PAYMENT_EXPIRY_INTERVAL=50ms", "WORKER_PAYMENT_EXPIRY_BATCH=20")
	cmd.Env = append(cmd.Env, s.env...)
	out := &testenv.LogBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if s.t.Failed() {
			s.t.Logf("worker %d output (tail):\n%s", cmd.Process.Pid, tail(out.String(), 2000))
		}
	})
	return cmd
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// call sends one request to replica i and returns the status and body.
// These tests send thousands of requests; the contract is checked by the
// functional tests.
func (s *stack) call(i int, method, path, token string, body any) (int, []byte) {
	return s.callWith(i, method, path, token, body, nil)
}

func (s *stack) callWith(i int, method, path, token string, body any, headers map[string]string) (int, []byte) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	hr, _ := http.NewRequest(method, s.apis[i%len(s.apis)].base+path, rd)
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+token)
	for k, v := range headers {
		hr.Header.Set(k, v)
	}
	res, err := s.client.Do(hr)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// place orders one unit of each listed product through replica i.
func (s *stack) place(i int, token string, lines ...[2]int) (string, bool) {
	code, b := s.call(i, "POST", "/api/v1/orders", token, orderBody(lines...))
	var a accepted
	if code != 202 || json.Unmarshal(b, &a) != nil {
		return "", false
	}
	return a.ID, true
}

func (s *stack) count(sql string, args ...any) int {
	return s.apis[0].count(sql, args...)
}

// waitQuiet waits until every accepted order is decided and nothing is in
// flight: no confirmed order left unpaid, no payment or refund unsettled.
func (s *stack) waitQuiet(accepted int, timeout time.Duration) {
	s.t.Helper()
	eventually(s.t, timeout, "every order decided and settled", func() bool {
		return s.count("SELECT count(*) FROM orders") == accepted &&
			s.count("SELECT count(*) FROM orders WHERE status = 'confirmed'") == 0 &&
			s.count("SELECT count(*) FROM payments WHERE status IN ('pending', 'processing') OR refund_state = 'pending'") == 0
	})
}

// checkLifecycle asserts the guarantees over the whole database: the stock
// identity for every product; per order at most one paid, cancelled or
// expired event, and only moves the transition table allows; per payment
// at most one refund, and every successful payment of an order that does
// not keep it refunded.
func (s *stack) checkLifecycle() map[string]int {
	s.t.Helper()
	for id, initial := range s.products {
		cur := s.count("SELECT stock FROM products WHERE id = $1", id)
		held := s.count(`SELECT coalesce(sum(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id
			WHERE i.product_id = $1 AND o.status IN ('confirmed', 'paid', 'shipped', 'delivered')`, id)
		if cur < 0 || initial != cur+held {
			s.t.Fatalf("product %d: initial %d != current %d + held by live orders %d", id, initial, cur, held)
		}
	}
	checks := map[string]string{
		"orders with two paid, cancelled or expired events": `SELECT count(*) FROM (SELECT order_id FROM order_events
			WHERE type IN ('paid', 'cancelled', 'expired') GROUP BY order_id, type HAVING count(*) > 1) d`,
		"orders both cancelled and expired, or expired after paying": `SELECT count(*) FROM (SELECT order_id FROM order_events
			WHERE type IN ('paid', 'cancelled', 'expired') GROUP BY order_id
			HAVING count(*) FILTER (WHERE type = 'expired') > 0 AND count(*) > 1) d`,
		"orders whose status is not their last transition": `SELECT count(*) FROM orders o WHERE o.status <> (SELECT e.status FROM order_events e
			WHERE e.order_id = o.id AND e.type IN ('confirmed', 'failed', 'paid', 'shipped', 'delivered', 'cancelled', 'expired') ORDER BY e.id DESC LIMIT 1)`,
		"payments refunded twice": `SELECT count(*) FROM (SELECT payment_id FROM order_events WHERE type = 'refunded'
			GROUP BY payment_id HAVING count(*) > 1) d`,
		"successful payments of cancelled or expired orders not refunded": `SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id
			WHERE p.status = 'succeeded' AND o.status IN ('cancelled', 'expired') AND p.refund_state IS DISTINCT FROM 'succeeded'`,
		"refunds of payments an order kept": `SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id
			WHERE p.refund_state IS NOT NULL AND o.status IN ('paid', 'shipped', 'delivered')
			AND p.id = (SELECT payment_id FROM order_events e WHERE e.order_id = o.id AND e.type = 'paid')`,
	}
	for what, sql := range checks {
		if n := s.count(sql); n != 0 {
			s.t.Errorf("%d %s", n, what)
		}
	}
	byStatus := map[string]int{}
	rows, err := s.apis[0].db.Query(context.Background(), "SELECT status, count(*) FROM orders GROUP BY status")
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		_ = rows.Scan(&st, &n)
		byStatus[st] = n
	}
	return byStatus
}

// customers registers n customers and returns their tokens.
func (s *stack) customers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i], _ = s.apis[0].customer(fmt.Sprintf("buyer%d@example.com", i))
	}
	return out
}

// TestLifecycleRacesEndInOneOutcome: on the same confirmed orders, the
// customer cancels and pays, an admin ships and cancels, each through one
// of two api replicas, while order-worker's expiry finds every order due
// — all at once. Each order ends in exactly one outcome, stock comes back
// at most once, and no payment is refunded twice.
func TestLifecycleRacesEndInOneOutcome(t *testing.T) {
	s := newStack(t, 500, 500, 500)
	s.worker("1h")
	tokens := s.customers(4)
	admin := s.apis[0].admin()
	var ids []string
	owner := map[string]string{}
	for i := range 120 {
		tok := tokens[i%len(tokens)]
		id, ok := s.place(i, tok, [2]int{int(firstKey(s.products)), 1 + i%3})
		if !ok {
			t.Fatal("order not accepted")
		}
		ids = append(ids, id)
		owner[id] = tok
	}
	eventually(t, 60*time.Second, "every order confirmed", func() bool {
		return s.count("SELECT count(*) FROM orders WHERE status = 'confirmed'") == len(ids)
	})
	var wg sync.WaitGroup
	start := make(chan struct{})
	var mu sync.Mutex
	codes := map[int]int{}
	fire := func(replica int, method, path, token string, body any) {
		defer wg.Done()
		<-start
		code, b := s.call(replica, method, path, token, body)
		mu.Lock()
		codes[code]++
		mu.Unlock()
		if code >= 500 || code == 0 {
			t.Errorf("%s %s: %d %s", method, path, code, b)
		}
	}
	for i, id := range ids {
		base := "/api/v1/orders/" + id
		wg.Add(5)
		go fire(i, "POST", base+"/payments", owner[id], pay("4242424242424242"))
		go fire(i+1, "POST", base+"/cancel", owner[id], map[string]string{"reason": "race"})
		go fire(i, "POST", base+"/shipments", admin, map[string]string{"carrier": "UPS", "tracking_number": "1Z" + id[:8]})
		go fire(i+1, "POST", base+"/cancel", admin, nil)
		go fire(i, "POST", base+"/payments", owner[id], pay("4242424242424242"))
	}
	// Most orders fall due within the next second: the expiry (every
	// 50 ms) races the requests. Some are due at once and some only in 30 s,
	// so that each side wins some even when a loaded machine (CI, -race)
	// delivers the 600 requests more slowly than the second.
	if _, err := s.apis[0].db.Exec(context.Background(), `UPDATE orders SET payment_due_at = now() + CASE
		WHEN random() < 0.2 THEN interval '0' WHEN random() < 0.75 THEN random() * interval '1 s' ELSE interval '30 s' END`); err != nil {
		t.Fatal(err)
	}
	close(start)
	wg.Wait()
	s.waitQuiet(len(ids), 60*time.Second)
	byStatus := s.checkLifecycle()
	t.Logf("%d orders raced: outcomes %v, answers %v", len(ids), byStatus, codes)
	if codes[409] == 0 || codes[200]+codes[201] == 0 || byStatus["expired"] == 0 || byStatus["expired"] == len(ids) {
		t.Fatalf("answers %v, outcomes %v: the requests and the expiry did not race (want each to win some)", codes, byStatus)
	}
}

func firstKey(m map[int64]int) int64 {
	var min int64
	for k := range m {
		if min == 0 || k < min {
			min = k
		}
	}
	return min
}

// TestLifecycleStockIdentityUnderCrashes: 2,000 orders through two api
// replicas (one in fifty names a product that does not exist and fails),
// decided by order-worker processes that are SIGKILLed and restarted
// throughout; as orders are confirmed they are paid, cancelled, paid and
// shipped, paid and cancelled (refunded), or left to expire (a 2 s
// window; under -race the actors fall behind and more of them expire). At the end the stock identity holds for every product.
func TestLifecycleStockIdentityUnderCrashes(t *testing.T) {
	s := newStack(t, 400, 400, 400, 400, 400)
	workers := []*exec.Cmd{s.worker("2s"), s.worker("2s")}
	tokens := s.customers(8)
	admin := s.apis[0].admin()
	ids := make([]int64, 0, len(s.products))
	for id := range s.products {
		ids = append(ids, id)
	}

	ctx, stop := context.WithCancel(context.Background())
	kills := make(chan int, 1)
	go func() { // the killer
		n := 0
		defer func() { kills <- n }()
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			i := n % len(workers)
			_ = workers[i].Process.Kill()
			workers[i] = s.worker("2s")
			n++
		}
	}()

	const total = 2000
	var accepted sync.Map
	var acceptedN, failures int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < total; i += 8 {
				lines := [][2]int{{int(ids[i%len(ids)]), 1 + i%3}}
				if i%4 == 0 {
					lines = append(lines, [2]int{int(ids[(i+1)%len(ids)]), 1})
				}
				if i%50 == 0 {
					lines = append(lines, [2]int{999_999, 1}) // fails: no such product
				}
				id, ok := s.place(i, tokens[g], lines...)
				mu.Lock()
				if ok {
					acceptedN++
					accepted.Store(id, tokens[g])
				} else {
					failures++
				}
				mu.Unlock()
			}
		})
	}
	// The actors: each confirmed order gets one plan, chosen by its number.
	acted := map[string]bool{}
	var actWG sync.WaitGroup
	work := make(chan [2]string, 256)
	for range 8 {
		actWG.Go(func() {
			for w := range work {
				s.act(w[0], w[1], admin)
			}
		})
	}
	placing := make(chan struct{})
	go func() { wg.Wait(); close(placing) }()
	for done := false; !done; {
		select {
		case <-placing:
			done = true
		case <-time.After(100 * time.Millisecond):
		}
		rows, err := s.apis[0].db.Query(context.Background(), "SELECT id::text FROM orders WHERE status = 'confirmed'")
		if err != nil {
			continue // the database is fine; the workers are being killed, not it
		}
		for rows.Next() {
			var id string
			_ = rows.Scan(&id)
			if tok, ok := accepted.Load(id); ok && !acted[id] {
				acted[id] = true
				work <- [2]string{id, tok.(string)}
			}
		}
		rows.Close()
	}
	close(work)
	actWG.Wait()
	stop()
	n := <-kills
	s.worker("2s") // one survivor finishes what is left
	s.waitQuiet(acceptedN, 3*time.Minute)
	byStatus := s.checkLifecycle()
	t.Logf("%d orders accepted (%d refused), %d worker kills: %v", acceptedN, failures, n, byStatus)
	if acceptedN < total*9/10 || n < 3 {
		t.Fatalf("accepted %d of %d with %d kills: the run did not exercise enough", acceptedN, total, n)
	}
	for _, st := range []string{"paid", "shipped", "cancelled", "expired", "failed"} {
		if byStatus[st] == 0 {
			t.Errorf("no order ended %s: the mix did not cover it", st)
		}
	}
}

// act runs one order's plan: pay (with a declined card first for some),
// cancel, pay and ship, pay and cancel, or nothing (it expires).
func (s *stack) act(id, token, admin string) {
	base := "/api/v1/orders/" + id
	plan := int(id[0]) % 6
	if plan == 5 {
		return // left to expire
	}
	if plan == 1 {
		s.call(0, "POST", base+"/cancel", token, map[string]string{"reason": "changed my mind"})
		return
	}
	if plan == 4 {
		s.call(1, "POST", base+"/payments", token, pay("4000000000000002"))
	}
	if code, _ := s.call(1, "POST", base+"/payments", token, pay("4242424242424242")); code != 201 {
		return // it expired first
	}
	switch plan {
	case 2:
		s.call(0, "POST", base+"/shipments", admin, map[string]string{"carrier": "DHL", "tracking_number": "JD" + id[:8]})
	case 3:
		s.call(0, "POST", base+"/cancel", admin, map[string]string{"reason": "out of stock at the warehouse"})
	}
}
