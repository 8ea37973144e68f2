package app_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/benchreport"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// hostileAPI is a real api process with short server timeouts and a
// customer's token.
func hostileAPI(t *testing.T) (*proc, string) {
	keys := t.TempDir()
	writeKey(t, keys, "k1")
	api := startProc(t, processEnv(schematest.MigratedDatabase(t), testenv.Redis(t), keys, "API_TELEMETRY_LOG_LEVEL=warn",
		"API_HTTP_READ_HEADER_TIMEOUT=1s", "API_HTTP_READ_TIMEOUT=2s"))
	expect(t, call(t, api.base, req{method: "POST", path: "/api/v1/auth/register",
		body: map[string]string{"email": "hostile@example.com", "password": "hostile-password"}}), 201)
	var s session
	expect(t, call(t, api.base, req{method: "POST", path: "/api/v1/auth/login",
		body: map[string]string{"email": "hostile@example.com", "password": "hostile-password"}}), 200).json(t, &s)
	return api, s.AccessToken
}

// trickle writes b one byte every gap until the server closes the
// connection or b runs out; it reports whether the server closed first and
// what it answered.
func trickle(t *testing.T, addr string, head string, b []byte, gap time.Duration) (closed bool, answer string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err) // may run on a goroutine of its own: no Fatal
		return true, ""
	}
	defer c.Close()
	if _, err := io.WriteString(c, head); err != nil {
		return true, ""
	}
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(c).ReadString('\n')
		got <- line
	}()
	for _, x := range b {
		select {
		case line := <-got:
			return true, line
		case <-time.After(gap):
		}
		if _, err := c.Write([]byte{x}); err != nil {
			return true, <-got
		}
	}
	return false, ""
}

// TestSlowlorisIsCutOff: a client that sends its headers or its body a
// byte at a time is disconnected by the server's timeouts (answered 408 or
// closed), well before it would finish, writes nothing, and while many such
// clients hang on, ordinary requests are still served.
func TestSlowlorisIsCutOff(t *testing.T) {
	api, token := hostileAPI(t)
	addr := strings.TrimPrefix(api.base, "http://")
	slowHeaders := []byte("X-Padding: " + strings.Repeat("a", 40) + "\r\n\r\n")
	if closed, _ := trickle(t, addr, "GET /api/v1/products HTTP/1.1\r\nHost: shop\r\n", slowHeaders, 100*time.Millisecond); !closed {
		t.Fatal("a client trickling its headers for 5 s was not cut off (readHeaderTimeout 1s)")
	}
	body := []byte(`{"items":[{"product_id":1,"quantity":1}]}` + strings.Repeat(" ", 40))
	head := fmt.Sprintf("POST /api/v1/orders HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", token, len(body))
	closed, answer := trickle(t, addr, head, body, 100*time.Millisecond)
	if !closed || strings.Contains(answer, " 5") || strings.Contains(answer, " 202") {
		t.Fatalf("a client trickling its body for 8 s: closed %v, answer %q; want cut off with a 4xx or no answer (readTimeout 2s)", closed, answer)
	}

	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			trickle(t, addr, "GET /livez HTTP/1.1\r\nHost: shop\r\n", slowHeaders, 200*time.Millisecond)
		}()
	}
	time.Sleep(300 * time.Millisecond)
	expect(t, call(t, api.base, req{method: "GET", path: "/api/v1/products"}), 200)
	wg.Wait()
	if n := count(t, api, "/metrics", `shop_orders_accepted_total`); n != 0 {
		t.Fatalf("%d orders accepted from slow clients", n)
	}
}

// TestHostileBodiesKeepMemoryBounded: 40 clients each sending 10 MB and 20
// sending 100,000-deep JSON at once get 413/400, and the process's private
// memory grows by far less than what they sent (the body limit stops
// reading at spec.http.maxBodyBytes).
func TestHostileBodiesKeepMemoryBounded(t *testing.T) {
	api, token := hostileAPI(t)
	before, err := benchreport.Anon(api.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	huge := bytes.Repeat([]byte("9"), 10<<20)
	deep := []byte(`{"items":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}`)
	var wg sync.WaitGroup
	codes := make(chan int, 60)
	post := func(body []byte) {
		defer wg.Done()
		r, _ := http.NewRequest("POST", api.base+"/api/v1/orders", bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			codes <- 0 // the server may close a connection whose body it refuses to read
			return
		}
		res.Body.Close()
		codes <- res.StatusCode
	}
	for i := range 60 {
		wg.Add(1)
		if i < 40 {
			go post(huge)
		} else {
			go post(deep)
		}
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c >= 500 || c == 202 {
			t.Fatalf("a hostile body got %d", c)
		}
	}
	after, _ := benchreport.Anon(api.cmd.Process.Pid)
	t.Logf("private memory %.1f MB before, %.1f MB after 400 MB of hostile bodies", before, after)
	if after-before > 100 {
		t.Fatalf("private memory grew by %.0f MB for 60 refused requests (400 MB sent): the body limit does not bound it", after-before)
	}
	expect(t, call(t, api.base, req{method: "GET", path: "/api/v1/products"}), 200)
}

// count sums the values of the metric lines starting with name.
func count(t *testing.T, api *proc, path, name string) int {
	res, err := http.Get(api.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	total := 0
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, name) {
			var v float64
			fmt.Sscan(l[strings.LastIndex(l, " ")+1:], &v)
			total += int(v)
		}
	}
	return total
}
