package app_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/api/internal/auth"
)

// sessionStack is two api replicas that read the session cut-offs every
// 100 ms, with the database account check (the backstop) effectively off
// unless backstop is set, so that the Redis broadcast alone is measured.
func sessionStack(t *testing.T, backstop time.Duration) *stack {
	dbs := testenvDB(t)
	return newStackOn(t, dbs.db, dbs.redis, func(spec *apiconfig.Spec, _ *[]string) {
		spec.Auth.CutOffRefresh = 100 * time.Millisecond
		spec.Auth.AccountCheckTTL = backstop
		spec.RateLimit.LoginPerAccount = 100
	})
}

// works reports whether the access token is accepted by replica i.
func (s *stack) works(i int, token string) bool {
	s.t.Helper()
	r := s.apis[i].do(req{method: "GET", path: "/api/v1/orders", token: token, badRequest: true})
	switch r.status {
	case 200:
		return true
	case 401:
		if !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
			s.t.Fatalf("401 without invalid_token: %q", r.header.Get("WWW-Authenticate"))
		}
		return false
	}
	s.t.Fatalf("GET /api/v1/orders answered %d: %s", r.status, r.body)
	return false
}

// refusedEverywhere waits until no replica accepts any of the tokens.
func (s *stack) refusedEverywhere(what string, tokens ...string) {
	s.t.Helper()
	eventually(s.t, 5*time.Second, what, func() bool {
		for i := range s.apis {
			for _, tok := range tokens {
				if s.works(i, tok) {
					return false
				}
			}
		}
		return true
	})
}

// TestLogoutEverywhere: a user's "log out everywhere" on one replica cuts
// off the access tokens of all its sessions at once on that replica and
// within the cut-off refresh on the other, with no database read (the
// account check is off); the refresh tokens are revoked; a new login works
// on both replicas at once.
func TestLogoutEverywhere(t *testing.T) {
	s := sessionStack(t, 0)
	phone, _ := s.apis[0].customer("everywhere@example.com")
	laptop := s.apis[1].login("everywhere@example.com", "customer-pass-1")
	for i := range s.apis {
		if !s.works(i, phone) || !s.works(i, laptop.AccessToken) {
			t.Fatalf("replica %d refuses a fresh session", i)
		}
	}
	expect(t, s.apis[0].do(req{method: "POST", path: "/api/v1/auth/logout-everywhere", token: phone}), 204)
	if s.works(0, phone) || s.works(0, laptop.AccessToken) {
		t.Fatal("the replica that ended the sessions still accepts their tokens")
	}
	s.refusedEverywhere("both sessions cut off on both replicas", phone, laptop.AccessToken)
	r := expect(t, s.apis[1].do(req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": laptop.RefreshToken}}), 401)
	if pb := r.problem(t); !strings.HasSuffix(pb.Type, "/bad-refresh-token") {
		t.Fatalf("refresh after log out everywhere: %+v", pb)
	}
	again := s.apis[1].login("everywhere@example.com", "customer-pass-1").AccessToken
	for i := range s.apis {
		if !s.works(i, again) {
			t.Fatalf("replica %d refuses the login made after log out everywhere", i)
		}
	}
	expect(t, s.apis[0].do(req{method: "POST", path: "/api/v1/auth/logout-everywhere", badRequest: true}), 401)
}

// TestAdminDisablesAnAccount: an admin finds a customer by email, disables
// the account (audited): its tokens stop working on every replica within
// the refresh, it cannot log in (403 account-disabled, only with the right
// password) nor refresh; enabled again, it logs in. The admin can end
// another user's sessions but not disable themselves or end their own from
// the console; every action is in the audit log.
func TestAdminDisablesAnAccount(t *testing.T) {
	s := sessionStack(t, 0)
	admin := s.apis[0].admin()
	tok, uid := s.apis[0].customer("mallory@example.com")
	sess := s.apis[1].login("mallory@example.com", "customer-pass-1")

	var page struct {
		Items []struct {
			ID             int64      `json:"id"`
			Email          string     `json:"email"`
			DisabledAt     *time.Time `json:"disabled_at"`
			SessionVersion int64      `json:"session_version"`
		} `json:"items"`
		Total int `json:"total"`
	}
	expect(t, s.apis[1].do(req{method: "GET", path: "/api/v1/admin/users?email=MALLORY", token: admin}), 200).json(t, &page)
	if page.Total != 1 || page.Items[0].ID != uid || page.Items[0].DisabledAt != nil {
		t.Fatalf("users matching MALLORY: %+v", page)
	}
	page.Total = 0 // a page past the end still says how many match
	expect(t, s.apis[1].do(req{method: "GET", path: "/api/v1/admin/users?email=MALLORY&offset=5", token: admin}), 200).json(t, &page)
	if page.Total != 1 || len(page.Items) != 0 {
		t.Fatalf("users matching MALLORY from offset 5: %+v, want no items and total 1", page)
	}
	act := func(i int, what string, id int64, reason string, status int) resp {
		return expect(t, s.apis[i].do(req{method: "POST", path: fmt.Sprintf("/api/v1/admin/users/%d/%s", id, what), token: admin,
			body: map[string]string{"reason": reason}, badRequest: status >= 400}), status)
	}
	if p := act(0, "disable", uid, "", 422).problem(t); !slices.Equal(p.names(), []string{"#/reason"}) {
		t.Fatalf("disable without a reason: %+v", p)
	}
	act(0, "disable", 987654, "no such user", 404)
	if p := act(0, "disable", adminID(t, s), "lock myself out", 409).problem(t); !strings.HasSuffix(p.Type, "/own-account") {
		t.Fatalf("an admin disabling themselves: %+v", p)
	}

	act(1, "disable", uid, "card testing from this account", 200)
	s.refusedEverywhere("the disabled account's tokens refused on both replicas", tok, sess.AccessToken)
	r := expect(t, s.apis[0].do(req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"email": "mallory@example.com", "password": "customer-pass-1"}}), 403)
	if p := r.problem(t); !strings.HasSuffix(p.Type, "/account-disabled") {
		t.Fatalf("login of a disabled account: %+v", p)
	}
	expect(t, s.apis[0].do(req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"email": "mallory@example.com", "password": "wrong-pass-1"}}), 401)
	expect(t, s.apis[1].do(req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": sess.RefreshToken}}), 401)

	act(0, "enable", uid, "the bank cleared it", 200)
	back := s.apis[1].login("mallory@example.com", "customer-pass-1").AccessToken
	if !s.works(0, back) || !s.works(1, back) {
		t.Fatal("the enabled account's new session is refused")
	}
	act(0, "sessions/end", uid, "password reset on request", 200)
	s.refusedEverywhere("sessions ended by the admin refused on both replicas", back)

	var actions struct {
		Items []struct {
			Action, Target, Reason string
		} `json:"items"`
	}
	expect(t, s.apis[0].do(req{method: "GET", path: "/api/v1/admin/actions", token: admin}), 200).json(t, &actions)
	var got []string
	for _, a := range actions.Items {
		got = append(got, a.Action+" "+a.Target+" "+a.Reason)
	}
	want := []string{
		fmt.Sprintf("end_sessions user:%d password reset on request", uid),
		fmt.Sprintf("enable_user user:%d the bank cleared it", uid),
		fmt.Sprintf("disable_user user:%d card testing from this account", uid),
		"disable_user user:987654 no such user",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func adminID(t *testing.T, s *stack) int64 {
	var id int64
	if err := s.apis[0].db.QueryRow(t.Context(), `SELECT id FROM users WHERE email = $1`, adminEmail).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestCutOffWithoutTheBroadcast: when the Redis broadcast is lost (the
// cut-offs key deleted before the other replica read it), the database
// account check still refuses the ended session's tokens within its TTL;
// and a cut-off older than an access token's lifetime is pruned.
func TestCutOffWithoutTheBroadcast(t *testing.T) {
	s := sessionStack(t, 300*time.Millisecond)
	tok, _ := s.apis[0].customer("lost@example.com")
	if !s.works(1, tok) {
		t.Fatal("fresh token refused")
	}
	rdb := s.apis[0].rdb
	// A replica that never saw the cut-off: stop the broadcast reaching it
	// by deleting every cut-off right after it is published.
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				_ = rdb.Del(t.Context(), auth.CutOffsKey).Err()
			}
		}
	}()
	expect(t, s.apis[0].do(req{method: "POST", path: "/api/v1/auth/logout-everywhere", token: tok}), 204)
	time.Sleep(300 * time.Millisecond) // the replicas reload the (now empty) cut-offs
	close(done)
	s.refusedEverywhere("the ended session refused by the account check", tok)

	stale := time.Now().Add(-time.Hour).UnixMilli()
	if err := rdb.ZAdd(t.Context(), auth.CutOffsKey, redis.Z{Score: float64(stale), Member: "42:7"}).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a cut-off older than the token lifetime pruned", func() bool {
		n, err := rdb.ZCard(t.Context(), auth.CutOffsKey).Result()
		return err == nil && n == 0
	})
}
