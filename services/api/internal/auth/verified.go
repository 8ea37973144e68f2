package auth

import (
	"crypto/sha256"
	"sync"
	"time"
	"unsafe"
)

// verifiedCache remembers access tokens whose signature, issuer and
// audience this process has verified, with their validity window, so that
// a client's next requests with the same token skip the ECDSA verification
// (the largest CPU cost of an authenticated request). Keys are fixed for a
// process's lifetime (rotation rolls the pods), so a verified token stays
// verified; only its time window is checked again on every use.
type verifiedCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verified // by the token's SHA-256: 32 bytes a key, not ~500
}

type verified struct {
	p         Principal
	notBefore time.Time
	expires   time.Time
}

// verifiedCacheMax bounds memory (~100 bytes per token): when full, the
// cache starts over rather than tracking LRU order.
const verifiedCacheMax = 20_000

func (c *verifiedCache) get(raw string, now time.Time, leeway time.Duration) (Principal, bool) {
	key := tokenKey(raw)
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if !ok || now.Add(leeway).Before(v.notBefore) || !now.Add(-leeway).Before(v.expires) {
		return Principal{}, false // not seen, or outside its window: the full check decides and explains
	}
	return v.p, true
}

func (c *verifiedCache) put(raw string, v verified) {
	key := tokenKey(raw)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= verifiedCacheMax {
		c.m = make(map[[sha256.Size]byte]verified, 1024)
	}
	c.m[key] = v
	c.mu.Unlock()
}

// tokenKey hashes the token without copying it ([]byte(raw) would allocate
// ~350 bytes on every authenticated request): Sum256 only reads its input.
func tokenKey(raw string) [sha256.Size]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}
