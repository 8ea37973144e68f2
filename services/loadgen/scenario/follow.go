package scenario

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// follower follows each accepted order to its final status, by polling
// GET /api/v1/orders/{id} or reading the live status stream, and records
// the time from the 202 to the moment the final status was seen.
type follower struct {
	mode     Follow
	interval time.Duration
	timeout  time.Duration // per poll; live streams end with ctx only
	api      api           // its client has no timeout of its own
	rec      *recorder
	wg       sync.WaitGroup
}

type orderState struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

func (s orderState) final() bool { return s.Status == "confirmed" || s.Status == "failed" }

// start follows order id of customer c, accepted at the given time, until
// it is decided or ctx ends.
func (f *follower) start(ctx context.Context, id string, c *customer, accepted time.Time) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		if f.mode == FollowLive && f.live(ctx, id, c, accepted) {
			return
		}
		f.poll(ctx, id, c, accepted)
	}()
}

func (f *follower) wait() { f.wg.Wait() }

// poll asks at once, then every interval.
func (f *follower) poll(ctx context.Context, id string, c *customer, accepted time.Time) {
	interval := f.interval
	if interval <= 0 {
		interval = 50 * time.Millisecond // a live stream broke off: poll meanwhile
	}
	for {
		began := time.Now()
		rctx, cancel := context.WithTimeout(ctx, f.timeout)
		code, body, err := f.api.call(rctx, http.MethodGet, "/api/v1/orders/"+id, c.bearer(), nil)
		cancel()
		if ctx.Err() != nil {
			return // the run is over: not a failure of the api
		}
		f.rec.add(Poll, code, time.Since(began), errText(err))
		var st orderState
		if code == http.StatusOK && json.Unmarshal(body, &st) == nil && st.final() {
			f.rec.decided(st.Status, st.Reason, time.Since(accepted))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// live reads the order's event stream until the final status; false when
// the stream could not be read to the end (the caller then polls).
func (f *follower) live(ctx context.Context, id string, c *customer, accepted time.Time) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.api.base+"/api/v1/orders/"+id+"/events", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", c.bearer())
	req.Header.Set("Accept", "text/event-stream")
	began := time.Now()
	resp, err := f.api.client.Do(req)
	if ctx.Err() != nil {
		return true
	}
	if err != nil {
		f.rec.add(Live, 0, time.Since(began), err.Error())
		return false
	}
	defer resp.Body.Close()
	// The latency of a live request is the time to the stream's headers.
	f.rec.add(Live, resp.StatusCode, time.Since(began), "")
	if resp.StatusCode != http.StatusOK {
		return false
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data:")
		var st orderState
		if ok && json.Unmarshal([]byte(strings.TrimSpace(data)), &st) == nil && st.final() {
			f.rec.decided(st.Status, st.Reason, time.Since(accepted))
			return true
		}
	}
	return ctx.Err() != nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
