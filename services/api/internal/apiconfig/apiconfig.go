// Package apiconfig is the api service's configuration document
// (apiVersion shop.goshop.dev/v1alpha1, kind APIConfig): its fields,
// defaults, environment names (API_*) and validation.
package apiconfig

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/faults"
	"github.com/goshop-platform/shop/services/platform/httpserver"
	"github.com/goshop-platform/shop/services/platform/postgres"
	"github.com/goshop-platform/shop/services/platform/redisconn"
	"github.com/goshop-platform/shop/services/platform/telemetry"
)

// Spec is the api's configuration.
type Spec struct {
	HTTP      httpserver.Config `json:"http"`
	Telemetry telemetry.Config  `json:"telemetry"`
	Database  postgres.Config   `json:"database"`
	Redis     redisconn.Config  `json:"redis"`
	Auth      Auth              `json:"auth"`
	RateLimit RateLimit         `json:"rateLimit"`
	Orders    Orders            `json:"orders"`
	Payments  Payments          `json:"payments"`
	CORS      CORS              `json:"cors"`
	// Operations tunes the admin console's actions (dead letters, pauses).
	Operations Operations `json:"operations"`
	// Faults injects faults on purpose (hot-reloaded; all off by default).
	Faults Faults `json:"faults"`
}

// Faults are the api's fault-injection flags (docs/fault-injection.md), for
// exercising latency alerts and the payment funnel on a test stack; keep
// them 0 in production. Both follow edits of the file without a restart.
type Faults struct {
	// IntakeLatency is added to POST /api/v1/orders before the order is
	// put on the stream (flag intake-latency).
	IntakeLatency time.Duration `json:"intakeLatency"`
	// PaymentDeclineRatio is the share of payment attempts (0..1) declined
	// without asking the provider, with reason injected_decline (flag
	// payment-decline-ratio); recorded like any decline.
	PaymentDeclineRatio float64 `json:"paymentDeclineRatio" jsonschema:"minimum=0,maximum=1"`
}

// Auth configures tokens and passwords.
type Auth struct {
	Issuer   string `json:"issuer" jsonschema:"minLength=1"`
	Audience string `json:"audience" jsonschema:"minLength=1"`
	// KeysDir holds ECDSA P-256 private keys as <kid>.pem files. Every key
	// verifies; ActiveKeyID signs. Rotate by adding a file, switching
	// ActiveKeyID, and removing the old file after AccessTokenTTL.
	KeysDir         string        `json:"keysDir"`
	ActiveKeyID     string        `json:"activeKeyID"`
	AccessTokenTTL  time.Duration `json:"accessTokenTTL"`
	RefreshTokenTTL time.Duration `json:"refreshTokenTTL"`
	// RefreshReuseGrace: a refresh token presented again this soon after its
	// rotation is rotated again instead of being treated as stolen (a page
	// reloaded while its refresh was in flight never stored the new token).
	// 0 = no grace.
	RefreshReuseGrace time.Duration `json:"refreshReuseGrace"`
	// Argon2id cost; the defaults follow the OWASP minimum (19 MiB, t=2, p=1).
	PasswordMemoryKB   uint32 `json:"passwordMemoryKB" jsonschema:"minimum=1024"`
	PasswordIterations uint32 `json:"passwordIterations" jsonschema:"minimum=1"`
	// AccountCheckTTL: a deleted account's tokens stop working within this
	// time (existence is cached this long); 0 disables the check.
	AccountCheckTTL time.Duration `json:"accountCheckTTL"`
	// CutOffRefresh is how often each replica reads the session cut-offs
	// (log out everywhere, disabled accounts) other replicas published: a
	// cut-off applies everywhere within about this time.
	CutOffRefresh  time.Duration  `json:"cutOffRefresh"`
	BootstrapAdmin BootstrapAdmin `json:"bootstrapAdmin"`
}

// BootstrapAdmin, when Email is set, is created at start if missing.
type BootstrapAdmin struct {
	Email    string        `json:"email"`
	Password config.Secret `json:"password"`
}

// RateLimit bounds abuse; counters live in Redis so limits hold across replicas.
type RateLimit struct {
	LoginPerAccount int           `json:"loginPerAccount" jsonschema:"minimum=1"`
	LoginPerIP      int           `json:"loginPerIP" jsonschema:"minimum=1"`
	LoginWindow     time.Duration `json:"loginWindow"`
	RegisterPerIP   int           `json:"registerPerIP" jsonschema:"minimum=1"`
	RegisterWindow  time.Duration `json:"registerWindow"`
	OrdersPerUser   int           `json:"ordersPerUser" jsonschema:"minimum=1"`
	OrdersWindow    time.Duration `json:"ordersWindow"`
}

// Payments chooses the payment provider and tunes the recovery sweep.
type Payments struct {
	Provider string `json:"provider" jsonschema:"enum=mock|stripe"`
	Mock     Mock   `json:"mock"`
	Stripe   Stripe `json:"stripe"`
	// SweepInterval is how often unsettled payments and refunds are looked for.
	SweepInterval time.Duration `json:"sweepInterval"`
	// RecheckAfter: an attempt or refund left unsettled this long is asked
	// of the provider again (with the same idempotency key).
	RecheckAfter time.Duration `json:"recheckAfter"`
}

// Mock tunes the local test-card provider.
type Mock struct {
	// ProcessingDelay is how long the "processing" test card stays processing.
	ProcessingDelay time.Duration `json:"processingDelay"`
}

// Stripe configures the stripe provider.
type Stripe struct {
	SecretKey     config.Secret `json:"secretKey"`
	WebhookSecret config.Secret `json:"webhookSecret"`
	// BackendURL overrides Stripe's API address (stripe-mock in tests); empty means Stripe.
	BackendURL string        `json:"backendURL"`
	Timeout    time.Duration `json:"timeout"`
}

// Orders configures intake and status.
type Orders struct {
	IdempotencyTTL   time.Duration `json:"idempotencyTTL"`
	PendingStatusTTL time.Duration `json:"pendingStatusTTL"`
	// LiveHeartbeat is how often a live status stream sends a keep-alive
	// comment; keep it below the idle timeout of every proxy in front.
	LiveHeartbeat time.Duration `json:"liveHeartbeat"`
	// MaxLiveStreamsPerUser bounds one user's open live status streams per
	// api replica (429 beyond).
	MaxLiveStreamsPerUser int `json:"maxLiveStreamsPerUser" jsonschema:"minimum=1,maximum=1000"`
	// Durability is when intake answers 202. none: once the Redis primary
	// has the order (survives a Redis restart, not the loss of the primary:
	// replication is asynchronous). replica: once MinReplicas replicas have
	// acknowledged it (WAIT); when they do not within ReplicaTimeout the
	// answer is 503 + Retry-After, and a retry with the same
	// Idempotency-Key never makes a second order. replica needs a Redis
	// with replicas; the default is none because make dev, compose and the
	// kind dev cluster run one Redis without replicas.
	Durability string `json:"durability" jsonschema:"enum=none|replica"`
	// ReplicaTimeout bounds the wait for replicas; at most half of
	// spec.redis.readTimeout, so the client never cuts a WAIT short.
	ReplicaTimeout time.Duration `json:"replicaTimeout"`
	MinReplicas    int           `json:"minReplicas" jsonschema:"minimum=1"`
	// IntakePipelines is how many pipelines send the intake scripts of
	// concurrent orders to Redis together (durability none, one Redis, not
	// a Cluster): under load one round trip carries several orders. 0 sends
	// each order on its own.
	IntakePipelines int `json:"intakePipelines" jsonschema:"minimum=0,maximum=64"`
}

// Durability modes of order intake.
const (
	DurabilityNone    = "none"
	DurabilityReplica = "replica"
)

// Operations tunes what the admin operations API keeps and how fast every
// replica sees a pause.
type Operations struct {
	// DiscardedRetention is how long a discarded dead letter is kept (in
	// new_orders:discarded) before it is trimmed; dead letters that nobody
	// acted on are never trimmed.
	DiscardedRetention time.Duration `json:"discardedRetention"`
	// ControlRefresh is how often a replica re-reads the pause switches from
	// Redis: an intake pause reaches every replica within this time.
	ControlRefresh time.Duration `json:"controlRefresh"`
}

// CORS lists the browser origins (storefront, Appsmith) allowed to call the api.
type CORS struct {
	AllowedOrigins []string `json:"allowedOrigins" jsonschema:"pattern=^https?://[^/]+/?$"`
}

// Loader reads the api's document.
var Loader = config.Loader[Spec]{
	APIVersion: "shop.goshop.dev/v1alpha1",
	Kind:       "APIConfig",
	EnvPrefix:  "API",
	Defaults:   Defaults(),
}

// Defaults are the values used when neither file nor environment sets a field.
func Defaults() Spec {
	return Spec{
		HTTP:      httpserver.DefaultConfig(":8080"),
		Telemetry: telemetry.DefaultConfig(),
		Database:  postgres.DefaultConfig(),
		Redis:     redisconn.DefaultConfig(),
		Auth: Auth{
			Issuer: "http://localhost:8080", Audience: "shop", KeysDir: "", ActiveKeyID: "",
			AccessTokenTTL: 15 * time.Minute, RefreshTokenTTL: 30 * 24 * time.Hour, RefreshReuseGrace: 10 * time.Second,
			PasswordMemoryKB: 19 * 1024, PasswordIterations: 2, AccountCheckTTL: 30 * time.Second, CutOffRefresh: time.Second,
		},
		RateLimit: RateLimit{LoginPerAccount: 5, LoginPerIP: 30, LoginWindow: time.Minute,
			RegisterPerIP: 10, RegisterWindow: time.Hour, OrdersPerUser: 60, OrdersWindow: time.Minute},
		Orders: Orders{IdempotencyTTL: 24 * time.Hour, PendingStatusTTL: 7 * 24 * time.Hour, LiveHeartbeat: 15 * time.Second, MaxLiveStreamsPerUser: 5,
			Durability: DurabilityNone, ReplicaTimeout: 100 * time.Millisecond, MinReplicas: 1, IntakePipelines: 4},
		Payments: Payments{Provider: "mock", Mock: Mock{ProcessingDelay: 3 * time.Second}, Stripe: Stripe{Timeout: 20 * time.Second},
			SweepInterval: 2 * time.Second, RecheckAfter: 5 * time.Second},
		CORS:       CORS{AllowedOrigins: []string{"http://localhost:8088"}},
		Operations: Operations{DiscardedRetention: 30 * 24 * time.Hour, ControlRefresh: time.Second},
	}
}

// Validate checks every field and names each bad one.
func (s *Spec) Validate() config.FieldErrors {
	var errs config.FieldErrors
	s.HTTP.Validate("spec.http", errs.Add)
	s.Telemetry.Validate("spec.telemetry", errs.Add)
	s.Database.Validate("spec.database", errs.Add)
	s.Redis.Validate("spec.redis", errs.Add)
	a := s.Auth
	errs.Check(a.Issuer != "", "spec.auth.issuer", "must not be empty")
	errs.Check(a.Audience != "", "spec.auth.audience", "must not be empty")
	errs.Check(a.AccessTokenTTL >= time.Minute && a.AccessTokenTTL <= 24*time.Hour, "spec.auth.accessTokenTTL", "must be between 1m and 24h")
	errs.Check(a.RefreshTokenTTL > a.AccessTokenTTL, "spec.auth.refreshTokenTTL", "must be longer than accessTokenTTL")
	errs.Check(a.RefreshReuseGrace >= 0 && a.RefreshReuseGrace <= time.Minute, "spec.auth.refreshReuseGrace", "must be between 0s and 1m")
	errs.Check(a.PasswordMemoryKB >= 1024, "spec.auth.passwordMemoryKB", "must be at least 1024")
	errs.Check(a.PasswordIterations >= 1, "spec.auth.passwordIterations", "must be at least 1")
	errs.Check(a.AccountCheckTTL >= 0 && a.AccountCheckTTL <= time.Hour, "spec.auth.accountCheckTTL", "must be between 0 and 1h")
	errs.Check(a.CutOffRefresh >= 100*time.Millisecond && a.CutOffRefresh <= time.Minute, "spec.auth.cutOffRefresh", "must be between 100ms and 1m")
	if a.BootstrapAdmin.Email != "" {
		errs.Check(len(a.BootstrapAdmin.Password.Value()) >= 12, "spec.auth.bootstrapAdmin.password", "must be at least 12 characters when bootstrapAdmin.email is set")
	}
	r := s.RateLimit
	errs.Check(r.LoginPerAccount >= 1, "spec.rateLimit.loginPerAccount", "must be at least 1")
	errs.Check(r.LoginPerIP >= 1, "spec.rateLimit.loginPerIP", "must be at least 1")
	errs.Check(r.LoginWindow >= time.Second, "spec.rateLimit.loginWindow", "must be at least 1s")
	errs.Check(r.RegisterPerIP >= 1, "spec.rateLimit.registerPerIP", "must be at least 1")
	errs.Check(r.RegisterWindow >= time.Second, "spec.rateLimit.registerWindow", "must be at least 1s")
	errs.Check(r.OrdersPerUser >= 1, "spec.rateLimit.ordersPerUser", "must be at least 1")
	errs.Check(r.OrdersWindow >= time.Second, "spec.rateLimit.ordersWindow", "must be at least 1s")
	errs.Check(s.Orders.IdempotencyTTL >= time.Minute, "spec.orders.idempotencyTTL", "must be at least 1m")
	errs.Check(s.Orders.PendingStatusTTL >= time.Hour, "spec.orders.pendingStatusTTL", "must be at least 1h")
	errs.Check(s.Orders.IntakePipelines >= 0 && s.Orders.IntakePipelines <= 64, "spec.orders.intakePipelines", "must be between 0 and 64")
	errs.Check(s.Orders.MaxLiveStreamsPerUser >= 1 && s.Orders.MaxLiveStreamsPerUser <= 1000, "spec.orders.maxLiveStreamsPerUser", "must be between 1 and 1000")
	s.Orders.validateDurability(s.Redis.ReadTimeout, errs.Add)
	s.Payments.validate(errs.Add)
	errs.Check(s.Orders.LiveHeartbeat >= time.Second && s.Orders.LiveHeartbeat <= 5*time.Minute, "spec.orders.liveHeartbeat", "must be between 1s and 5m")
	errs.Check(s.Operations.DiscardedRetention >= time.Hour, "spec.operations.discardedRetention", "must be at least 1h")
	errs.Check(s.Operations.ControlRefresh >= 100*time.Millisecond && s.Operations.ControlRefresh <= time.Minute, "spec.operations.controlRefresh", "must be between 100ms and 1m")
	errs.Check(s.Faults.IntakeLatency >= 0 && s.Faults.IntakeLatency <= faults.MaxDelay, "spec.faults.intakeLatency",
		"must be between 0s and "+faults.MaxDelay.String())
	errs.Check(s.Faults.PaymentDeclineRatio >= 0 && s.Faults.PaymentDeclineRatio <= 1, "spec.faults.paymentDeclineRatio", "must be between 0 and 1")
	for i, o := range s.CORS.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs.Add("spec.cors.allowedOrigins["+strconv.Itoa(i)+"]", "must be an origin such as https://shop.example.com")
		}
	}
	return errs
}

func (o Orders) validateDurability(redisReadTimeout time.Duration, add func(path, msg string)) {
	if o.Durability != DurabilityNone && o.Durability != DurabilityReplica {
		add("spec.orders.durability", "must be none or replica")
	}
	if o.ReplicaTimeout < time.Millisecond || o.ReplicaTimeout > 10*time.Second {
		add("spec.orders.replicaTimeout", "must be between 1ms and 10s")
	} else if o.Durability == DurabilityReplica && 2*o.ReplicaTimeout > redisReadTimeout {
		// A pipeline cut by the read timeout is retried by the client, which
		// would run the intake script a second time.
		add("spec.orders.replicaTimeout", "must be at most half of spec.redis.readTimeout")
	}
	if o.MinReplicas < 1 {
		add("spec.orders.minReplicas", "must be at least 1")
	}
}

func (p Payments) validate(add func(path, msg string)) {
	switch p.Provider {
	case "mock":
	case "stripe":
		if !strings.HasPrefix(p.Stripe.SecretKey.Value(), "sk_") && !strings.HasPrefix(p.Stripe.SecretKey.Value(), "rk_") {
			add("spec.payments.stripe.secretKey", "must be a Stripe secret or restricted key (sk_... or rk_...); set API_PAYMENTS_STRIPE_SECRET_KEY or its _FILE")
		}
		if !strings.HasPrefix(p.Stripe.WebhookSecret.Value(), "whsec_") {
			add("spec.payments.stripe.webhookSecret", "must be the webhook endpoint's signing secret (whsec_...)")
		}
		if u, err := url.Parse(p.Stripe.BackendURL); p.Stripe.BackendURL != "" && (err != nil || u.Host == "") {
			add("spec.payments.stripe.backendURL", "must be an absolute URL or empty (Stripe's API)")
		}
	default:
		add("spec.payments.provider", "must be mock or stripe")
	}
	if p.Mock.ProcessingDelay < 0 {
		add("spec.payments.mock.processingDelay", "must not be negative")
	}
	if p.SweepInterval < 10*time.Millisecond {
		add("spec.payments.sweepInterval", "must be at least 10ms")
	}
	if p.RecheckAfter < 10*time.Millisecond {
		add("spec.payments.recheckAfter", "must be at least 10ms")
	}
}
