// Package app wires the api service from its configuration: pools, the
// auth, product and order components, the live order status hub, the HTTP
// server with its readiness checks, and the bootstrap admin. cmd/api and
// the integration tests build the service through here, so tests exercise
// the production wiring.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/api/internal/auth"
	"github.com/goshop-platform/shop/services/api/internal/httpapi"
	"github.com/goshop-platform/shop/services/api/internal/livestatus"
	"github.com/goshop-platform/shop/services/api/internal/operations"
	"github.com/goshop-platform/shop/services/api/internal/order"
	"github.com/goshop-platform/shop/services/api/internal/payment"
	"github.com/goshop-platform/shop/services/api/internal/product"
	"github.com/goshop-platform/shop/services/api/internal/ratelimit"
	"github.com/goshop-platform/shop/services/api/openapi"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/pause"
	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/faults"
	"github.com/goshop-platform/shop/services/platform/httpserver"
	"github.com/goshop-platform/shop/services/platform/postgres"
	"github.com/goshop-platform/shop/services/platform/redisconn"
	"github.com/goshop-platform/shop/services/platform/telemetry"
)

// App is a wired api service.
type App struct {
	DB     *pgxpool.Pool
	Redis  redis.UniversalClient
	Auth   *auth.Service
	Server *httpserver.Server
	// Live holds the process's one subscription to order status events;
	// Run and Serve keep it subscribed while the server runs.
	Live *livestatus.Hub
	// Sweep settles payments and refunds a crash or a silent provider left open.
	Sweep *payment.Sweep
	// IntakePause follows the operator's intake switch while the server runs.
	IntakePause *pause.Watcher
	// CutOffs follows the session cut-offs other replicas publish.
	CutOffs *auth.CutOffs
	batcher *order.Batcher
	// Faults are the fault-injection flags of spec.faults (ApplyFaults).
	Faults *faults.Set
	log    *slog.Logger
}

// Fault-injection flags (docs/fault-injection.md).
const (
	FlagIntakeLatency       = "intake-latency"
	FlagPaymentDeclineRatio = "payment-decline-ratio"
)

// New builds the service. It does not wait for Postgres or Redis; /readyz
// reports them.
func New(ctx context.Context, doc *config.Document[apiconfig.Spec], log *slog.Logger) (*App, error) {
	spec := doc.Spec
	db, err := postgres.Open(ctx, spec.Database)
	if err != nil {
		return nil, err
	}
	rdb, err := redisconn.Open(spec.Redis)
	if err != nil {
		db.Close()
		return nil, err
	}
	a := &App{DB: db, Redis: rdb, log: log}
	if err := a.wire(ctx, doc, log); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) wire(ctx context.Context, doc *config.Document[apiconfig.Spec], log *slog.Logger) error {
	spec := doc.Spec
	metrics := telemetry.NewMetrics()
	if err := a.wireFaults(ctx, spec.Faults, metrics.Registry, log); err != nil {
		return err
	}
	keys, err := auth.LoadKeys(spec.Auth.KeysDir, spec.Auth.ActiveKeyID)
	if err != nil {
		return err
	}
	tokens := auth.NewTokens(keys, spec.Auth.Issuer, spec.Auth.Audience, spec.Auth.AccessTokenTTL)
	hasher := auth.Hasher{MemoryKiB: spec.Auth.PasswordMemoryKB, Iterations: spec.Auth.PasswordIterations}
	a.Auth, err = auth.NewService(auth.PGStore{DB: a.DB}, hasher, tokens, spec.Auth.RefreshTokenTTL)
	if err != nil {
		return err
	}
	a.Auth.SetActiveCheckTTL(spec.Auth.AccountCheckTTL)
	a.CutOffs = auth.NewCutOffs(a.Redis, spec.Auth.CutOffRefresh, spec.Auth.AccessTokenTTL, log)
	a.Auth.SetCutOffs(a.CutOffs)
	a.Auth.SetRefreshReuseGrace(spec.Auth.RefreshReuseGrace)
	spec3, err := openapi.JSON()
	if err != nil {
		return err
	}
	a.Live = livestatus.New(a.Redis, log)
	queue := order.RedisQueue{RDB: a.Redis, Keys: orderKeys(spec.Redis), IdempotencyTTL: spec.Orders.IdempotencyTTL, PendingTTL: spec.Orders.PendingStatusTTL,
		PerUserLimit: spec.RateLimit.OrdersPerUser, PerUserWindow: spec.RateLimit.OrdersWindow, Durability: durability(spec.Orders)}
	if _, clustered := a.Redis.(*redis.ClusterClient); spec.Orders.IntakePipelines > 0 && !clustered && queue.Durability.MinReplicas == 0 {
		sizes := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "shop_order_intake_pipeline_orders",
			Help:    "Orders per pipeline the intake sent to Redis (orders.intakePipelines): 1 when orders arrive one at a time, more under load.",
			Buckets: []float64{1, 2, 4, 8, 16}})
		metrics.Registry.MustRegister(sizes)
		a.batcher = order.NewBatcher(a.Redis, spec.Orders.IntakePipelines, 16, func(n int) { sizes.Observe(float64(n)) })
		queue.Batch = a.batcher
	}
	rl := spec.RateLimit
	api := &httpapi.API{
		Log: log, Auth: a.Auth, Products: product.Store{DB: a.DB},
		Intake: order.NewIntake(latentQueue{Queue: queue, latency: a.Faults.Delay(FlagIntakeLatency)}), Orders: order.Reader{Store: order.Store{DB: a.DB}, Queue: queue},
		LoginPerIP:            ratelimit.New(a.Redis, "login:ip", rl.LoginPerIP, rl.LoginWindow),
		LoginPerAcct:          ratelimit.New(a.Redis, "login:account", rl.LoginPerAccount, rl.LoginWindow),
		RegisterPerIP:         ratelimit.New(a.Redis, "register:ip", rl.RegisterPerIP, rl.RegisterWindow),
		MaxBodyBytes:          spec.HTTP.MaxBodyBytes,
		AllowedOrigins:        spec.CORS.AllowedOrigins,
		OpenAPIJSON:           spec3,
		Live:                  a.Live,
		LiveHeartbeat:         spec.Orders.LiveHeartbeat,
		MaxLiveStreamsPerUser: spec.Orders.MaxLiveStreamsPerUser,
	}
	api.RegisterMetrics(metrics.Registry)
	a.wireOperations(api, spec, metrics.Registry, log)
	if err := a.wirePayments(api, spec, metrics.Registry, log); err != nil {
		return err
	}
	a.Sweep.Service.DeclineFault = a.Faults.Ratio(FlagPaymentDeclineRatio) // the payment service wirePayments made
	a.Server = httpserver.New(spec.HTTP, log, metrics,
		httpserver.Check{Name: "postgres", Func: func(ctx context.Context) error { return a.DB.Ping(ctx) }},
		httpserver.Check{Name: "redis", Func: func(ctx context.Context) error { return a.Redis.Ping(ctx).Err() }},
	)
	// The client address for rate limits comes from the proxies the server
	// already trusts for the scheme (spec.http.trustedProxies).
	api.TrustedProxies = a.Server.Proxies()
	api.Mount(a.Server.Router)
	return nil
}

// wireOperations gives the api the admin console's service and the intake
// switch, whose state is exported as shop_order_intake_paused.
func (a *App) wireOperations(api *httpapi.API, spec apiconfig.Spec, reg prometheus.Registerer, log *slog.Logger) {
	api.Operations = &operations.Service{DB: a.DB, RDB: a.Redis, Keys: orderKeys(spec.Redis),
		Retention: spec.Operations.DiscardedRetention, Log: log.With("component", "operations"), Accounts: a.Auth}
	a.IntakePause = pause.NewWatcher(a.Redis, pause.Intake, spec.Operations.ControlRefresh, log)
	paused := prometheus.NewGauge(prometheus.GaugeOpts{Name: "shop_order_intake_paused",
		Help: "1 while an operator has paused order intake (POST /api/v1/orders answers 503), as this replica last read it."})
	reg.MustRegister(paused)
	a.IntakePause.OnChange = func(s pause.State) {
		if s.Paused {
			paused.Set(1)
		} else {
			paused.Set(0)
		}
	}
	api.IntakePause = a.IntakePause
}

// wireFaults declares the api's fault-injection flags (exported as
// shop_fault_injection_active) and sets them from the configuration.
func (a *App) wireFaults(ctx context.Context, f apiconfig.Faults, reg prometheus.Registerer, log *slog.Logger) error {
	var err error
	a.Faults, err = faults.New(ctx, "api", []faults.Flag{
		{Name: FlagIntakeLatency, Field: "spec.faults.intakeLatency", Kind: faults.Delay},
		{Name: FlagPaymentDeclineRatio, Field: "spec.faults.paymentDeclineRatio", Kind: faults.Ratio},
	}, reg, log)
	if err != nil {
		return err
	}
	return a.ApplyFaults(f)
}

// ApplyFaults sets the fault-injection flags to f (at start and on every
// configuration reload).
func (a *App) ApplyFaults(f apiconfig.Faults) error {
	return a.Faults.Update(faults.Values{FlagIntakeLatency: f.IntakeLatency, FlagPaymentDeclineRatio: f.PaymentDeclineRatio})
}

// latentQueue is the intake's queue with spec.faults.intakeLatency added
// before each order goes on the stream.
type latentQueue struct {
	order.Queue
	latency faults.DelayFlag
}

func (q latentQueue) Enqueue(ctx context.Context, msg orderstream.Message, idemKey, bodyHash string) (*order.Accepted, string, error) {
	if err := q.latency.Wait(ctx); err != nil {
		return nil, "", err
	}
	return q.Queue.Enqueue(ctx, msg, idemKey, bodyHash)
}

// BootstrapAdmin creates the configured admin account if it is missing.
func (a *App) BootstrapAdmin(ctx context.Context, b apiconfig.BootstrapAdmin) error {
	if b.Email == "" {
		return nil
	}
	created, err := a.Auth.EnsureAdmin(ctx, b.Email, b.Password.Value())
	if err != nil {
		return fmt.Errorf("bootstrap admin %s: %w", b.Email, err)
	}
	if created {
		a.log.Info("bootstrap admin created", "email", b.Email)
	}
	return nil
}

// Run serves on the configured address until ctx ends, then drains.
func (a *App) Run(ctx context.Context) error {
	return a.withLiveStatus(ctx, func() error { return a.Server.Run(ctx) })
}

// Serve is Run on an existing listener (tests pass one on a free port).
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	return a.withLiveStatus(ctx, func() error { return a.Server.Serve(ctx, ln) })
}

// withLiveStatus keeps the hub subscribed and the payment sweep running
// while serve runs. When ctx ends the hub stops first, which ends the open event streams, so the server's
// drain is not held up by them.
func (a *App) withLiveStatus(ctx context.Context, serve func() error) error {
	hubCtx, stop := context.WithCancel(ctx)
	var bg sync.WaitGroup
	bg.Go(func() { a.Live.Run(hubCtx) })
	bg.Go(func() { a.Sweep.Run(hubCtx) })
	bg.Go(func() { a.IntakePause.Run(hubCtx) })
	bg.Go(func() { a.CutOffs.Run(hubCtx) })
	err := serve()
	stop()
	bg.Wait()
	return err
}

// Close releases the pools.
func (a *App) Close() {
	if a.batcher != nil {
		a.batcher.Close()
	}
	if a.Faults != nil {
		_ = a.Faults.Close(context.Background())
	}
	a.DB.Close()
	_ = a.Redis.Close()
}

// durability is the intake's wait for Redis replicas (none: no wait).
// orderKeys is the order queue's keyspace; order-worker derives the same one.
func orderKeys(c redisconn.Config) orderstream.Keyspace {
	return orderstream.NewKeyspace(c.Partitions, c.Clustered())
}

func durability(o apiconfig.Orders) order.Durability {
	if o.Durability != apiconfig.DurabilityReplica {
		return order.Durability{}
	}
	return order.Durability{MinReplicas: o.MinReplicas, Timeout: o.ReplicaTimeout}
}
