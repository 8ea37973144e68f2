package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
	"github.com/goshop-platform/shop/services/api/internal/app"
	"github.com/goshop-platform/shop/services/api/internal/auth"
	"github.com/goshop-platform/shop/services/kernel/schema"
	"github.com/goshop-platform/shop/services/platform/cmdline"
	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/postgres"
	"github.com/goshop-platform/shop/services/platform/telemetry"
)

const usage = `usage: api [--config FILE] [command] [flags]

commands:
  serve          run the HTTP API (default)
  migrate        apply the embedded database migrations (idempotent)
  create-admin   --email E   create an admin; password from ADMIN_PASSWORD or stdin
  seed-demo      add a demo catalogue if there are no products yet
  gen-key        --dir D --kid K [--if-missing]   write a new ES256 signing key D/K.pem
                 (--if-missing: keep an existing D/K.pem and exit 0, for init containers)
  print-config   show the effective configuration, secrets masked
  config-schema  print the JSON Schema of the configuration document
  version        print the version

Configuration: an APIConfig document (--config or API_CONFIG), every field
overridable by environment (API_HTTP_ADDR, API_DATABASE_URL, ...; secrets
also as <VAR>_FILE). See docs/configuration.md.
`

func run(ctx context.Context, args []string, level *slog.LevelVar) error {
	inv, done, err := cmdline.Parse("api", "API", version, usage, args, os.Stdout)
	if done || err != nil {
		return err
	}
	cmd, rest, cfgPath := inv.Command, inv.Args, inv.ConfigPath
	if cmd == "gen-key" {
		return genKey(rest)
	}
	if cmd == "config-schema" {
		return apiconfig.Loader.FprintSchema(os.Stdout)
	}
	doc, err := apiconfig.Loader.Load(cfgPath)
	if err != nil {
		return err
	}
	log := telemetry.Setup("api", doc.Spec.Telemetry.LogLevel, level)
	switch cmd {
	case "serve":
		return serve(ctx, cfgPath, doc, log, level)
	case "migrate":
		return migrate(ctx, doc, log)
	case "create-admin":
		return createAdmin(ctx, doc, log, rest)
	case "seed-demo":
		return seedDemo(ctx, doc, log)
	case "print-config":
		return config.Fprint(os.Stdout, doc)
	default:
		return cmdline.Unknown(cmd, usage)
	}
}

func serve(ctx context.Context, path string, doc *config.Document[apiconfig.Spec], log *slog.Logger, level *slog.LevelVar) error {
	log.Info("starting api", "version", version, "gomaxprocs", runtime.GOMAXPROCS(0))
	shutdown, err := telemetry.StartTracing(ctx, "api", version, doc.Spec.Telemetry)
	if err != nil {
		return err
	}
	defer shutdown(context.WithoutCancel(ctx)) //nolint:errcheck
	a, err := app.New(ctx, doc, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.BootstrapAdmin(ctx, doc.Spec.Auth.BootstrapAdmin); err != nil {
		log.Warn("bootstrap admin not created yet", "err", err)
	}
	go func() {
		// Only the log level and the fault-injection flags are safe to change
		// while running; everything else is read once and needs a restart
		// (the chart rolls pods on change).
		_ = apiconfig.Loader.Watch(ctx, path, log, func(d *config.Document[apiconfig.Spec]) {
			telemetry.Reload(log, level, d.Spec.Telemetry.LogLevel)
			if err := a.ApplyFaults(d.Spec.Faults); err != nil {
				log.Error("fault-injection flags not applied", "err", err)
			}
		})
	}()
	return a.Run(ctx)
}

func migrate(ctx context.Context, doc *config.Document[apiconfig.Spec], log *slog.Logger) error {
	pool, err := postgres.Open(ctx, doc.Spec.Database)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := schema.Migrate(ctx, pool)
	if err != nil {
		return fmt.Errorf("%w (check spec.database.url / API_DATABASE_URL and that PostgreSQL is running)", err)
	}
	log.Info("migrations applied", "applied", applied, "count", len(applied))
	return nil
}

func createAdmin(ctx context.Context, doc *config.Document[apiconfig.Spec], log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("create-admin", flag.ContinueOnError)
	email := fs.String("email", "", "admin email")
	if err := fs.Parse(args); err != nil {
		return err
	}
	password := os.Getenv("ADMIN_PASSWORD")
	if password == "" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 1024))
		if err != nil {
			return err
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	if *email == "" || len(password) < 12 {
		return errors.New("create-admin needs --email and a password of at least 12 characters in ADMIN_PASSWORD or on stdin")
	}
	a, err := app.New(ctx, doc, log)
	if err != nil {
		return err
	}
	defer a.Close()
	created, err := a.Auth.EnsureAdmin(ctx, *email, password)
	if err != nil {
		return err
	}
	log.Info("create-admin", "email", *email, "created", created)
	return nil
}

func genKey(args []string) error {
	fs := flag.NewFlagSet("gen-key", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory for the key file")
	kid := fs.String("kid", "", "key id (file name stem)")
	ifMissing := fs.Bool("if-missing", false, "keep an existing key file and succeed (docker-compose init step)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *kid == "" || strings.ContainsAny(*kid, `/\ `) {
		return errors.New("gen-key needs --dir and a --kid without slashes or spaces")
	}
	path := filepath.Join(*dir, *kid+".pem")
	if *ifMissing {
		// The compose stack runs this on every start from an image without a
		// shell, so "create unless present" has to live here.
		if _, err := os.Stat(path); err == nil {
			fmt.Println(path)
			return nil
		}
	}
	pemBytes, err := auth.GenerateKeyPEM()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if *ifMissing && errors.Is(err, os.ErrExist) {
		fmt.Println(path) // another run made it in between
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w (refusing to overwrite an existing key)", err)
	}
	defer f.Close()
	if _, err := f.Write(pemBytes); err != nil {
		return err
	}
	fmt.Println(path)
	return nil
}
