package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"

	"github.com/goshop-platform/shop/services/kernel/deadletter"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/order-worker/internal/app"
	"github.com/goshop-platform/shop/services/order-worker/internal/workerconfig"
	"github.com/goshop-platform/shop/services/platform/cmdline"
	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/redisconn"
	"github.com/goshop-platform/shop/services/platform/telemetry"
)

const usage = `usage: order-worker [--config FILE] [command]

commands:
  serve                 consume new_orders and decide orders (default)
  dlq list [--count N]  show dead letters (new_orders:dead) with their reasons
  dlq replay [ID ...]   put dead letters back on new_orders (all when no ID is given);
                        an ID is "<partition>:<entry id>" as listed, or a bare entry id
                        (the admin console and API do the same, and discard too)
  print-config          show the effective configuration, secrets masked
  config-schema         print the JSON Schema of the configuration document
  version               print the version

Configuration: an OrderWorkerConfig document (--config or WORKER_CONFIG),
every field overridable by environment (WORKER_CONSUMER_CONCURRENCY, ...).
`

func run(ctx context.Context, args []string, level *slog.LevelVar) error {
	inv, done, err := cmdline.Parse("order-worker", "WORKER", version, usage, args, os.Stdout)
	if done || err != nil {
		return err
	}
	cmd, rest, cfgPath := inv.Command, inv.Args, inv.ConfigPath
	if cmd == "config-schema" {
		return workerconfig.Loader.FprintSchema(os.Stdout)
	}
	doc, err := workerconfig.Loader.Load(cfgPath)
	if err != nil {
		return err
	}
	log := telemetry.Setup("order-worker", doc.Spec.Telemetry.LogLevel, level)
	switch cmd {
	case "serve":
		return serve(ctx, cfgPath, doc, log, level)
	case "dlq":
		return dlq(ctx, doc.Spec, rest)
	case "print-config":
		return config.Fprint(os.Stdout, doc)
	default:
		return cmdline.Unknown(cmd, usage)
	}
}

func serve(ctx context.Context, path string, doc *config.Document[workerconfig.Spec], log *slog.Logger, level *slog.LevelVar) error {
	log.Info("starting order-worker", "version", version, "gomaxprocs", runtime.GOMAXPROCS(0),
		"concurrency", doc.Spec.Consumer.Concurrency)
	shutdown, err := telemetry.StartTracing(ctx, "order-worker", version, doc.Spec.Telemetry)
	if err != nil {
		return err
	}
	defer shutdown(context.WithoutCancel(ctx)) //nolint:errcheck
	w, err := app.New(ctx, doc.Spec, log)
	if err != nil {
		return err
	}
	defer w.Close()
	go func() {
		// Log level, concurrency and the fault-injection flags may change
		// while running; the rest needs a restart.
		_ = workerconfig.Loader.Watch(ctx, path, log, func(d *config.Document[workerconfig.Spec]) {
			telemetry.Reload(log, level, d.Spec.Telemetry.LogLevel)
			w.Consumer.SetConcurrency(d.Spec.Consumer.Concurrency)
			log.Info("concurrency set", "concurrency", d.Spec.Consumer.Concurrency)
			if err := w.ApplyFaults(d.Spec.Faults); err != nil {
				log.Error("fault-injection flags not applied", "err", err)
			}
		})
	}()
	return w.Run(ctx)
}

func dlq(ctx context.Context, spec workerconfig.Spec, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("dlq needs list or replay\n%s", usage)
	}
	rdb, err := redisconn.Open(spec.Redis)
	if err != nil {
		return err
	}
	defer rdb.Close()
	store := deadletter.Store{RDB: rdb, Keys: orderstream.NewKeyspace(spec.Redis.Partitions, spec.Redis.Clustered())}
	switch args[0] {
	case "list":
		fs := flag.NewFlagSet("dlq list", flag.ContinueOnError)
		count := fs.Int("count", 100, "how many to show")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		dead, total, err := store.List(ctx, deadletter.Filter{}, false, *count, 0)
		if err != nil {
			return err
		}
		for _, d := range dead {
			fmt.Printf("%s\tpartition=%d\t%s\torder_id=%s\t%s\n", d.Ref, d.Partition, d.Reason, d.OrderID, d.Error)
		}
		fmt.Fprintf(os.Stderr, "%d of %d dead letter(s)\n", len(dead), total)
		return nil
	case "replay":
		refs, err := store.RefsOf(ctx, args[1:])
		if err == nil && len(refs) == 0 {
			refs, err = store.Matching(ctx, deadletter.Filter{})
		}
		if err != nil {
			return err
		}
		n, err := store.Replay(ctx, refs)
		fmt.Fprintf(os.Stderr, "replayed %d dead letter(s)\n", n)
		return err
	default:
		return fmt.Errorf("unknown dlq command %q\n%s", args[0], usage)
	}
}
