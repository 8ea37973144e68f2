package httpapi

import (
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goshop-platform/shop/services/api/internal/auth"
	"github.com/goshop-platform/shop/services/api/internal/ratelimit"
	"github.com/goshop-platform/shop/services/platform/problem"
)

type credentials struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
}

type userView struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

type sessionView struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

type refreshBody struct {
	RefreshToken *string `json:"refresh_token"`
}

func viewUser(u auth.User) userView {
	return userView{ID: u.ID, Email: u.Email, Role: u.Role, CreatedAt: u.CreatedAt}
}

func viewSession(s auth.Session) sessionView {
	return sessionView{AccessToken: s.AccessToken, TokenType: "Bearer", ExpiresIn: int(s.ExpiresIn.Seconds()), RefreshToken: s.RefreshToken}
}

// validateCredentials checks shape only. Emails are printable ASCII
// addr-spec without display name, at most 254 characters; passwords 8-128
// characters.
func (c *credentials) validate(strictPassword bool) []problem.FieldError {
	var errs []problem.FieldError
	switch {
	case c.Email == nil:
		errs = append(errs, problem.FieldError{Pointer: "#/email", Detail: "required"})
	case !validEmail(*c.Email):
		errs = append(errs, problem.FieldError{Pointer: "#/email", Detail: "must be an email address like name@example.com (ASCII, at most 254 characters)"})
	}
	switch {
	case c.Password == nil:
		errs = append(errs, problem.FieldError{Pointer: "#/password", Detail: "required"})
	case strictPassword && (utf8.RuneCountInString(*c.Password) < 8 || utf8.RuneCountInString(*c.Password) > 128 || strings.TrimSpace(*c.Password) == ""):
		errs = append(errs, problem.FieldError{Pointer: "#/password", Detail: "must be 8 to 128 characters and not only spaces"})
	case !strictPassword && (*c.Password == "" || len(*c.Password) > 1024):
		errs = append(errs, problem.FieldError{Pointer: "#/password", Detail: "must be 1 to 1024 bytes"})
	}
	return errs
}

func validEmail(s string) bool {
	if len(s) < 3 || len(s) > 254 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	_, domain, _ := strings.Cut(s, "@")
	return domain != "" && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

func (a *API) register(w http.ResponseWriter, r *http.Request) error {
	if err := a.limit(r, a.RegisterPerIP, a.clientIP(r)); err != nil {
		return err
	}
	var c credentials
	if p := problem.DecodeJSON(r, a.MaxBodyBytes, &c); p != nil {
		return p
	}
	if errs := c.validate(true); len(errs) > 0 {
		return problem.Validation(errs...)
	}
	u, err := a.Auth.Register(r.Context(), *c.Email, *c.Password)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, viewUser(u))
}

func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	var c credentials
	if p := problem.DecodeJSON(r, a.MaxBodyBytes, &c); p != nil {
		return p
	}
	if errs := c.validate(false); len(errs) > 0 {
		return problem.Validation(errs...)
	}
	if err := a.limit(r, a.LoginPerIP, a.clientIP(r)); err != nil {
		return err
	}
	if err := a.limit(r, a.LoginPerAcct, strings.ToLower(*c.Email)); err != nil {
		return err
	}
	s, err := a.Auth.Login(r.Context(), *c.Email, *c.Password)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewSession(s))
}

// refreshToken decodes the body of refresh and logout.
func (a *API) refreshToken(r *http.Request) (string, error) {
	var b refreshBody
	if p := problem.DecodeJSON(r, a.MaxBodyBytes, &b); p != nil {
		return "", p
	}
	if b.RefreshToken == nil || *b.RefreshToken == "" || len(*b.RefreshToken) > 512 {
		return "", problem.Validation(problem.FieldError{Pointer: "#/refresh_token", Detail: "required, at most 512 characters"})
	}
	return *b.RefreshToken, nil
}

func (a *API) refresh(w http.ResponseWriter, r *http.Request) error {
	token, err := a.refreshToken(r)
	if err != nil {
		return err
	}
	s, err := a.Auth.Refresh(r.Context(), token)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewSession(s))
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) error {
	token, err := a.refreshToken(r)
	if err != nil {
		return err
	}
	if err := a.Auth.Logout(r.Context(), token); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request) error {
	u, err := a.Auth.Me(r.Context(), principal(r).UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewUser(u))
}

// limit counts one attempt; a refusal is a 429 with Retry-After. When Redis
// cannot count, the attempt is refused (503): failing open would hand an
// attacker unlimited guesses whenever Redis is down.
func (a *API) limit(r *http.Request, l *ratelimit.Limiter, key string) error {
	d, err := l.Hit(r.Context(), key)
	if err != nil {
		a.Log.ErrorContext(r.Context(), "rate limiter unavailable", "err", err)
		p := problem.New(http.StatusServiceUnavailable, "rate-limiter-unavailable", "cannot check attempt limits right now; retry shortly")
		p.RetryAfter = 5 * time.Second
		return p
	}
	if !d.Allowed {
		return rateLimited(d.RetryAfter)
	}
	return nil
}
