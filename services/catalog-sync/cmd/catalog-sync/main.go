// Command catalog-sync keeps the Directus products collection equal to the
// Postgres catalogue: it relays catalog_outbox events and reconciles
// periodically. Subcommands: serve (default), reconcile, ensure-schema,
// print-config. Run `catalog-sync help`.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], new(slog.LevelVar)); err != nil {
		fmt.Fprintln(os.Stderr, "catalog-sync:", err)
		stop()
		os.Exit(1)
	}
}
