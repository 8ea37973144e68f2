package httpserver_test

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/goshop-platform/shop/services/platform/httpserver"
	"github.com/goshop-platform/shop/services/platform/telemetry"
)

const hsts = "max-age=31536000; includeSubDomains"

// proxiedServer is a server whose configuration trusts the given proxies;
// /scheme and /client answer what the server believes of the request.
func proxiedServer(t *testing.T, trusted ...string) *httpserver.Server {
	t.Helper()
	cfg := httpserver.DefaultConfig("127.0.0.1:0")
	cfg.TrustedProxies = trusted
	var errs []string
	cfg.Validate("http", func(path, msg string) { errs = append(errs, path+": "+msg) })
	if len(errs) > 0 {
		t.Fatalf("test config invalid: %v", errs)
	}
	s := httpserver.New(cfg, slog.New(slog.DiscardHandler), telemetry.NewMetrics())
	s.Router.Get("/scheme", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, s.Proxies().Scheme(r))
	})
	s.Router.Get("/client", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, s.Proxies().ClientIP(r))
	})
	return s
}

// Over real connections from 127.0.0.1: HSTS and the scheme follow
// X-Forwarded-Proto only when the peer is a configured trusted proxy.
func TestHSTSBehindTrustedProxy(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		proto   []string // X-Forwarded-Proto lines; nil sends none
		https   bool
	}{
		{"trusted peer forwards https", []string{"127.0.0.0/8"}, []string{"https"}, true},
		{"trusted single address forwards https", []string{"127.0.0.1"}, []string{"https"}, true},
		{"scheme is case-insensitive", []string{"127.0.0.0/8"}, []string{"HTTPS"}, true},
		{"first value of a list counts", []string{"127.0.0.0/8"}, []string{"https, http"}, true},
		{"first line counts", []string{"127.0.0.0/8"}, []string{"https", "http"}, true},
		{"trusted peer forwards http", []string{"127.0.0.0/8"}, []string{"http"}, false},
		{"trusted peer, http first in the list", []string{"127.0.0.0/8"}, []string{"http, https"}, false},
		{"trusted peer, unknown scheme", []string{"127.0.0.0/8"}, []string{"httpsx"}, false},
		{"trusted peer, no header", []string{"127.0.0.0/8"}, nil, false},
		{"untrusted peer sends https", []string{"10.0.0.0/8", "::1"}, []string{"https"}, false},
		{"no trusted proxies, client sends https", nil, []string{"https"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(proxiedServer(t, tt.trusted...).Router)
			defer ts.Close()
			for _, path := range []string{"/scheme", "/livez", "/no-such-route"} {
				req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range tt.proto {
					req.Header.Add("X-Forwarded-Proto", p)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				wantHSTS, wantScheme := "", "http"
				if tt.https {
					wantHSTS, wantScheme = hsts, "https"
				}
				if got := res.Header.Get("Strict-Transport-Security"); got != wantHSTS {
					t.Errorf("%s: Strict-Transport-Security = %q, want %q", path, got, wantHSTS)
				}
				if path == "/scheme" && string(body) != wantScheme {
					t.Errorf("Scheme = %q, want %q", body, wantScheme)
				}
				if got := res.Header.Get("X-Frame-Options"); got != "DENY" {
					t.Errorf("%s: X-Frame-Options = %q: the other security headers went missing", path, got)
				}
			}
		})
	}
}

// A TLS connection is https whatever a forwarded header claims.
func TestHSTSOverTLS(t *testing.T) {
	for _, trusted := range [][]string{nil, {"127.0.0.0/8"}} {
		ts := httptest.NewTLSServer(proxiedServer(t, trusted...).Router)
		req, err := http.NewRequest(http.MethodGet, ts.URL+"/scheme", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-Proto", "http")
		res, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		ts.Close()
		if got := res.Header.Get("Strict-Transport-Security"); got != hsts {
			t.Errorf("trusted %v: HSTS over TLS = %q, want %q", trusted, got, hsts)
		}
		if string(body) != "https" {
			t.Errorf("trusted %v: Scheme over TLS = %q, want https", trusted, body)
		}
	}
}

// The client address behind a trusted proxy comes from X-Forwarded-For,
// over a real connection; from an untrusted peer the header is ignored.
func TestClientIPOverHTTP(t *testing.T) {
	for _, tt := range []struct {
		trusted []string
		want    string
	}{
		{[]string{"127.0.0.0/8"}, "198.51.100.9"},
		{[]string{"10.0.0.0/8"}, "127.0.0.1"},
		{nil, "127.0.0.1"},
	} {
		ts := httptest.NewServer(proxiedServer(t, tt.trusted...).Router)
		res, body := get(t, ts.URL+"/client", "X-Forwarded-For", "6.6.6.6, 198.51.100.9")
		ts.Close()
		if res.StatusCode != 200 || body != tt.want {
			t.Errorf("trusted %v: ClientIP = %d %q, want %q", tt.trusted, res.StatusCode, body, tt.want)
		}
	}
}

func mustProxies(t *testing.T, entries ...string) httpserver.Proxies {
	t.Helper()
	p, err := httpserver.ParseProxies(entries)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func request(remote string, header ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	return r
}

// The right-to-left X-Forwarded-For walk (moved here from the api's rate
// limiter): the nearest hop that is not a trusted proxy is the client, and
// nothing left of it is believed.
func TestClientIP(t *testing.T) {
	p := mustProxies(t, "10.0.0.0/8", "192.168.1.1", "2001:db8::/32")
	tests := []struct {
		name   string
		remote string
		xff    []string // X-Forwarded-For lines
		want   string
	}{
		{"untrusted peer, header ignored", "203.0.113.7:1234", []string{"198.51.100.9"}, "203.0.113.7"},
		{"untrusted peer next to a trusted address", "192.168.1.2:1234", []string{"198.51.100.9"}, "192.168.1.2"},
		{"trusted peer without header", "10.0.0.1:1234", nil, "10.0.0.1"},
		{"trusted peer, one hop", "10.0.0.1:1234", []string{"198.51.100.9"}, "198.51.100.9"},
		{"trusted single address", "192.168.1.1:1234", []string{"198.51.100.9"}, "198.51.100.9"},
		{"spoofed hops left of the client are ignored", "10.0.0.1:1234", []string{"6.6.6.6, 198.51.100.9"}, "198.51.100.9"},
		{"trusted hops are skipped", "10.0.0.1:1234", []string{"6.6.6.6, 198.51.100.9, 10.2.3.4 ,192.168.1.1"}, "198.51.100.9"},
		{"lines are walked last first", "10.0.0.1:1234", []string{"6.6.6.6", "198.51.100.9, 10.2.3.4"}, "198.51.100.9"},
		{"walk continues into earlier lines", "10.0.0.1:1234", []string{"6.6.6.6, 198.51.100.9", "10.2.3.4"}, "198.51.100.9"},
		{"every hop trusted", "10.0.0.1:1234", []string{"10.9.9.9, 10.2.3.4"}, "10.0.0.1"},
		{"malformed hop stops the walk", "10.0.0.1:1234", []string{"198.51.100.9, not-an-ip"}, "10.0.0.1"},
		{"empty hop stops the walk", "10.0.0.1:1234", []string{"198.51.100.9,"}, "10.0.0.1"},
		{"IPv6 proxy and client", "[2001:db8::1]:443", []string{"2a00:1450::1, 2001:db8::2"}, "2a00:1450::1"},
		{"IPv4-mapped peer is matched unmapped", "[::ffff:10.0.0.1]:443", []string{"198.51.100.9"}, "198.51.100.9"},
		{"IPv4-mapped hop is matched unmapped", "10.0.0.1:1234", []string{"198.51.100.9, ::ffff:10.2.3.4"}, "198.51.100.9"},
		{"peer without a port", "10.0.0.1", []string{"198.51.100.9"}, "198.51.100.9"},
		{"unparsable peer", "@", []string{"198.51.100.9"}, "@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(tt.remote)
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := p.ClientIP(r); got != tt.want {
				t.Errorf("ClientIP(peer %s, X-Forwarded-For %q) = %q, want %q", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
	var none httpserver.Proxies
	if got := none.ClientIP(request("10.0.0.1:1234", "X-Forwarded-For", "198.51.100.9")); got != "10.0.0.1" {
		t.Errorf("zero Proxies: ClientIP = %q, want the peer", got)
	}
}

func TestScheme(t *testing.T) {
	p := mustProxies(t, "10.0.0.0/8")
	tests := []struct {
		name string
		r    *http.Request
		want string
	}{
		{"trusted https", request("10.1.1.1:1", "X-Forwarded-Proto", "https"), "https"},
		{"trusted padded mixed case", request("10.1.1.1:1", "X-Forwarded-Proto", " HttpS , http"), "https"},
		{"trusted http", request("10.1.1.1:1", "X-Forwarded-Proto", "http"), "http"},
		{"untrusted https", request("203.0.113.7:1", "X-Forwarded-Proto", "https"), "http"},
		{"untrusted, unparsable peer", request("nonsense", "X-Forwarded-Proto", "https"), "http"},
		{"no header", request("10.1.1.1:1"), "http"},
	}
	for _, tt := range tests {
		if got := p.Scheme(tt.r); got != tt.want {
			t.Errorf("%s: Scheme = %q, want %q", tt.name, got, tt.want)
		}
	}
	r := request("203.0.113.7:1", "X-Forwarded-Proto", "http")
	r.TLS = &tls.ConnectionState{}
	if got := p.Scheme(r); got != "https" {
		t.Errorf("TLS: Scheme = %q, want https", got)
	}
}

// Scheme runs on every request (SecurityHeaders): it must not allocate.
func TestSchemeDoesNotAllocate(t *testing.T) {
	p := mustProxies(t, "10.0.0.0/8", "2001:db8::/32")
	for _, r := range []*http.Request{
		request("10.1.1.1:1", "X-Forwarded-Proto", "https"),
		request("[2001:db8::7]:1", "X-Forwarded-Proto", "https, http"),
		request("203.0.113.7:1", "X-Forwarded-Proto", "https"),
	} {
		if n := testing.AllocsPerRun(100, func() { p.Scheme(r) }); n != 0 {
			t.Errorf("Scheme(peer %s) allocates %v times per call", r.RemoteAddr, n)
		}
	}
}

func TestParseProxies(t *testing.T) {
	p := mustProxies(t, "10.0.0.0/8", "192.168.1.1", "::1", "::ffff:172.16.0.0/108", "2001:db8::5/32")
	for addr, want := range map[string]bool{
		"10.255.0.1": true, "11.0.0.1": false,
		"192.168.1.1": true, "192.168.1.2": false,
		"::1": true, "::2": false,
		"172.16.3.4": true, "::ffff:172.16.3.4": true, "172.32.0.1": false,
		"2001:db8:ffff::1": true, "2001:db9::1": false,
		"::ffff:10.0.0.1": true, "fe80::1%eth0": false,
	} {
		if got := p.Trusted(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Trusted(%s) = %v, want %v", addr, got, want)
		}
	}
	for _, bad := range []string{"", "not-a-cidr", "10.0.0.0/33", "10.0.0/8", "fe80::1%eth0", "10.0.0.1 "} {
		if _, err := httpserver.ParseProxies([]string{"10.0.0.0/8", bad}); err == nil {
			t.Errorf("ParseProxies accepted %q", bad)
		}
	}
}

func TestNewRefusesUnvalidatedProxies(t *testing.T) {
	cfg := httpserver.DefaultConfig("127.0.0.1:0")
	cfg.TrustedProxies = []string{"10.0.0.0/33"}
	defer func() {
		v := recover()
		if msg, _ := v.(string); !strings.Contains(msg, "trustedProxies") || !strings.Contains(msg, "10.0.0.0/33") {
			t.Errorf("New with a bad trusted proxy: panic %v, want one naming trustedProxies and the entry", v)
		}
	}()
	httpserver.New(cfg, slog.New(slog.DiscardHandler), telemetry.NewMetrics())
}
