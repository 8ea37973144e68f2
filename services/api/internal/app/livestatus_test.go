package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// --- a small Server-Sent Events client ---------------------------------------

// sseEvent is one block of a text/event-stream, up to its blank line.
type sseEvent struct {
	ID, Event, Data string
	Comment         string // set on blocks of comment lines only (keep-alives)
}

// sseStream reads a live status stream in the background.
type sseStream struct {
	t      *testing.T
	build  func() *http.Request
	res    *http.Response
	events chan sseEvent
	done   chan struct{} // closed when the stream has ended
	err    error         // why it ended: io.EOF when the server closed it cleanly
	raw    bytes.Buffer  // everything received, to validate against the contract
	last   string        // data of the last status event
	cancel context.CancelFunc
}

// openStream opens GET /api/v1/orders/{id}/events and requires a 200 event
// stream. The request is validated against the OpenAPI contract now, the
// response (headers and whole body) when the stream has ended.
func openStream(t *testing.T, base, orderID, token string, headers map[string]string) *sseStream {
	t.Helper()
	v := contract(t)
	ctx, cancel := context.WithCancel(context.Background())
	build := func() *http.Request {
		hr, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/orders/"+orderID+"/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("Accept", "text/event-stream")
		if token != "" {
			hr.Header.Set("Authorization", "Bearer "+token)
		}
		for k, val := range headers {
			hr.Header.Set(k, val)
		}
		return hr
	}
	if ok, errs := v.ValidateHttpRequestSync(build()); !ok {
		cancel()
		t.Fatalf("event stream request breaks the OpenAPI contract: %s", describe(errs))
	}
	res, err := http.DefaultClient.Do(build())
	if err != nil {
		cancel()
		t.Fatalf("open event stream: %v", err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		t.Fatalf("event stream: status %d, Content-Type %q, want 200 text/event-stream; body %s",
			res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	recordExercised(build())
	s := &sseStream{t: t, build: build, res: res, events: make(chan sseEvent, 1000), done: make(chan struct{}), cancel: cancel}
	go s.read()
	t.Cleanup(func() {
		cancel()
		<-s.done
		res.Body.Close()
	})
	return s
}

// read parses the stream as the SSE specification says: lines up to a
// blank line form one event; "field: value" with one optional space;
// lines starting with ':' are comments; an unfinished block at the end is
// dropped.
func (s *sseStream) read() {
	defer close(s.done)
	defer close(s.events)
	br := bufio.NewReader(io.TeeReader(s.res.Body, &s.raw))
	var ev sseEvent
	var data []string
	started := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			s.err = err
			return
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			if started {
				ev.Data = strings.Join(data, "\n")
				s.events <- ev
			}
			ev, data, started = sseEvent{}, nil, false
			continue
		}
		started = true
		if c, ok := strings.CutPrefix(line, ":"); ok {
			ev.Comment = strings.TrimPrefix(c, " ")
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			ev.ID = value
		case "event":
			ev.Event = value
		case "data":
			data = append(data, value)
		}
	}
}

func (ev sseEvent) isComment() bool { return ev.Event == "" && ev.Data == "" && ev.ID == "" }

// next returns the next event that is not a comment.
func (s *sseStream) next(timeout time.Duration) sseEvent {
	s.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatalf("stream ended (%v) while waiting for an event", s.err)
			}
			if !ev.isComment() {
				return ev
			}
		case <-deadline.C:
			s.t.Fatalf("no event within %s", timeout)
		}
	}
}

// status returns the next event as a status event, checking its framing.
func (s *sseStream) status(timeout time.Duration) orderView {
	s.t.Helper()
	ev := s.next(timeout)
	var o orderView
	if err := json.Unmarshal([]byte(ev.Data), &o); err != nil {
		s.t.Fatalf("event data is not the order JSON: %v\n%+v", err, ev)
	}
	if want := fmt.Sprintf("%s/%d", o.Status, len(o.Events)); ev.Event != "status" || ev.ID != want {
		s.t.Fatalf("event %q with id %q for status %q; want event status, id %q", ev.Event, ev.ID, o.Status, want)
	}
	s.last = ev.Data
	return o
}

// comment returns the text of the next comment block.
func (s *sseStream) comment(timeout time.Duration) string {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.t.Fatalf("stream ended (%v) while waiting for a keep-alive", s.err)
		}
		if !ev.isComment() {
			s.t.Fatalf("got event %+v, want a keep-alive comment", ev)
		}
		return ev.Comment
	case <-time.After(timeout):
		s.t.Fatalf("no keep-alive within %s", timeout)
	}
	return ""
}

// ended requires the server to close the stream cleanly within timeout
// with no further events, then validates the whole response.
func (s *sseStream) ended(timeout time.Duration) {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(timeout):
		s.t.Fatalf("stream still open after %s", timeout)
	}
	for ev := range s.events {
		if !ev.isComment() {
			s.t.Fatalf("unexpected event before the end: %+v", ev)
		}
	}
	if !errors.Is(s.err, io.EOF) {
		s.t.Fatalf("stream ended with %v, want a clean end (EOF)", s.err)
	}
	s.res.Body = io.NopCloser(bytes.NewReader(s.raw.Bytes()))
	if ok, errs := contract(s.t).ValidateHttpResponse(s.build(), s.res); !ok {
		s.t.Fatalf("event stream response breaks the OpenAPI contract: %s", describe(errs))
	}
}

// --- simulating order-worker ---------------------------------------------------

func (e *env) placeOrder(token string) accepted {
	e.t.Helper()
	var a accepted
	expect(e.t, e.do(req{method: "POST", path: "/api/v1/orders", token: token, body: orderBody([2]int{3, 2})}), 202).json(e.t, &a)
	return a
}

// decide stores an order's outcome as order-worker does (the rows of
// TestDecidedOrdersAndListing); reason is set for failed orders.
func (e *env) decide(id string, uid int64, status, reason string) {
	e.t.Helper()
	ctx := context.Background()
	var err error
	if status == orderstream.StatusConfirmed {
		_, err = e.db.Exec(ctx, `INSERT INTO orders (id, user_id, status, total_minor, currency, accepted_at)
			VALUES ($1, $2, 'confirmed', 3998, 'EUR', now())`, id, uid)
		if err == nil {
			_, err = e.db.Exec(ctx, `INSERT INTO order_items (order_id, line, product_id, quantity, unit_price_minor, currency)
				VALUES ($1, 0, 3, 2, 1999, 'EUR')`, id)
		}
	} else {
		_, err = e.db.Exec(ctx, `INSERT INTO orders (id, user_id, status, failure_reason, failure_detail, accepted_at)
			VALUES ($1, $2, 'failed', $3, 'product 3: 1 in stock, 2 requested', now())`, id, uid, reason)
		if err == nil {
			_, err = e.db.Exec(ctx, `INSERT INTO order_items (order_id, line, product_id, quantity) VALUES ($1, 0, 3, 2)`, id)
		}
	}
	if err == nil && status == orderstream.StatusConfirmed {
		_, err = e.db.Exec(ctx, `UPDATE orders SET payment_due_at = now() + interval '15 minutes' WHERE id = $1`, id)
	}
	if err == nil {
		_, err = e.db.Exec(ctx, `INSERT INTO order_events (order_id, type, status, actor, reason)
			VALUES ($1, $2, $2, 'order-worker', nullif($3, ''))`, id, status, reason)
	}
	if err != nil {
		e.t.Fatalf("record decision: %v", err)
	}
}

// publishStatus publishes the status event as order-worker does after its
// commit and returns how many subscribers (api processes) received it.
func (e *env) publishStatus(id string, uid int64, status, reason string) int64 {
	e.t.Helper()
	payload := orderstream.EncodeStatus(orderstream.StatusEvent{OrderID: uuid.MustParse(id), UserID: uid,
		Status: status, Reason: reason, DecidedAt: time.Now().UTC()})
	n, err := e.rdb.Publish(context.Background(), orderstream.StatusChannel, payload).Result()
	if err != nil {
		e.t.Fatalf("publish status: %v", err)
	}
	return n
}

// --- tests ---------------------------------------------------------------------

// TestLiveStatusStreamsConfirmation: the owner's stream starts with the
// pending status, ignores an event that changes nothing, delivers
// confirmed as soon as it is published, then each transition (paid,
// shipped, delivered), and ends after the final one.
func TestLiveStatusStreamsConfirmation(t *testing.T) {
	e := newEnv(t, func(s *apiconfig.Spec) { s.Orders.LiveHeartbeat = time.Second })
	tok, uid := e.customer("live@example.com")
	a := e.placeOrder(tok)
	s := openStream(t, e.base, a.ID, tok, nil)
	for k, want := range map[string]string{"Cache-Control": "no-store", "X-Accel-Buffering": "no"} {
		if got := s.res.Header.Get(k); got != want {
			t.Fatalf("%s = %q, want %q", k, got, want)
		}
	}
	first := s.status(5 * time.Second)
	if first.ID != a.ID || first.UserID != uid || first.Status != "pending" || len(first.Items) != 1 || first.Items[0].Quantity != 2 {
		t.Fatalf("first event %+v, want the pending order", first)
	}
	if m := e.metrics(); !strings.Contains(m, "shop_live_status_streams 1\n") {
		t.Fatal("/metrics does not count the open stream as shop_live_status_streams 1")
	}

	// An event while the order is still pending changes nothing: the next
	// two blocks are keep-alives (the second one comes a second after the
	// event was handled), not a repeated status.
	if n := e.publishStatus(a.ID, uid, "pending", ""); n < 1 {
		t.Fatalf("status event reached %d subscribers; the api is not subscribed", n)
	}
	for range 2 {
		if c := s.comment(5 * time.Second); c != "keep-alive" {
			t.Fatalf("comment %q, want keep-alive", c)
		}
	}
	e.decide(a.ID, uid, "confirmed", "")
	e.publishStatus(a.ID, uid, "confirmed", "")
	got := s.status(5 * time.Second)
	if got.Status != "confirmed" || got.TotalMinor == nil || *got.TotalMinor != 3998 ||
		len(got.Items) != 1 || got.Items[0].UnitPriceMinor == nil || *got.Items[0].UnitPriceMinor != 1999 {
		t.Fatalf("event after confirmation %+v", got)
	}
	// The data is exactly what GET /orders/{id} answers.
	polled := expect(t, e.do(req{method: "GET", path: "/api/v1/orders/" + a.ID, token: tok}), 200)
	if body := strings.TrimSpace(string(polled.body)); s.last != body {
		t.Fatalf("event data %s differs from GET %s", s.last, body)
	}
	// Every later transition is sent too, published by the api itself, and
	// the stream ends at the final one.
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + a.ID + "/payments", token: tok,
		body: map[string]string{"payment_method": "4242 4242 4242 4242"}}), 201)
	if o := s.status(5 * time.Second); o.Status != "paid" || !slices.Equal(o.types(), []string{"confirmed", "paid"}) {
		t.Fatalf("event after payment %+v", o)
	}
	admin := e.admin()
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + a.ID + "/shipments", token: admin,
		body: map[string]string{"carrier": "DHL", "tracking_number": "JD0001"}}), 200)
	if o := s.status(5 * time.Second); o.Status != "shipped" || o.Carrier == nil || *o.Carrier != "DHL" {
		t.Fatalf("event after shipment %+v", o)
	}
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders/" + a.ID + "/delivery", token: admin}), 200)
	if o := s.status(5 * time.Second); o.Status != "delivered" || len(o.Events) != 4 {
		t.Fatalf("event after delivery %+v", o)
	}
	s.ended(5 * time.Second)
	eventually(t, 5*time.Second, "the stream gauge to drop to 0", func() bool {
		return strings.Contains(e.metrics(), "shop_live_status_streams 0\n")
	})
}

// TestLiveStatusStreamsFailure: an admin follows a customer's order, which
// fails with a reason.
func TestLiveStatusStreamsFailure(t *testing.T) {
	e := newEnv(t)
	tok, uid := e.customer("fails@example.com")
	a := e.placeOrder(tok)
	s := openStream(t, e.base, a.ID, e.admin(), nil)
	if o := s.status(5 * time.Second); o.Status != "pending" || o.UserID != uid {
		t.Fatalf("first event %+v", o)
	}
	e.decide(a.ID, uid, "failed", orderstream.ReasonInsufficientStock)
	e.publishStatus(a.ID, uid, "failed", orderstream.ReasonInsufficientStock)
	ev := s.next(5 * time.Second)
	var o struct {
		Status       string `json:"status"`
		Reason       string `json:"reason"`
		ReasonDetail string `json:"reason_detail"`
	}
	if err := json.Unmarshal([]byte(ev.Data), &o); err != nil {
		t.Fatal(err)
	}
	if ev.Event != "status" || ev.ID != "failed/1" || o.Status != "failed" || o.Reason != "insufficient_stock" ||
		o.ReasonDetail != "product 3: 1 in stock, 2 requested" {
		t.Fatalf("failure event %+v (%+v)", ev, o)
	}
	s.ended(5 * time.Second)
}

// TestLiveStatusStreamsOnlyToOwnerOrAdmin: another customer gets exactly
// the 404 that GET /orders/{id} gives, no token 401, unknown ids 404.
func TestLiveStatusStreamsOnlyToOwnerOrAdmin(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.customer("owner@example.com")
	a := e.placeOrder(tok)
	other, _ := e.customer("snoop@example.com")
	viaGet := expect(t, e.do(req{method: "GET", path: "/api/v1/orders/" + a.ID, token: other}), 404).problem(t)
	viaStream := expect(t, e.do(req{method: "GET", path: "/api/v1/orders/" + a.ID + "/events", token: other}), 404).problem(t)
	if viaGet.Type != viaStream.Type || viaGet.Title != viaStream.Title || viaGet.Detail != viaStream.Detail {
		t.Fatalf("another user's order: stream says %+v, GET says %+v", viaStream, viaGet)
	}
	unknown := expect(t, e.do(req{method: "GET", path: "/api/v1/orders/" + uuid.NewString() + "/events", token: tok}), 404).problem(t)
	if unknown.Type != viaGet.Type || unknown.Detail != viaGet.Detail {
		t.Fatalf("unknown order %+v differs from another user's %+v", unknown, viaGet)
	}
	expect(t, e.do(req{method: "GET", path: "/api/v1/orders/not-a-uuid/events", token: tok, badRequest: true}), 404).problem(t)
	r := expect(t, e.do(req{method: "GET", path: "/api/v1/orders/" + a.ID + "/events", badRequest: true}), 401)
	if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
	}
	r.problem(t)
}

// TestLiveStatusAcrossReplicas: two api processes on one database and
// Redis; a single published event reaches the streams on both.
func TestLiveStatusAcrossReplicas(t *testing.T) {
	dbs := testenvDB(t)
	spec, keys := testSpec(t, dbs.db, dbs.redis)
	ea := startEnv(t, spec, keys)
	eb := startEnv(t, spec, keys)
	tok, uid := ea.customer("replicas@example.com")
	a := ea.placeOrder(tok)
	onB := openStream(t, eb.base, a.ID, tok, nil)
	onA := openStream(t, ea.base, a.ID, tok, nil)
	for _, s := range []*sseStream{onB, onA} {
		if o := s.status(5 * time.Second); o.Status != "pending" {
			t.Fatalf("first event %+v", o)
		}
	}
	ea.decide(a.ID, uid, "confirmed", "")
	if n := ea.publishStatus(a.ID, uid, "confirmed", ""); n < 2 {
		t.Fatalf("one event reached %d subscribers, want one per api process (2)", n)
	}
	for name, s := range map[string]*sseStream{"B": onB, "A": onA} {
		if o := s.status(5 * time.Second); o.Status != "confirmed" {
			t.Fatalf("instance %s: event %+v, want confirmed", name, o)
		}
	}
	// A transition made through one replica reaches the streams on both.
	expect(t, eb.do(req{method: "POST", path: "/api/v1/orders/" + a.ID + "/payments", token: tok,
		body: map[string]string{"payment_method": "4242424242424242"}}), 201)
	for name, s := range map[string]*sseStream{"B": onB, "A": onA} {
		if o := s.status(5 * time.Second); o.Status != "paid" {
			t.Fatalf("instance %s: event %+v, want paid", name, o)
		}
	}
}

// TestLiveStatusAlreadyFinal: a stream opened on a decided order delivers
// the final status at once and ends; reconnecting after it gets 204.
func TestLiveStatusAlreadyFinal(t *testing.T) {
	e := newEnv(t)
	tok, uid := e.customer("late@example.com")
	a := e.placeOrder(tok)
	e.decide(a.ID, uid, "failed", orderstream.ReasonInsufficientStock)
	s := openStream(t, e.base, a.ID, tok, nil)
	if o := s.status(5 * time.Second); o.Status != "failed" || o.Reason != orderstream.ReasonInsufficientStock {
		t.Fatalf("first event %+v, want the failed order", o)
	}
	s.ended(5 * time.Second)
	// EventSource reconnects with the last id; 204 tells it to stop.
	r := expect(t, e.do(req{method: "GET", path: "/api/v1/orders/" + a.ID + "/events", token: tok,
		headers: map[string]string{"Last-Event-ID": "failed/1"}}), 204)
	if len(r.body) != 0 {
		t.Fatalf("204 with a body: %q", r.body)
	}
	// A client that missed the final event gets it again.
	s = openStream(t, e.base, a.ID, tok, map[string]string{"Last-Event-ID": "pending/0"})
	if o := s.status(5 * time.Second); o.Status != "failed" {
		t.Fatalf("reconnect after pending: %+v", o)
	}
	s.ended(5 * time.Second)
}

// TestLiveStatusOutlivesServerTimeouts: with read and write timeouts of one
// second the stream stays open, sends keep-alives and still delivers.
func TestLiveStatusOutlivesServerTimeouts(t *testing.T) {
	e := newEnv(t, func(s *apiconfig.Spec) {
		s.HTTP.ReadHeaderTimeout, s.HTTP.ReadTimeout, s.HTTP.WriteTimeout = time.Second, time.Second, time.Second
		s.Orders.LiveHeartbeat = time.Second
	})
	tok, uid := e.customer("patient@example.com")
	a := e.placeOrder(tok)
	s := openStream(t, e.base, a.ID, tok, nil)
	s.status(5 * time.Second)
	start := time.Now()
	for i := 0; i < 3; i++ {
		if c := s.comment(5 * time.Second); c != "keep-alive" {
			t.Fatalf("comment %q, want keep-alive", c)
		}
	}
	if waited := time.Since(start); waited < 2*time.Second {
		t.Fatalf("3 keep-alives within %s with a 1s interval", waited)
	}
	e.decide(a.ID, uid, "failed", orderstream.ReasonInsufficientStock)
	e.publishStatus(a.ID, uid, "failed", orderstream.ReasonInsufficientStock)
	if o := s.status(5 * time.Second); o.Status != "failed" {
		t.Fatalf("event %+v", o)
	}
	s.ended(5 * time.Second)
}

// TestLiveStatusRedisOutage: while Redis is down a new stream on a pending
// order gets 503 with Retry-After at once (a decided one is still served);
// an open stream survives, and a decision taken during the outage (its
// event lost) is delivered once the hub has resubscribed.
func TestLiveStatusRedisOutage(t *testing.T) {
	srv := testenv.NewRedisServer(t)
	spec, keys := testSpec(t, schematest.MigratedDatabase(t), srv.URL())
	e := startEnv(t, spec, keys)
	tok, uid := e.customer("outage@example.com")
	a := e.placeOrder(tok)
	s := openStream(t, e.base, a.ID, tok, nil)
	if o := s.status(5 * time.Second); o.Status != "pending" {
		t.Fatalf("first event %+v", o)
	}

	srv.Stop(t)
	// Every attempt is a quick 503; once the hub has noticed the outage it
	// is the hub's own answer (before, reading the pending order fails).
	eventually(t, 10*time.Second, "the live status 503", func() bool {
		start := time.Now()
		r := expect(t, e.do(req{method: "GET", path: "/api/v1/orders/" + a.ID + "/events", token: tok}), 503)
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("503 took %s: the stream must not hang while Redis is down", took)
		}
		if r.header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
		return r.problem(t).Type == "/problems/live-status-unavailable"
	})
	// The worker decides while the api cannot hear about it.
	e.decide(a.ID, uid, "failed", orderstream.ReasonInsufficientStock)
	// A finished order needs no live updates: it streams even now.
	late := openStream(t, e.base, a.ID, tok, nil)
	if o := late.status(5 * time.Second); o.Status != "failed" {
		t.Fatalf("stream opened during the outage on a decided order: %+v", o)
	}
	late.ended(5 * time.Second)

	srv.Start(t)
	if o := s.status(20 * time.Second); o.Status != "failed" {
		t.Fatalf("after the outage: %+v, want failed", o)
	}
	s.ended(5 * time.Second)
	if !strings.Contains(e.logs.String(), "order status subscription up") {
		t.Fatal("the hub did not log its resubscription")
	}
}

// TestLiveStatusStreamEndsOnShutdown: on SIGTERM open streams end at once
// (not after the drain), and the process still exits 0 promptly.
func TestLiveStatusStreamEndsOnShutdown(t *testing.T) {
	keys := t.TempDir()
	writeKey(t, keys, "k1")
	env := processEnv(schematest.MigratedDatabase(t), testenv.Redis(t), keys)
	p := startProc(t, append(env, "API_HTTP_DRAIN_DELAY=3s"))
	cred := map[string]string{"email": "sigterm@example.com", "password": "customer-pass-1"}
	expect(t, call(t, p.base, req{method: "POST", path: "/api/v1/auth/register", body: cred}), 201)
	var sess session
	expect(t, call(t, p.base, req{method: "POST", path: "/api/v1/auth/login", body: cred}), 200).json(t, &sess)
	var a accepted
	expect(t, call(t, p.base, req{method: "POST", path: "/api/v1/orders", token: sess.AccessToken, body: orderBody([2]int{1, 1})}), 202).json(t, &a)
	s := openStream(t, p.base, a.ID, sess.AccessToken, nil)
	s.status(5 * time.Second)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s.ended(2 * time.Second) // well inside the 3s drain delay
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		p.exited = true
		if err != nil {
			t.Fatalf("api exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("api did not exit within 15s of SIGTERM with a stream open")
	}
}

// TestLiveStreamsPerUserAreCapped: beyond maxLiveStreamsPerUser a user's
// further stream gets 429; closing one frees its slot; other users are not affected.
func TestLiveStreamsPerUserAreCapped(t *testing.T) {
	e := newEnv(t, func(s *apiconfig.Spec) { s.Orders.MaxLiveStreamsPerUser = 2 })
	tok, _ := e.customer("watcher@example.com")
	var a accepted
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: tok, body: orderBody([2]int{1, 1})}), 202).json(t, &a)
	s1 := openStream(t, e.base, a.ID, tok, nil)
	s1.status(5 * time.Second)
	s2 := openStream(t, e.base, a.ID, tok, nil)
	s2.status(5 * time.Second)
	r := expect(t, e.do(req{method: "GET", path: "/api/v1/orders/" + a.ID + "/events", token: tok}), 429)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	other, _ := e.customer("other-watcher@example.com")
	var b accepted
	expect(t, e.do(req{method: "POST", path: "/api/v1/orders", token: other, body: orderBody([2]int{1, 1})}), 202).json(t, &b)
	openStream(t, e.base, b.ID, other, nil).status(5 * time.Second)
	s1.cancel()
	eventually(t, 5*time.Second, "the closed stream's slot to be freed", func() bool {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		hr, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/api/v1/orders/"+a.ID+"/events", nil)
		hr.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			return false
		}
		defer res.Body.Close()
		return res.StatusCode == 200
	})
}
