// Command api is the shop's public HTTP API: auth, products, order intake
// and order status. Subcommands: serve (default), migrate, create-admin,
// seed-demo, gen-key, print-config. Run `api help` for usage.
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
	level := new(slog.LevelVar)
	if err := run(ctx, os.Args[1:], level); err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		stop()
		os.Exit(1)
	}
}
