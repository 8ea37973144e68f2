package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Domain errors, mapped to HTTP status at the edge.
var (
	ErrEmailTaken      = errors.New("email already registered")
	ErrBadCredentials  = errors.New("email or password is wrong")
	ErrBadRefreshToken = errors.New("refresh token is invalid, expired or already used")
	ErrUserNotFound    = errors.New("user not found")
	// ErrAccountDisabled: the password is right but an admin disabled the account.
	ErrAccountDisabled = errors.New("account disabled")
)

// User is an account.
type User struct {
	ID           int64
	Email        string
	Role         string
	PasswordHash string
	CreatedAt    time.Time
	// DisabledAt is set while an admin has disabled the account.
	DisabledAt *time.Time
	// SessionVersion is incremented whenever the account's sessions are
	// ended; access tokens of an older version are refused.
	SessionVersion int64
}

// Session is what a successful login or refresh hands the client.
type Session struct {
	AccessToken  string
	ExpiresIn    time.Duration
	RefreshToken string
}

// RefreshRecord is a stored (hashed) refresh token with its owner.
type RefreshRecord struct {
	FamilyID  uuid.UUID
	UserID    int64
	Role      string
	ExpiresAt time.Time
	Used      bool
	UsedAt    time.Time // when it was first rotated (zero if unused)
	Revoked   bool
	// SessionVersion is the owner's current session version.
	SessionVersion int64
}

// Store persists users and refresh tokens (PostgreSQL in production).
type Store interface {
	CreateUser(ctx context.Context, email, hash, role string) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByID(ctx context.Context, id int64) (User, error)
	InsertRefresh(ctx context.Context, hash []byte, family uuid.UUID, userID int64, expires time.Time) error
	// RotateRefresh looks the token up under lock and calls decide; when
	// decide returns a new token hash it is stored in the same family and
	// the old one marked used, atomically.
	RotateRefresh(ctx context.Context, hash []byte, decide func(RefreshRecord) (newHash []byte, err error), expires time.Time) (RefreshRecord, error)
	RevokeFamilyOf(ctx context.Context, hash []byte) error
	// EndSessions increments the account's session version and revokes all
	// its refresh tokens, in one transaction; disable also disables it.
	EndSessions(ctx context.Context, id int64, disable bool) (User, error)
	// Enable lifts a disabled account's ban.
	Enable(ctx context.Context, id int64) (User, error)
	// Users lists accounts whose email contains q, newest first.
	Users(ctx context.Context, q string, limit, offset int) ([]User, int, error)
}

// Service implements registration, login, refresh and logout.
type Service struct {
	store      Store
	hasher     Hasher
	tokens     *Tokens
	refreshTTL time.Duration
	reuseGrace time.Duration
	dummyHash  string
	active     *activeCache
	cutoffs    *CutOffs
}

// NewService wires the account rules.
func NewService(store Store, hasher Hasher, tokens *Tokens, refreshTTL time.Duration) (*Service, error) {
	dummy, err := hasher.Hash("timing-equaliser-not-a-password")
	if err != nil {
		return nil, err
	}
	return &Service{store: store, hasher: hasher, tokens: tokens, refreshTTL: refreshTTL, dummyHash: dummy}, nil
}

// Tokens exposes the token issuer/verifier.
func (s *Service) Tokens() *Tokens { return s.tokens }

// Register creates a customer account.
func (s *Service) Register(ctx context.Context, email, password string) (User, error) {
	return s.create(ctx, email, password, RoleCustomer)
}

// EnsureAdmin creates an admin account unless the email is already
// registered; it reports whether it created one.
func (s *Service) EnsureAdmin(ctx context.Context, email, password string) (bool, error) {
	_, err := s.create(ctx, email, password, RoleAdmin)
	if errors.Is(err, ErrEmailTaken) {
		return false, nil
	}
	return err == nil, err
}

func (s *Service) create(ctx context.Context, email, password, role string) (User, error) {
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return User{}, fmt.Errorf("hash password: %w", err)
	}
	return s.store.CreateUser(ctx, email, hash, role)
}

// Login checks the password and opens a session (a new refresh-token family).
func (s *Service) Login(ctx context.Context, email, password string) (Session, error) {
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, ErrUserNotFound) {
		_, _ = s.hasher.Verify(s.dummyHash, password) // same cost whether or not the account exists
		return Session{}, ErrBadCredentials
	}
	if err != nil {
		return Session{}, err
	}
	ok, err := s.hasher.Verify(u.PasswordHash, password)
	if err != nil {
		return Session{}, fmt.Errorf("verify password of user %d: %w", u.ID, err)
	}
	if !ok {
		return Session{}, ErrBadCredentials
	}
	if u.DisabledAt != nil {
		return Session{}, ErrAccountDisabled
	}
	raw, hash := newRefreshToken()
	if err := s.store.InsertRefresh(ctx, hash, uuid.New(), u.ID, time.Now().Add(s.refreshTTL)); err != nil {
		return Session{}, err
	}
	return s.session(Principal{UserID: u.ID, Role: u.Role, SessionVersion: u.SessionVersion}, raw)
}

// Refresh rotates a refresh token. Presenting a token that was already used
// (or revoked) revokes its whole family: someone else holds a copy.
func (s *Service) Refresh(ctx context.Context, token string) (Session, error) {
	raw, newHash := newRefreshToken()
	rec, err := s.store.RotateRefresh(ctx, hashToken(token), func(r RefreshRecord) ([]byte, error) {
		reloaded := r.Used && time.Since(r.UsedAt) <= s.reuseGrace
		if (r.Used && !reloaded) || r.Revoked || time.Now().After(r.ExpiresAt) {
			return nil, ErrBadRefreshToken
		}
		return newHash, nil
	}, time.Now().Add(s.refreshTTL))
	if err != nil {
		return Session{}, err
	}
	return s.session(Principal{UserID: rec.UserID, Role: rec.Role, SessionVersion: rec.SessionVersion}, raw)
}

// SetRefreshReuseGrace sets how soon after its rotation a refresh token may
// be presented again without counting as theft (0: never).
func (s *Service) SetRefreshReuseGrace(d time.Duration) { s.reuseGrace = d }

// Logout revokes the refresh token's family. Unknown tokens are ignored so
// that logout is idempotent.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.store.RevokeFamilyOf(ctx, hashToken(token))
}

// Me returns the caller's account.
func (s *Service) Me(ctx context.Context, id int64) (User, error) { return s.store.UserByID(ctx, id) }

func (s *Service) session(p Principal, refresh string) (Session, error) {
	access, err := s.tokens.Issue(p)
	if err != nil {
		return Session{}, fmt.Errorf("sign access token: %w", err)
	}
	return Session{AccessToken: access, ExpiresIn: s.tokens.TTL(), RefreshToken: refresh}, nil
}

func newRefreshToken() (raw string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	raw = base64.RawURLEncoding.EncodeToString(b)
	return raw, hashToken(raw)
}

func hashToken(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}
