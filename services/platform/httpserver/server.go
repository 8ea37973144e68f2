// Package httpserver is the HTTP skeleton every service shares: a chi router
// with request ids, panic recovery, tracing, RED metrics, JSON access logs,
// security headers and a body size limit; the trusted proxies whose
// X-Forwarded-For and X-Forwarded-Proto are believed (client address, and
// HSTS behind a TLS-terminating ingress); /livez, /readyz (which checks
// dependencies) and /metrics; explicit timeouts; and a graceful drain on
// shutdown in which /readyz turns unready first, in-flight requests finish,
// then connections close.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/goshop-platform/shop/services/platform/telemetry"
)

// Config is the HTTP part of every service's configuration document.
type Config struct {
	Addr              string        `json:"addr" jsonschema:"pattern=^[^:]*:[0-9]+$"`
	ReadHeaderTimeout time.Duration `json:"readHeaderTimeout"`
	ReadTimeout       time.Duration `json:"readTimeout"`
	WriteTimeout      time.Duration `json:"writeTimeout"`
	IdleTimeout       time.Duration `json:"idleTimeout"`
	// DrainDelay is how long /readyz reports unready before the listener
	// closes, so load balancers stop sending new requests first.
	DrainDelay      time.Duration `json:"drainDelay"`
	ShutdownTimeout time.Duration `json:"shutdownTimeout"`
	MaxBodyBytes    int64         `json:"maxBodyBytes" jsonschema:"minimum=1024"`
	// TrustedProxies are the CIDRs (or single addresses) of the proxies in
	// front of the service, such as a TLS-terminating ingress: only from
	// these peers are X-Forwarded-For (the client address) and
	// X-Forwarded-Proto (the scheme, and so HSTS) believed. Empty: none.
	TrustedProxies []string `json:"trustedProxies"`
}

// DefaultConfig listens on addr with conservative timeouts.
func DefaultConfig(addr string) Config {
	return Config{
		Addr: addr, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		DrainDelay: 2 * time.Second, ShutdownTimeout: 20 * time.Second, MaxBodyBytes: 1 << 20,
		TrustedProxies: []string{},
	}
}

// Validate reports bad HTTP settings with paths under prefix.
func (c Config) Validate(prefix string, add func(path, msg string)) {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		add(prefix+".addr", "must be host:port such as :8080")
	}
	for name, d := range map[string]time.Duration{"readHeaderTimeout": c.ReadHeaderTimeout, "readTimeout": c.ReadTimeout,
		"writeTimeout": c.WriteTimeout, "idleTimeout": c.IdleTimeout, "shutdownTimeout": c.ShutdownTimeout} {
		if d <= 0 {
			add(prefix+"."+name, "must be a positive duration such as 5s")
		}
	}
	if c.DrainDelay < 0 {
		add(prefix+".drainDelay", "must not be negative")
	}
	if c.MaxBodyBytes < 1024 {
		add(prefix+".maxBodyBytes", "must be at least 1024")
	}
	for i, e := range c.TrustedProxies {
		if _, err := parseProxy(e); err != nil {
			add(prefix+".trustedProxies["+strconv.Itoa(i)+"]", "must be a CIDR such as 10.0.0.0/8 or a single address")
		}
	}
}

// Server is a service's HTTP server with its probes and metrics endpoint.
type Server struct {
	Router   chi.Router
	cfg      Config
	proxies  Proxies
	log      *slog.Logger
	checks   []Check
	draining atomic.Bool
}

// New builds the router with the standard middleware and the operational
// routes; the service mounts its own routes on Router. cfg must have passed
// Validate: New panics on a trusted proxy entry that does not parse.
func New(cfg Config, log *slog.Logger, metrics *telemetry.Metrics, checks ...Check) *Server {
	proxies, err := ParseProxies(cfg.TrustedProxies)
	if err != nil {
		panic(fmt.Sprintf("httpserver.New: trustedProxies: %v (Config.Validate refuses this entry)", err))
	}
	s := &Server{Router: chi.NewRouter(), cfg: cfg, proxies: proxies, log: log, checks: checks}
	// Recover sits inside tracing, metrics and the access log so that a
	// panic is seen by all three as the 500 it becomes.
	s.Router.Use(requestContext(proxies), SecurityHeaders(proxies), metrics.Middleware, AccessLog(log), Recover(log), LimitBody(cfg.MaxBodyBytes))
	s.Router.Get("/livez", s.livez)
	s.Router.Get("/readyz", s.readyz)
	s.Router.Method(http.MethodGet, "/metrics", metrics.Handler())
	return s
}

// Proxies are the parsed trusted proxies of the configuration, for handlers
// that need the client's address (rate limits) or scheme.
func (s *Server) Proxies() Proxies { return s.proxies }

// Run serves on the configured address until ctx ends, then drains.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another process using the port?)", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on an existing listener (tests pass one on a free port).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Router,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("http server listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("draining: readyz now unready", "delay", s.cfg.DrainDelay)
	time.Sleep(s.cfg.DrainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("http shutdown did not finish within %s: %w", s.cfg.ShutdownTimeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	s.log.Info("http server stopped")
	return nil
}
