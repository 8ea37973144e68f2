package cmdline

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// Main is every service binary's main: run gets a context cancelled by
// SIGINT/SIGTERM (the drain signal in Kubernetes), the arguments after the
// program name and the log level it may change (hot reload); an error is
// printed as "<name>: <error>" and exits 1.
func Main(name string, run func(ctx context.Context, args []string, level *slog.LevelVar) error) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], new(slog.LevelVar)); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		stop()
		os.Exit(1)
	}
}
