// Command devrunner is the entrypoint and the `tar` of the shop's Tilt dev
// images (see package devrunner):
//
//	devrunner run [--live DIR] [--grace 10s] -- PROGRAM [ARGS...]   (PROGRAM may use $VARS)
//	tar -C DIR -x -f -      (devrunner installed as /usr/local/bin/tar)
//	rm -rf PATH...          (devrunner installed as /usr/local/bin/rm)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/goshop-platform/shop/tilt/internal/devrunner"
)

const usage = `usage:
  devrunner run [--live DIR] [--grace DURATION] -- PROGRAM [ARGS...]
  devrunner tar -C DIR -x -f -
  devrunner rm -rf PATH...
`

func main() {
	err := run(context.Background(), filepath.Base(os.Args[0]), os.Args[1:], os.Stdin)
	var exit *devrunner.ExitError
	switch {
	case errors.As(err, &exit):
		os.Exit(exit.Code)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

func run(ctx context.Context, name string, args []string, stdin io.Reader) error {
	switch name {
	case "tar":
		return untar(args, stdin)
	case "rm":
		return remove(args)
	}
	if len(args) == 0 {
		return fmt.Errorf("devrunner: no command\n%s", usage)
	}
	switch args[0] {
	case "run":
		return supervise(ctx, args[1:])
	case "tar":
		return untar(args[1:], stdin)
	case "rm":
		return remove(args[1:])
	}
	return fmt.Errorf("devrunner: unknown command %q\n%s", args[0], usage)
}

func supervise(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("devrunner run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	live := fs.String("live", "", "directory that receives newer builds of PROGRAM")
	grace := fs.Duration("grace", 0, "time between SIGTERM and SIGKILL on a restart (default 10s)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("devrunner run: %w\n%s", err, usage)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("devrunner run: no program\n%s", usage)
	}
	// The program may name an environment variable ("/usr/local/bin/${SHOP_SERVICE}"):
	// exec-form ENTRYPOINTs are not expanded by Docker, so one Dockerfile
	// serves every service.
	s := &devrunner.Supervisor{Program: os.ExpandEnv(fs.Arg(0)), Args: fs.Args()[1:], LiveDir: *live, Grace: *grace}
	return s.Run(ctx)
}

// untar accepts the command line Tilt sends (-C / -x -f -) and the usual
// spellings of it (-xf -, -x -C DIR -f -, -v).
func untar(args []string, stdin io.Reader) error {
	dir, file, extract := ".", "", false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			return fmt.Errorf("tar: unexpected argument %q\n%s", a, usage)
		}
		for j := 1; j < len(a); j++ {
			switch a[j] {
			case 'x':
				extract = true
			case 'v', 'p', 'o':
			case 'C', 'f':
				if i+1 >= len(args) {
					return fmt.Errorf("tar: -%c needs an argument", a[j])
				}
				i++
				if a[j] == 'C' {
					dir = args[i]
				} else {
					file = args[i]
				}
			default:
				return fmt.Errorf("tar: unsupported option -%c (only extraction: -C DIR -x -f -)", a[j])
			}
		}
	}
	if !extract {
		return errors.New("tar: only extraction (-x) is supported")
	}
	r := stdin
	if file != "" && file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("tar: %w", err)
		}
		defer f.Close()
		r = f
	}
	return devrunner.Untar(r, dir)
}

func remove(args []string) error {
	var paths []string
	for _, a := range args {
		switch {
		case a == "-rf" || a == "-fr" || a == "-r" || a == "-f" || a == "-R" || a == "--":
		case strings.HasPrefix(a, "-"):
			return fmt.Errorf("rm: unsupported option %q", a)
		default:
			paths = append(paths, a)
		}
	}
	return devrunner.RemoveAll(paths)
}
