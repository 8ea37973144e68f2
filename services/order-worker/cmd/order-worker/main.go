// Command order-worker consumes the new_orders stream and decides each
// order (confirmed or failed) in one PostgreSQL transaction. Subcommands:
// serve (default), dlq list, dlq replay, print-config. Run `order-worker help`.
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
		fmt.Fprintln(os.Stderr, "order-worker:", err)
		stop()
		os.Exit(1)
	}
}
