package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/goshop-platform/shop/services/api/internal/order"
	"github.com/goshop-platform/shop/services/kernel/lifecycle"
)

// streamWriteTimeout bounds each write to a live stream. The server's
// WriteTimeout is lifted for the stream's lifetime, but a client that stops
// reading must not pin the handler forever.
const streamWriteTimeout = 10 * time.Second

var keepAlive = []byte(": keep-alive\n\n")

// final reports whether nothing can happen to the order any more.
func final(o order.Order) bool { return lifecycle.Final(o.Status) }

// eventID names the state the stream last sent: the status and how many
// timeline entries it had. The timeline only grows, so this identifies it.
func eventID(o order.Order) string { return o.Status + "/" + strconv.Itoa(len(o.Events)) }

// statusEvent renders o, with its timeline, as a server-sent event.
func statusEvent(o order.Order) []byte {
	data, _ := json.Marshal(o) // plain struct: cannot fail; one line, as SSE data needs
	return fmt.Appendf(nil, "id: %s\nevent: status\ndata: %s\n\n", eventID(o), data)
}

// orderEvents streams an order's status and timeline as server-sent
// events: the order at once, then after every transition, and the stream
// ends after a final status (failed, cancelled, expired, delivered).
func (a *API) orderEvents(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	// Listen first, then read: a decision published between the two still
	// wakes the listener, so the stream cannot miss it.
	l, lerr := a.Live.Listen(r.Context(), id)
	if lerr == nil {
		defer l.Close()
	}
	o, err := a.visibleOrder(r, id)
	switch {
	case lerr != nil && (err != nil || !final(o)):
		// Without the hub only a decided order can be streamed: it will
		// not change any more.
		return lerr
	case err != nil:
		return err
	}
	// EventSource reconnects whenever a stream ends; one that has already
	// seen the final event is told to stop (a 204 ends its retries).
	if final(o) && r.Header.Get("Last-Event-ID") == eventID(o) {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}

	release, ok := a.streamSlots.take(principal(r).UserID, a.MaxLiveStreamsPerUser)
	if !ok {
		p := rateLimited(5 * time.Second)
		p.Detail = fmt.Sprintf("at most %d live status streams per user at once; close one first", a.MaxLiveStreamsPerUser)
		return p
	}
	defer release()

	ctx := r.Context()
	rc := http.NewResponseController(w)
	// The server's WriteTimeout is meant for ordinary responses and would cut
	// the stream; each write below gets a deadline of its own instead.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		a.Log.WarnContext(ctx, "live status stream keeps the server's write timeout", "err", err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on at once
	w.WriteHeader(http.StatusOK)
	a.liveStreams.Inc()
	defer a.liveStreams.Dec()

	// send reports false when the client is gone.
	send := func(chunk []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := w.Write(chunk); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send(statusEvent(o)) {
		return nil
	}
	every := a.LiveHeartbeat
	if every <= 0 {
		every = 15 * time.Second
	}
	beat := time.NewTicker(every)
	defer beat.Stop()
	for !final(o) {
		select {
		case <-ctx.Done():
			return nil
		case <-l.Done():
			return nil // shutting down: the client reconnects to another replica
		case <-beat.C:
			if !send(keepAlive) {
				return nil
			}
		case <-l.Wake():
			n, err := a.visibleOrder(r, id)
			if err != nil {
				// Too late for a problem response; ending the stream makes
				// the client reconnect and read afresh.
				a.Log.WarnContext(ctx, "live status re-read failed; ending stream", "order_id", id.String(), "err", err)
				return nil
			}
			if eventID(n) == eventID(o) {
				continue // not a change
			}
			o = n
			if !send(statusEvent(o)) {
				return nil
			}
		}
	}
	return nil
}

// streamSlots counts open live streams per user in this replica.
type streamSlots struct {
	mu   sync.Mutex
	open map[int64]int
}

// take reserves a stream for user unless limit are open already; release
// gives it back.
func (s *streamSlots) take(user int64, limit int) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open == nil {
		s.open = map[int64]int{}
	}
	if limit > 0 && s.open[user] >= limit {
		return nil, false
	}
	s.open[user]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.open[user]--; s.open[user] <= 0 {
			delete(s.open, user)
		}
	}, true
}
