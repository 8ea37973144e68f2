package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"runtime"

	"github.com/goshop-platform/shop/services/platform/cmdline"
	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/httpserver"
	"github.com/goshop-platform/shop/services/platform/telemetry"
	"github.com/goshop-platform/shop/services/storefront/internal/frontconfig"
	"github.com/goshop-platform/shop/services/storefront/internal/spa"
	"github.com/goshop-platform/shop/services/storefront/web"
)

const usage = `usage: storefront [--config FILE] [command]

commands:
  serve          serve the shop (embedded SPA), /config.json, /livez /readyz /metrics (default)
  print-config   show the effective configuration
  config-schema  print the JSON Schema of the configuration document
  version        print the version

Configuration: a StorefrontConfig document (--config or STOREFRONT_CONFIG),
every field overridable by environment (STOREFRONT_API_URL, ...).
`

func run(ctx context.Context, args []string, level *slog.LevelVar) error {
	inv, done, err := cmdline.Parse("storefront", "STOREFRONT", version, usage, args, os.Stdout)
	if done || err != nil {
		return err
	}
	if inv.Command == "config-schema" {
		return frontconfig.Loader.FprintSchema(os.Stdout)
	}
	doc, err := frontconfig.Loader.Load(inv.ConfigPath)
	if err != nil {
		return err
	}
	switch inv.Command {
	case "serve":
		log := telemetry.Setup("storefront", doc.Spec.Telemetry.LogLevel, level)
		return serve(ctx, inv.ConfigPath, doc, log, level)
	case "print-config":
		return config.Fprint(os.Stdout, doc)
	default:
		return cmdline.Unknown(inv.Command, usage)
	}
}

// newServer wires the site into the shared HTTP skeleton.
func newServer(spec frontconfig.Spec, log *slog.Logger) (*httpserver.Server, error) {
	site, err := spa.New(web.Dist(), spa.RuntimeConfig{APIURL: spec.APIURL, DirectusURL: spec.DirectusURL, Version: version},
		spa.CSP(frontconfig.Origin(spec.APIURL), frontconfig.Origin(spec.DirectusURL), spec.ImageSources))
	if err != nil {
		return nil, err
	}
	if err := site.Built(); err != nil {
		log.Warn("serving a placeholder page; /readyz stays unready", "error", err.Error())
	}
	srv := httpserver.New(spec.HTTP, log, telemetry.NewMetrics(),
		httpserver.Check{Name: "spa", Func: func(context.Context) error { return site.Built() }})
	srv.Router.Get("/config.json", site.Config)
	srv.Router.Method(http.MethodGet, "/*", site)
	srv.Router.Method(http.MethodHead, "/*", site)
	return srv, nil
}

func serve(ctx context.Context, path string, doc *config.Document[frontconfig.Spec], log *slog.Logger, level *slog.LevelVar) error {
	log.Info("starting storefront", "version", version, "gomaxprocs", runtime.GOMAXPROCS(0),
		"api", doc.Spec.APIURL, "directus", doc.Spec.DirectusURL)
	shutdown, err := telemetry.StartTracing(ctx, "storefront", version, doc.Spec.Telemetry)
	if err != nil {
		return err
	}
	defer shutdown(context.WithoutCancel(ctx)) //nolint:errcheck
	srv, err := newServer(doc.Spec, log)
	if err != nil {
		return err
	}
	go func() {
		// Only the log level is safe to change while running.
		_ = frontconfig.Loader.Watch(ctx, path, log, func(d *config.Document[frontconfig.Spec]) {
			telemetry.Reload(log, level, d.Spec.Telemetry.LogLevel)
		})
	}()
	return srv.Run(ctx)
}
