package httpserver

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the peers (Config.TrustedProxies) whose X-Forwarded-For and
// X-Forwarded-Proto headers are believed: a TLS-terminating ingress or load
// balancer in front of the service. Any other peer could write those headers
// itself, so from it they are ignored. The zero value trusts nobody.
type Proxies struct {
	prefixes []netip.Prefix
}

// ParseProxies reads trusted proxy entries: CIDRs such as 10.0.0.0/8, or a
// bare address, which stands for itself alone (/32 or /128).
func ParseProxies(entries []string) (Proxies, error) {
	var p Proxies
	for _, e := range entries {
		prefix, err := parseProxy(e)
		if err != nil {
			return Proxies{}, err
		}
		p.prefixes = append(p.prefixes, prefix)
	}
	return p, nil
}

func parseProxy(s string) (netip.Prefix, error) {
	var prefix netip.Prefix
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		prefix = p
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("netip.ParseAddr(%q): zones are not allowed", s)
		}
		prefix = netip.PrefixFrom(a, a.BitLen())
	}
	// Peers are compared unmapped, so an IPv4-mapped IPv6 entry
	// (::ffff:10.0.0.0/104) must become the IPv4 prefix it means.
	if a := prefix.Addr(); a.Is4In6() && prefix.Bits() >= 96 {
		prefix = netip.PrefixFrom(a.Unmap(), prefix.Bits()-96)
	}
	return prefix.Masked(), nil
}

// Trusted reports whether addr is one of the trusted proxies.
func (p Proxies) Trusted(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	for _, prefix := range p.prefixes {
		if prefix.Contains(addr) {
			return true
		}
	}
	return false
}

// peer is the TCP peer of r and whether it is a trusted proxy.
func (p Proxies) peer(r *http.Request) (host string, trusted bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(p.prefixes) == 0 {
		return host, false
	}
	addr, err := netip.ParseAddr(host)
	return host, err == nil && p.Trusted(addr)
}

// ClientIP is the address of the client: the TCP peer, or, when the peer is
// a trusted proxy, the nearest X-Forwarded-For hop that is not one. The
// walk goes right to left (over all X-Forwarded-For lines, last line first)
// because each proxy appends the address it saw: hops left of the first
// untrusted one were written by the client and can be anything. When every
// hop is trusted, or a malformed hop ends the walk, the peer is the answer.
func (p Proxies) ClientIP(r *http.Request) string {
	host, trusted := p.peer(r)
	if !trusted {
		return host
	}
	lines := r.Header.Values("X-Forwarded-For")
	for l := len(lines) - 1; l >= 0; l-- {
		hops := lines[l]
		for hops != "" {
			var hop string
			if i := strings.LastIndexByte(hops, ','); i >= 0 {
				hops, hop = hops[:i], hops[i+1:]
			} else {
				hops, hop = "", hops
			}
			addr, err := netip.ParseAddr(strings.TrimSpace(hop))
			if err != nil {
				return host
			}
			if !p.Trusted(addr) {
				return addr.String()
			}
		}
	}
	return host
}

// Scheme is the scheme the client used: "https" on a TLS connection, else
// the first value of X-Forwarded-Proto ("https" or "http", any case) when
// the peer is a trusted proxy, else "http".
func (p Proxies) Scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	proto := r.Header.Get("X-Forwarded-Proto")
	if proto == "" {
		return "http"
	}
	if _, trusted := p.peer(r); !trusted {
		return "http"
	}
	first, _, _ := strings.Cut(proto, ",")
	if strings.EqualFold(strings.TrimSpace(first), "https") {
		return "https"
	}
	return "http"
}
