// Command storefront serves the shop's single-page application (embedded
// Vue build), its runtime configuration and security headers. Subcommands:
// serve (default), print-config. Run `storefront help`.
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
		fmt.Fprintln(os.Stderr, "storefront:", err)
		stop()
		os.Exit(1)
	}
}
