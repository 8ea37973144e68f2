// Command loadgen sends realistic shop traffic (browse, login, checkout,
// order status) to a running stack and prints a summary per request kind.
// It is a thin wrapper around package scenario. Run `loadgen help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/goshop-platform/shop/services/platform/cmdline"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// run executes one command line and returns the exit status: 0 done,
// 1 the run failed, 2 the command line is wrong.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "loadgen: %v\nRun 'loadgen help' for the commands and flags.\n", err)
		return 2
	default:
		fmt.Fprintln(stderr, "loadgen:", err)
		return 1
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	inv, done, err := cmdline.Parse("loadgen", "LOADGEN", version, usage, args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if err != nil {
		// cmdline appends the whole usage text; the first line is the mistake.
		first, _, _ := strings.Cut(err.Error(), "\n")
		return usageError{errors.New(first)}
	}
	if done {
		return nil
	}
	if inv.ConfigPath != "" {
		return usagef("loadgen reads no configuration document (--config / LOADGEN_CONFIG); everything is a flag")
	}
	switch inv.Command {
	case "run":
		return runCommand(ctx, inv.Args, stdout, stderr)
	case "register":
		return registerCommand(ctx, inv.Args, stdout)
	case "serve": // cmdline's default when no command is given
		return usagef("a command is needed")
	default:
		return usageError{fmt.Errorf("unknown command %q", inv.Command)}
	}
}
