package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/app"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/syncconfig"
	"github.com/goshop-platform/shop/services/platform/cmdline"
	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/telemetry"
)

const usage = `usage: catalog-sync [--config FILE] [command]

commands:
  serve          ensure the Directus schema, relay catalog_outbox to Directus,
                 reconcile periodically, serve /livez /readyz /metrics (default)
  reconcile      compare Postgres and Directus once and fix every difference
  ensure-schema  create the Directus products collection, its missing fields
                 and the public read permission, then exit
  print-config   show the effective configuration, secrets masked
  config-schema  print the JSON Schema of the configuration document
  version        print the version

Configuration: a CatalogSyncConfig document (--config or SYNC_CONFIG),
every field overridable by environment (SYNC_DIRECTUS_TOKEN, ...).
`

func run(ctx context.Context, args []string, level *slog.LevelVar) error {
	inv, done, err := cmdline.Parse("catalog-sync", "SYNC", version, usage, args, os.Stdout)
	if done || err != nil {
		return err
	}
	cmd, cfgPath := inv.Command, inv.ConfigPath
	if cmd == "config-schema" {
		return syncconfig.Loader.FprintSchema(os.Stdout)
	}
	doc, err := syncconfig.Loader.Load(cfgPath)
	if err != nil {
		return err
	}
	log := telemetry.Setup("catalog-sync", doc.Spec.Telemetry.LogLevel, level)
	switch cmd {
	case "serve":
		return serve(ctx, cfgPath, doc, log, level)
	case "reconcile":
		s, err := app.New(ctx, doc.Spec, log)
		if err != nil {
			return err
		}
		defer s.Close()
		res, err := s.Reconciler.Run(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("products %d, missing %d, stale %d, extra %d (all fixed) in %s\n",
			res.Products, res.Missing, res.Stale, res.Extra, res.Duration.Round(1e6))
		return nil
	case "ensure-schema":
		s, err := app.New(ctx, doc.Spec, log)
		if err != nil {
			return err
		}
		defer s.Close()
		return s.EnsureSchema(ctx)
	case "print-config":
		return config.Fprint(os.Stdout, doc)
	default:
		return cmdline.Unknown(cmd, usage)
	}
}

func serve(ctx context.Context, path string, doc *config.Document[syncconfig.Spec], log *slog.Logger, level *slog.LevelVar) error {
	log.Info("starting catalog-sync", "version", version, "gomaxprocs", runtime.GOMAXPROCS(0),
		"directus", doc.Spec.Directus.URL)
	shutdown, err := telemetry.StartTracing(ctx, "catalog-sync", version, doc.Spec.Telemetry)
	if err != nil {
		return err
	}
	defer shutdown(context.WithoutCancel(ctx)) //nolint:errcheck
	s, err := app.New(ctx, doc.Spec, log)
	if err != nil {
		return err
	}
	defer s.Close()
	go func() {
		// Only the log level, the relay's flush interval and the
		// fault-injection flags are safe to change while running; the rest
		// needs a restart.
		_ = syncconfig.Loader.Watch(ctx, path, log, func(d *config.Document[syncconfig.Spec]) {
			telemetry.Reload(log, level, d.Spec.Telemetry.LogLevel)
			s.Relay.SetFlushInterval(d.Spec.Relay.FlushInterval)
			log.Info("relay flush interval set", "flush_interval", d.Spec.Relay.FlushInterval)
			if err := s.ApplyFaults(d.Spec.Faults); err != nil {
				log.Error("fault-injection flags not applied", "err", err)
			}
		})
	}()
	return s.Run(ctx)
}
