package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/goshop-platform/shop/services/api/internal/auth"
	"github.com/goshop-platform/shop/services/platform/problem"
)

type ctxKey int

const principalKey ctxKey = iota

// authenticate requires a valid access token and puts its principal in the context.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		raw, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || strings.TrimSpace(raw) == "" {
			a.fail(w, r, errUnauthenticated)
			return
		}
		p, err := a.Auth.Tokens().Verify(strings.TrimSpace(raw))
		if err != nil {
			a.Log.InfoContext(r.Context(), "access token refused", "reason", err.Error())
			refuseToken(w, r, "the access token is invalid or expired; refresh it or log in again")
			return
		}
		if a.Auth.CutOff(p) {
			refuseToken(w, r, "this session was ended (logged out everywhere, or the account was disabled); log in again")
			return
		}
		alive, err := a.Auth.Active(r.Context(), p)
		if err != nil {
			a.Log.WarnContext(r.Context(), "cannot check whether the account still exists; trusting the token", "err", err)
		}
		if !alive {
			refuseToken(w, r, "the account of this token no longer exists or is disabled, or this session was ended; log in again")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
	})
}

func refuseToken(w http.ResponseWriter, r *http.Request, detail string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="shop", error="invalid_token"`)
	problem.Write(w, r, problem.New(http.StatusUnauthorized, "invalid-token", detail))
}

func requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !principal(r).IsAdmin() {
			problem.Write(w, r, clone(errForbidden))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func principal(r *http.Request) auth.Principal {
	p, _ := r.Context().Value(principalKey).(auth.Principal)
	return p
}

// cors answers browsers from the configured origins only. Tokens travel in
// the Authorization header, so credentials (cookies) are never allowed.
func (a *API) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		w.Header().Add("Vary", "Origin")
		allowed := origin != "" && slices.Contains(a.AllowedOrigins, origin)
		if allowed {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", "Location, ETag, Retry-After, X-Request-Id, Idempotent-Replayed")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if !allowed {
				problem.Write(w, r, problem.New(http.StatusForbidden, "cors-origin", "origin "+origin+" is not allowed"))
				return
			}
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, If-Match, Last-Event-ID, X-Request-Id, traceparent, tracestate")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the address rate limits count against: the peer, or, behind
// a trusted proxy (spec.http.trustedProxies), the client it forwarded for.
func (a *API) clientIP(r *http.Request) string { return a.TrustedProxies.ClientIP(r) }
