// Package app wires catalog-sync from its configuration: the Postgres
// pool, the Directus client, the outbox relay, the periodic reconcile and
// the admin HTTP server (/livez, /readyz, /metrics). cmd/catalog-sync and
// the tests build the service through here.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/n8n"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/reconcile"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/relay"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/syncconfig"
	"github.com/goshop-platform/shop/services/platform/faults"
	"github.com/goshop-platform/shop/services/platform/httpserver"
	"github.com/goshop-platform/shop/services/platform/postgres"
	"github.com/goshop-platform/shop/services/platform/telemetry"
)

// Syncer is a wired catalog-sync.
type Syncer struct {
	DB         *pgxpool.Pool
	Directus   *directus.Client
	Relay      *relay.Relay
	Reconciler *reconcile.Reconciler
	Server     *httpserver.Server
	Faults     *faults.Set // the fault-injection flags of spec.faults (ApplyFaults)
	spec       syncconfig.Spec
	log        *slog.Logger
	schemaOK   atomic.Bool
	// reconcileMu keeps the periodic and the requested reconciles apart.
	reconcileMu sync.Mutex
}

// ErrNoToken is returned when spec.directus.token is empty.
var ErrNoToken = errors.New("spec.directus.token (SYNC_DIRECTUS_TOKEN or SYNC_DIRECTUS_TOKEN_FILE) must be set to the sync identity's static Directus token")

// New builds the service; it connects lazily and reports readiness on
// /readyz (Postgres, Directus, and the schema having been ensured).
func New(ctx context.Context, spec syncconfig.Spec, log *slog.Logger) (*Syncer, error) {
	if spec.Directus.Token == "" {
		return nil, ErrNoToken
	}
	db, err := postgres.Open(ctx, spec.Database)
	if err != nil {
		return nil, err
	}
	metrics := telemetry.NewMetrics()
	dc := directus.New(spec.Directus.URL, spec.Directus.Token.Value(), spec.Directus.Timeout)
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shop_catalog_target_requests_total",
		Help: "HTTP requests catalog-sync sent to Directus or to the n8n webhook (relay, reconcile, pings), by target and method.",
	}, []string{"target", "method"})
	metrics.Registry.MustRegister(requests)
	dc.CountRequests(requests.MustCurryWith(prometheus.Labels{"target": "directus"}))
	bulk := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "shop_catalog_directus_bulk_write",
		Help: "1 while the relay writes batches through the goshop-catalog Directus extension (one statement per batch), 0 while it uses the REST batch write.",
	})
	metrics.Registry.MustRegister(bulk)
	dc.ReportBulk(bulk)
	if spec.Directus.BulkWrite == syncconfig.BulkOff {
		dc.DisableBulk()
	}
	s := &Syncer{DB: db, Directus: dc, spec: spec, log: log}
	// The relay pushes to Directus directly, or through the n8n workflow;
	// the reconcile always reads and fixes Directus directly.
	var target relay.Target = dc
	if spec.Target == syncconfig.TargetN8N {
		nc, err := n8n.New(spec.N8N.WebhookURL, spec.N8N.Timeout, spec.Directus.URL, spec.Directus.Token.Value(), dc)
		if err != nil {
			db.Close()
			return nil, err
		}
		nc.CountRequests(requests.MustCurryWith(prometheus.Labels{"target": "n8n"}))
		target = nc
	}
	s.Faults, err = faults.New(ctx, "catalog-sync", []faults.Flag{
		{Name: FlagTargetFailureRatio, Field: "spec.faults.targetFailureRatio", Kind: faults.Ratio},
	}, metrics.Registry, log)
	if err == nil {
		err = s.ApplyFaults(spec.Faults)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	target = faultyTarget{Target: target, failure: s.Faults.Ratio(FlagTargetFailureRatio)}
	r := spec.Relay
	s.Relay = relay.New(db, target, relay.Config{BatchSize: r.BatchSize, FlushInterval: r.FlushInterval, Concurrency: r.Concurrency, PollInterval: r.PollInterval,
		RetryInitial: r.RetryInitial, RetryMax: r.RetryMax, MaxAttempts: r.MaxAttempts},
		log.With("component", "relay"), relay.NewMetrics(metrics.Registry))
	s.Reconciler = &reconcile.Reconciler{DB: db, Target: dc, PageSize: spec.Reconcile.PageSize,
		Metrics: reconcile.NewMetrics(metrics.Registry), Log: log.With("component", "reconcile")}
	s.Server = httpserver.New(spec.HTTP, log, metrics,
		httpserver.Check{Name: "postgres", Func: func(ctx context.Context) error { return db.Ping(ctx) }},
		httpserver.Check{Name: "directus", Func: dc.Ping},
		httpserver.Check{Name: "directus-schema", Func: func(context.Context) error {
			if !s.schemaOK.Load() {
				return errors.New("products schema not ensured yet")
			}
			return nil
		}},
	)
	return s, nil
}

// EnsureSchema applies the Directus schema once and logs what changed.
// With spec.directus.adminToken it does so as that admin and also ensures
// the service identity whose token is spec.directus.token; without, the
// service token itself must be allowed to manage the schema.
func (s *Syncer) EnsureSchema(ctx context.Context) error {
	c := s.Directus
	d := s.spec.Directus
	if d.AdminToken != "" {
		c = directus.New(d.URL, d.AdminToken.Value(), d.Timeout)
	}
	rep, err := c.EnsureSchema(ctx)
	if err != nil {
		return err
	}
	if d.AdminToken != "" {
		changed, err := c.EnsureIdentity(ctx, d.Token.Value())
		if err != nil {
			return err
		}
		s.log.Info("directus service identity ensured", "user", directus.IdentityEmail, "policy", directus.IdentityPolicy, "changed", changed)
	}
	if s.spec.Target == syncconfig.TargetDirectus {
		bulk, err := s.Directus.BulkAvailable(ctx)
		if err != nil {
			return err
		}
		path := "REST batch write (install the goshop-catalog Directus extension for one statement per batch: docs/catalog-sync.md)"
		if bulk {
			path = "goshop-catalog extension (one statement per batch)"
		}
		s.log.Info("directus write path", "bulk_write", s.spec.Directus.BulkWrite, "path", path)
	}
	s.log.Info("directus schema ensured", "changed", rep.Changed(), "created_collection", rep.CreatedCollection,
		"created_fields", rep.CreatedFields, "granted_public_read", rep.PublicRead, "removed_public", rep.RemovedPublic,
		"accountability_switched_off", rep.NoAccountability)
	s.schemaOK.Store(true)
	return nil
}

// Run serves the admin endpoints, ensures the schema (retrying while
// Directus is away), then relays and reconciles until ctx ends. On ctx end
// the relay finishes its batch, /readyz turns unready and the server drains.
func (s *Syncer) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	wg.Add(1)
	go func() { defer wg.Done(); errc <- s.Server.Run(ctx) }()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if !s.ensureSchemaUntilDone(ctx) {
			return
		}
		var inner sync.WaitGroup
		inner.Add(1)
		go func() { defer inner.Done(); errc <- s.Relay.Run(ctx) }()
		inner.Add(1)
		go func() { defer inner.Done(); s.requests().Serve(ctx) }()
		if s.spec.Reconcile.Interval > 0 {
			s.reconcileLoop(ctx)
		}
		inner.Wait()
	}()
	wg.Wait()
	close(errc)
	var first error
	for err := range errc {
		if err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return fmt.Errorf("catalog-sync: %w", first)
	}
	return nil
}

func (s *Syncer) ensureSchemaUntilDone(ctx context.Context) bool {
	wait := s.spec.Relay.RetryInitial
	for {
		err := s.EnsureSchema(ctx)
		if err == nil {
			return true
		}
		s.log.Warn("directus schema not ensured, retrying", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(wait*2, s.spec.Relay.RetryMax)
	}
}

// reconcileLoop reconciles at once (catching up on whatever happened while
// catalog-sync was away) and then every interval.
func (s *Syncer) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(s.spec.Reconcile.Interval)
	defer t.Stop()
	for {
		if _, err := s.reconcile(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("reconcile failed, next at the interval", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reconcile runs one reconcile at a time: the periodic one and those admins
// ask for never overlap.
func (s *Syncer) reconcile(ctx context.Context) (reconcile.Result, error) {
	s.reconcileMu.Lock()
	defer s.reconcileMu.Unlock()
	return s.Reconciler.Run(ctx)
}

// requests serves the reconciles admins ask for through the api.
func (s *Syncer) requests() *reconcile.Requests {
	host, _ := os.Hostname()
	return &reconcile.Requests{DB: s.DB, Name: host + "-" + strconv.Itoa(os.Getpid()), Run: s.reconcile,
		Poll: time.Second, StaleAfter: 10 * time.Minute, Log: s.log.With("component", "reconcile-requests")}
}

// Close releases the pool.
func (s *Syncer) Close() {
	_ = s.Faults.Close(context.Background())
	s.DB.Close()
}
