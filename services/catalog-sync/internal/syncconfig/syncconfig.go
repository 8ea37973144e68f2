// Package syncconfig is catalog-sync's configuration document
// (apiVersion shop.goshop.dev/v1alpha1, kind CatalogSyncConfig): fields,
// defaults, environment names (SYNC_*) and validation.
package syncconfig

import (
	"net/url"
	"strings"
	"time"

	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/httpserver"
	"github.com/goshop-platform/shop/services/platform/postgres"
	"github.com/goshop-platform/shop/services/platform/telemetry"
)

// Spec is catalog-sync's configuration.
type Spec struct {
	// HTTP serves only /livez, /readyz and /metrics (the admin port).
	HTTP      httpserver.Config `json:"http"`
	Telemetry telemetry.Config  `json:"telemetry"`
	Database  postgres.Config   `json:"database"`
	Directus  Directus          `json:"directus"`
	// Target is where the relay pushes events: "directus" (the Directus
	// REST API directly) or "n8n" (the webhook of the shipped n8n workflow,
	// services/catalog-sync/n8n/catalog-sync-workflow.json, which writes to
	// Directus). The reconcile talks to Directus directly in both modes.
	Target    string    `json:"target" jsonschema:"enum=directus|n8n"`
	N8N       N8N       `json:"n8n"`
	Relay     Relay     `json:"relay"`
	Reconcile Reconcile `json:"reconcile"`
	// Faults injects faults on purpose (hot-reloaded; all off by default).
	Faults Faults `json:"faults"`
}

// Faults are catalog-sync's fault-injection flags (docs/fault-injection.md),
// for exercising the relay's retries and dead events on a test stack; keep
// them 0 in production. They follow edits of the file without a restart.
type Faults struct {
	// TargetFailureRatio is the share of the relay's pushes (0..1) to
	// Directus or the n8n webhook that fail before anything is sent (flag
	// catalog-target-failure-ratio); they count as refused, are retried
	// with backoff and dead-lettered after relay.maxAttempts. The periodic
	// reconcile is not affected.
	TargetFailureRatio float64 `json:"targetFailureRatio" jsonschema:"minimum=0,maximum=1"`
}

// Directus is the target CMS.
type Directus struct {
	// URL is the Directus base URL, without a trailing slash.
	URL string `json:"url" jsonschema:"pattern=^https?://.*[^/]$"`
	// Token is the static token of catalog-sync's service identity; it must
	// be allowed to manage the products collection, its fields and the
	// public policy's permissions on it. Required by serve, reconcile and
	// ensure-schema.
	Token config.Secret `json:"token"`
	// AdminToken, optional, is a Directus admin's static token used only by
	// ensure-schema (and serve's start) to apply the schema and to create
	// or update the service identity (policy "catalog-sync" with
	// create/read/update/delete on products, user catalog-sync@example.com
	// whose static token is Token). Empty: Token itself must be allowed to
	// manage the schema, and no identity is created.
	AdminToken config.Secret `json:"adminToken"`
	// Timeout bounds each Directus request.
	Timeout time.Duration `json:"timeout"`
	// BulkWrite: "auto" writes the relay's batches through the goshop-catalog
	// Directus extension (services/catalog-sync/directus/extensions) when
	// Directus has it and the token may use it — one statement per batch —
	// and through the REST API otherwise; "off" always uses the REST API
	// (e.g. when Directus flows must see every product write).
	BulkWrite string `json:"bulkWrite" jsonschema:"enum=auto|off"`
}

// BulkWrite values.
const (
	BulkAuto = "auto"
	BulkOff  = "off"
)

// Target values.
const (
	TargetDirectus = "directus"
	TargetN8N      = "n8n"
)

// N8N is the n8n workflow the relay pushes to when Target is "n8n".
type N8N struct {
	// WebhookURL is the production URL of the workflow's Webhook node.
	WebhookURL string `json:"webhookURL" jsonschema:"pattern=^https?://"`
	// Timeout bounds each webhook call (the workflow makes up to two
	// Directus requests before answering).
	Timeout time.Duration `json:"timeout"`
}

// Relay tunes the outbox relay.
type Relay struct {
	// BatchSize is how many products one batch takes: all their pending
	// events are settled, and only each product's newest snapshot is sent,
	// all in one Directus batch write.
	BatchSize int `json:"batchSize" jsonschema:"minimum=1,maximum=1000"`
	// FlushInterval is the least time between the starts of two batches
	// while changes keep coming; after a quiet FlushInterval a change is
	// pushed at once. Longer: fewer, larger Directus writes; shorter: less
	// lag at low rates (hot-reloaded).
	FlushInterval time.Duration `json:"flushInterval"`
	// Concurrency is how many products are upserted at once when Directus
	// refuses a batch write and the relay falls back to one request per
	// product (to find the product at fault).
	Concurrency int `json:"concurrency" jsonschema:"minimum=1,maximum=64"`
	// PollInterval is the fallback when no NOTIFY arrives (and how often
	// events waiting for a retry are looked at).
	PollInterval time.Duration `json:"pollInterval"`
	// RetryInitial and RetryMax bound the exponential backoff, both for a
	// failing event and while Directus is unreachable.
	RetryInitial time.Duration `json:"retryInitial"`
	RetryMax     time.Duration `json:"retryMax"`
	// MaxAttempts: an event refused this often is dead-lettered (dead_at).
	// Directus being unreachable does not count as an attempt.
	MaxAttempts int `json:"maxAttempts" jsonschema:"minimum=1"`
}

// Reconcile tunes the full comparison of Postgres and Directus.
type Reconcile struct {
	// Interval between full reconciles in serve; 0 turns them off.
	Interval time.Duration `json:"interval"`
	// PageSize is how many products are compared and fixed per batch.
	PageSize int `json:"pageSize" jsonschema:"minimum=1,maximum=5000"`
}

// Loader reads catalog-sync's document.
var Loader = config.Loader[Spec]{
	APIVersion: "shop.goshop.dev/v1alpha1",
	Kind:       "CatalogSyncConfig",
	EnvPrefix:  "SYNC",
	Defaults:   Defaults(),
}

// Defaults are used when neither file nor environment sets a field.
func Defaults() Spec {
	return Spec{
		HTTP:      httpserver.DefaultConfig(":8082"),
		Telemetry: telemetry.DefaultConfig(),
		Database:  postgres.DefaultConfig(),
		Directus:  Directus{URL: "http://127.0.0.1:8055", Timeout: 10 * time.Second, BulkWrite: BulkAuto},
		Target:    TargetDirectus,
		N8N:       N8N{WebhookURL: "http://127.0.0.1:5678/webhook/catalog-sync", Timeout: 30 * time.Second},
		Relay: Relay{BatchSize: 500, FlushInterval: 100 * time.Millisecond, Concurrency: 8, PollInterval: 5 * time.Second, RetryInitial: 500 * time.Millisecond,
			RetryMax: time.Minute, MaxAttempts: 10},
		Reconcile: Reconcile{Interval: 10 * time.Minute, PageSize: 500},
	}
}

// Validate checks every field and names each bad one.
func (s *Spec) Validate() config.FieldErrors {
	var errs config.FieldErrors
	s.HTTP.Validate("spec.http", errs.Add)
	s.Telemetry.Validate("spec.telemetry", errs.Add)
	s.Database.Validate("spec.database", errs.Add)
	u, err := url.Parse(s.Directus.URL)
	errs.Check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.HasSuffix(s.Directus.URL, "/"),
		"spec.directus.url", "must be an http(s) base URL without a trailing slash, such as http://127.0.0.1:8055")
	errs.Check(s.Directus.Timeout >= 100*time.Millisecond, "spec.directus.timeout", "must be at least 100ms")
	errs.Check(s.Directus.BulkWrite == BulkAuto || s.Directus.BulkWrite == BulkOff, "spec.directus.bulkWrite", `must be "auto" or "off"`)
	errs.Check(s.Target == TargetDirectus || s.Target == TargetN8N, "spec.target", `must be "directus" or "n8n"`)
	if s.Target == TargetN8N {
		w, err := url.Parse(s.N8N.WebhookURL)
		errs.Check(err == nil && (w.Scheme == "http" || w.Scheme == "https") && w.Host != "",
			"spec.n8n.webhookURL", "must be the http(s) URL of the workflow's webhook, such as http://127.0.0.1:5678/webhook/catalog-sync")
		errs.Check(s.N8N.Timeout >= 100*time.Millisecond, "spec.n8n.timeout", "must be at least 100ms")
	}
	r := s.Relay
	errs.Check(r.BatchSize >= 1 && r.BatchSize <= 1000, "spec.relay.batchSize", "must be between 1 and 1000")
	errs.Check(r.FlushInterval >= 0 && r.FlushInterval <= time.Minute, "spec.relay.flushInterval", "must be between 0s and 1m")
	errs.Check(r.Concurrency >= 1 && r.Concurrency <= 64, "spec.relay.concurrency", "must be between 1 and 64")
	errs.Check(r.PollInterval >= 10*time.Millisecond, "spec.relay.pollInterval", "must be at least 10ms")
	errs.Check(r.RetryInitial > 0, "spec.relay.retryInitial", "must be a positive duration")
	errs.Check(r.RetryMax >= r.RetryInitial, "spec.relay.retryMax", "must be at least retryInitial")
	errs.Check(r.MaxAttempts >= 1, "spec.relay.maxAttempts", "must be at least 1")
	errs.Check(s.Reconcile.Interval == 0 || s.Reconcile.Interval >= time.Second, "spec.reconcile.interval", "must be 0 (off) or at least 1s")
	errs.Check(s.Reconcile.PageSize >= 1 && s.Reconcile.PageSize <= 5000, "spec.reconcile.pageSize", "must be between 1 and 5000")
	errs.Check(s.Faults.TargetFailureRatio >= 0 && s.Faults.TargetFailureRatio <= 1, "spec.faults.targetFailureRatio", "must be between 0 and 1")
	return errs
}
