// Package workerconfig is order-worker's configuration document
// (apiVersion shop.goshop.dev/v1alpha1, kind OrderWorkerConfig): fields,
// defaults, environment names (WORKER_*) and validation.
package workerconfig

import (
	"net/mail"
	"time"

	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/faults"
	"github.com/goshop-platform/shop/services/platform/httpserver"
	"github.com/goshop-platform/shop/services/platform/postgres"
	"github.com/goshop-platform/shop/services/platform/redisconn"
	"github.com/goshop-platform/shop/services/platform/telemetry"
)

// Spec is order-worker's configuration.
type Spec struct {
	// HTTP serves only /livez, /readyz and /metrics (the admin port).
	HTTP      httpserver.Config `json:"http"`
	Telemetry telemetry.Config  `json:"telemetry"`
	Database  postgres.Config   `json:"database"`
	Redis     redisconn.Config  `json:"redis"`
	Consumer  Consumer          `json:"consumer"`
	Retry     Retry             `json:"retry"`
	Notifier  Notifier          `json:"notifier"`
	Payment   Payment           `json:"payment"`
	// Faults injects faults on purpose (hot-reloaded; all off by default).
	Faults Faults `json:"faults"`
}

// Faults are order-worker's fault-injection flags (docs/fault-injection.md),
// for exercising retries and alerts on a test stack; keep them 0 in
// production. Both follow edits of the file without a restart.
type Faults struct {
	// Slowdown is added to every order before it is decided (flag
	// worker-slowdown); below consumer.claimIdle, or other workers would
	// take the order over while it waits.
	Slowdown time.Duration `json:"slowdown"`
	// FailureRatio is the share of order attempts (0..1) that fail with a
	// transient error before touching the database (flag
	// worker-failure-ratio); they are retried like a database outage and
	// never fail an order or dead-letter it by themselves.
	FailureRatio float64 `json:"failureRatio" jsonschema:"minimum=0,maximum=1"`
}

// Payment holds the timers of the order lifecycle order-worker runs.
type Payment struct {
	// Window is how long a confirmed order may stay unpaid; then it expires
	// and its stock goes back on sale.
	Window time.Duration `json:"window"`
	// ExpiryInterval is how often due orders are looked for.
	ExpiryInterval time.Duration `json:"expiryInterval"`
	// ExpiryBatch caps the orders expired in one transaction.
	ExpiryBatch int `json:"expiryBatch" jsonschema:"minimum=1,maximum=1000"`
	// InFlightGrace: an order whose payment was sent to the provider less
	// than this long ago is not expired yet (the payment may still succeed).
	InFlightGrace time.Duration `json:"inFlightGrace"`
}

// Consumer tunes the stream consumer.
type Consumer struct {
	// Name identifies this replica in the consumer group; empty means the
	// host name (the pod name in Kubernetes).
	Name string `json:"name"`
	// Concurrency is how many orders are in flight at once (hot-reloaded);
	// it must exceed Transactions for orders to share transactions.
	Concurrency int `json:"concurrency" jsonschema:"minimum=1,maximum=1024"`
	// Transactions is how many order transactions run at once (each holds
	// one database connection).
	Transactions int `json:"transactions" jsonschema:"minimum=1"`
	// MaxOrdersPerTransaction caps how many waiting orders one transaction
	// decides together (group commit); 1 turns batching off.
	MaxOrdersPerTransaction int `json:"maxOrdersPerTransaction" jsonschema:"minimum=1,maximum=1000"`
	// TransactionTimeout bounds each order transaction: a database that
	// stops answering without closing its connections (a frozen primary, a
	// machine gone behind a switch) fails the transaction after this long,
	// and the retry goes to a new connection, i.e. to the promoted standby.
	TransactionTimeout time.Duration `json:"transactionTimeout"`
	// BatchSize is how many entries one XREADGROUP/XAUTOCLAIM fetches.
	BatchSize int           `json:"batchSize" jsonschema:"minimum=1,maximum=1000"`
	Block     time.Duration `json:"block"`
	// ClaimIdle is how long an entry must sit unacknowledged with another
	// consumer before this one takes it over (that consumer is presumed dead).
	ClaimIdle     time.Duration `json:"claimIdle"`
	ClaimInterval time.Duration `json:"claimInterval"`
	// MaxDeliveries: an entry delivered more often goes to the dead letters.
	MaxDeliveries int `json:"maxDeliveries" jsonschema:"minimum=1"`
	// ConsumerGCAfter removes group consumers idle this long with nothing pending.
	ConsumerGCAfter time.Duration `json:"consumerGCAfter"`
	// DrainTimeout bounds how long in-flight orders may finish after SIGTERM;
	// the chart's terminationGracePeriodSeconds must exceed it.
	DrainTimeout time.Duration `json:"drainTimeout"`
}

// Retry is the backoff for transient failures (database away, deadlocks).
type Retry struct {
	Initial time.Duration `json:"initial"`
	Max     time.Duration `json:"max"`
}

// Notifier sends customers their order result besides the live status.
type Notifier struct {
	Kind string `json:"kind" jsonschema:"enum=none|log|smtp"`
	SMTP SMTP   `json:"smtp"`
	// Interval is how often the timeline is read for events to tell.
	Interval time.Duration `json:"interval"`
}

// SMTP is the mail relay for Kind smtp.
type SMTP struct {
	Addr     string        `json:"addr"`
	From     string        `json:"from"`
	Username string        `json:"username"`
	Password config.Secret `json:"password"`
}

// Loader reads order-worker's document.
var Loader = config.Loader[Spec]{
	APIVersion: "shop.goshop.dev/v1alpha1",
	Kind:       "OrderWorkerConfig",
	EnvPrefix:  "WORKER",
	Defaults:   Defaults(),
}

// Defaults are used when neither file nor environment sets a field.
func Defaults() Spec {
	return Spec{
		HTTP:      httpserver.DefaultConfig(":8081"),
		Telemetry: telemetry.DefaultConfig(),
		Database:  postgres.DefaultConfig(),
		Redis:     redisconn.DefaultConfig(),
		Consumer: Consumer{Concurrency: 64, Transactions: 4, MaxOrdersPerTransaction: 32, TransactionTimeout: 10 * time.Second, BatchSize: 32, Block: 2 * time.Second, ClaimIdle: 30 * time.Second,
			ClaimInterval: 5 * time.Second, MaxDeliveries: 5, ConsumerGCAfter: time.Hour, DrainTimeout: 20 * time.Second},
		Retry:    Retry{Initial: 100 * time.Millisecond, Max: 5 * time.Second},
		Notifier: Notifier{Kind: "log", SMTP: SMTP{Addr: "127.0.0.1:25", From: "shop@localhost"}, Interval: time.Second},
		Payment:  Payment{Window: 15 * time.Minute, ExpiryInterval: 5 * time.Second, ExpiryBatch: 100, InFlightGrace: 5 * time.Minute},
	}
}

// Validate checks every field and names each bad one.
func (s *Spec) Validate() config.FieldErrors {
	var errs config.FieldErrors
	s.HTTP.Validate("spec.http", errs.Add)
	s.Telemetry.Validate("spec.telemetry", errs.Add)
	s.Database.Validate("spec.database", errs.Add)
	s.Redis.Validate("spec.redis", errs.Add)
	// Each partition's reader holds a pooled connection in a blocking read.
	errs.Check(s.Redis.PoolSize > s.Redis.Partitions+2, "spec.redis.poolSize",
		"must exceed spec.redis.partitions + 2: every partition's reader holds one connection while it waits")
	c := s.Consumer
	errs.Check(c.Concurrency >= 1 && c.Concurrency <= 1024, "spec.consumer.concurrency", "must be between 1 and 1024")
	errs.Check(c.Transactions >= 1 && c.Transactions < int(s.Database.MaxConns), "spec.consumer.transactions",
		"must be at least 1 and below spec.database.maxConns (status reads and dead letters need a connection too)")
	errs.Check(c.MaxOrdersPerTransaction >= 1 && c.MaxOrdersPerTransaction <= 1000, "spec.consumer.maxOrdersPerTransaction", "must be between 1 and 1000")
	errs.Check(c.TransactionTimeout >= 100*time.Millisecond, "spec.consumer.transactionTimeout", "must be at least 100ms")
	errs.Check(c.BatchSize >= 1 && c.BatchSize <= 1000, "spec.consumer.batchSize", "must be between 1 and 1000")
	errs.Check(c.Block >= 10*time.Millisecond, "spec.consumer.block", "must be at least 10ms")
	errs.Check(c.ClaimIdle >= time.Second, "spec.consumer.claimIdle", "must be at least 1s")
	errs.Check(c.ClaimInterval >= 100*time.Millisecond, "spec.consumer.claimInterval", "must be at least 100ms")
	errs.Check(c.MaxDeliveries >= 1, "spec.consumer.maxDeliveries", "must be at least 1")
	errs.Check(c.ConsumerGCAfter >= c.ClaimIdle, "spec.consumer.consumerGCAfter", "must be at least claimIdle")
	errs.Check(c.DrainTimeout >= time.Second, "spec.consumer.drainTimeout", "must be at least 1s")
	errs.Check(s.Retry.Initial > 0 && s.Retry.Max >= s.Retry.Initial, "spec.retry", "initial must be positive and max at least initial")
	errs.Check(s.Notifier.Interval >= 10*time.Millisecond, "spec.notifier.interval", "must be at least 10ms")
	p := s.Payment
	errs.Check(p.Window >= time.Second, "spec.payment.window", "must be at least 1s")
	errs.Check(p.ExpiryInterval >= 10*time.Millisecond, "spec.payment.expiryInterval", "must be at least 10ms")
	errs.Check(p.ExpiryBatch >= 1 && p.ExpiryBatch <= 1000, "spec.payment.expiryBatch", "must be between 1 and 1000")
	errs.Check(p.InFlightGrace >= 0, "spec.payment.inFlightGrace", "must not be negative")
	f := s.Faults
	errs.Check(f.Slowdown >= 0 && f.Slowdown <= faults.MaxDelay && f.Slowdown < c.ClaimIdle, "spec.faults.slowdown",
		"must be between 0s and "+faults.MaxDelay.String()+" and below spec.consumer.claimIdle")
	errs.Check(f.FailureRatio >= 0 && f.FailureRatio <= 1, "spec.faults.failureRatio", "must be between 0 and 1")
	switch s.Notifier.Kind {
	case "none", "log":
	case "smtp":
		errs.Check(s.Notifier.SMTP.Addr != "", "spec.notifier.smtp.addr", "must be host:port of the mail relay")
		if _, err := mail.ParseAddress(s.Notifier.SMTP.From); err != nil {
			errs.Add("spec.notifier.smtp.from", "must be an email address")
		}
	default:
		errs.Add("spec.notifier.kind", "must be none, log or smtp")
	}
	return errs
}
