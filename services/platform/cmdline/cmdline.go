// Package cmdline parses the command line that every service binary
// shares — `NAME [--config FILE] [command] [args...]`, with the config path
// defaulting to <PREFIX>_CONFIG and the command to "serve" — and answers
// `help` and `version` itself.
package cmdline

import (
	"flag"
	"fmt"
	"io"
	"os"
)

// Invocation is a parsed command line.
type Invocation struct {
	ConfigPath string
	Command    string
	Args       []string
}

// Parse reads args (without the program name). done is true when it
// answered help or version on out and the program should exit 0.
func Parse(name, envPrefix, version, usage string, args []string, out io.Writer) (inv Invocation, done bool, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := fs.String("config", os.Getenv(envPrefix+"_CONFIG"), "configuration document (YAML)")
	if err := fs.Parse(args); err != nil {
		return inv, false, fmt.Errorf("%w\n%s", err, usage)
	}
	inv = Invocation{ConfigPath: *cfg, Command: "serve", Args: fs.Args()}
	if len(inv.Args) > 0 {
		inv.Command, inv.Args = inv.Args[0], inv.Args[1:]
	}
	switch inv.Command {
	case "help", "-h", "--help":
		fmt.Fprint(out, usage)
		return inv, true, nil
	case "version":
		fmt.Fprintln(out, version)
		return inv, true, nil
	}
	return inv, false, nil
}

// Unknown is the error for a command the binary does not have.
func Unknown(cmd, usage string) error { return fmt.Errorf("unknown command %q\n%s", cmd, usage) }
