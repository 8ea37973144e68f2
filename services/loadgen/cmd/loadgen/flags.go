package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/goshop-platform/shop/services/loadgen/scenario"
)

const usage = `usage: loadgen <command> [flags]

commands:
  run        send shop traffic to a running stack and print a summary per request kind
  register   --customers N [--api URL] [--out FILE]   register customers once, write email:password lines
  help       this text
  version    print the version

run flags:
  --api URL            api base URL (default http://127.0.0.1:8080)
  --directus URL       Directus base URL for browse (default http://127.0.0.1:8055)
  --rate N/UNIT        open model: fixed arrival rate, e.g. 200/s, 3000/1m, 50/100ms (default 50/s)
  --users N            closed model instead: N users, each waiting for its answer plus --think
  --think D            closed model: mean think time between a user's requests, uniform ±50% (default 1s)
  --duration D         how long to send (default 30s)
  --mix LIST           weighted request kinds (default browse=60,checkout=25,status=10,login=5):
                         browse    GET Directus /items/products (active products, random page)
                         login     POST /api/v1/auth/login of a random customer
                         checkout  POST /api/v1/orders, 1..--max-lines lines, with an Idempotency-Key
                         status    GET /api/v1/orders/{id} of one of the customer's recent orders
  --follow MODE        follow every accepted order to its final status: poll, live (SSE) or none (default poll);
                       gives the end-to-end latency 202 → confirmed/failed
  --poll-interval D    time between polls of one order (default 50ms)
  --drain D            after sending, wait this long for followed orders to be decided (default 30s)
  --customers N        register N new customers at start (default 10 unless --users-file is given)
  --users-file FILE    log in existing customers: one email:password a line (see 'loadgen register')
  --products IDS       comma-separated product ids to order (default: every active product of the api)
  --hot-product ID     the hot SKU (default: the first product)
  --hot-fraction F     share of order lines that hit the hot product, 0..1 (default 0.2)
  --max-lines N        lines per order are 1..N (default 5)
  --browse-limit N     products per catalogue page (default 20)
  --timeout D          per request (default 10s)
  --workers N          open model: initial senders (default 16)
  --max-workers N      open model: cap on requests in flight (default 1024)
  --json FILE          also write the summary as JSON
  --quiet              no progress line every second

The api's rate limits shape what a run can do: registrations per address
(API_RATE_LIMIT_REGISTER_PER_IP, default 10/h), logins (API_RATE_LIMIT_LOGIN_PER_IP,
API_RATE_LIMIT_LOGIN_PER_ACCOUNT), orders per user (API_RATE_LIMIT_ORDERS_PER_USER,
default 60/min) and live streams per user (API_ORDERS_MAX_LIVE_STREAMS_PER_USER).

Exit status: 0 the run finished (errors are in the summary), 1 it could not run, 2 bad command line.
`

// runOpts are the run flags that need parsing after the flag package.
type runOpts struct {
	rate, mix, follow, usersFile, products, jsonPath string
	customers                                        int
	quiet                                            bool
}

// runFlagSet defines the flags of `loadgen run` on cfg and o.
func runFlagSet(cfg *scenario.Config, o *runOpts) *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.APIURL, "api", cfg.APIURL, "")
	fs.StringVar(&cfg.DirectusURL, "directus", cfg.DirectusURL, "")
	fs.StringVar(&o.rate, "rate", "50/s", "")
	fs.IntVar(&cfg.Users, "users", 0, "")
	fs.DurationVar(&cfg.Think, "think", cfg.Think, "")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "")
	fs.StringVar(&o.mix, "mix", cfg.Mix.String(), "")
	fs.StringVar(&o.follow, "follow", string(cfg.Follow), "")
	fs.DurationVar(&cfg.PollInterval, "poll-interval", cfg.PollInterval, "")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "")
	fs.IntVar(&o.customers, "customers", -1, "")
	fs.StringVar(&o.usersFile, "users-file", "", "")
	fs.StringVar(&o.products, "products", "", "")
	fs.Int64Var(&cfg.HotProduct, "hot-product", 0, "")
	fs.Float64Var(&cfg.HotFraction, "hot-fraction", cfg.HotFraction, "")
	fs.IntVar(&cfg.MaxLines, "max-lines", cfg.MaxLines, "")
	fs.IntVar(&cfg.BrowseLimit, "browse-limit", cfg.BrowseLimit, "")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "")
	fs.Uint64Var(&cfg.Workers, "workers", cfg.Workers, "")
	fs.Uint64Var(&cfg.MaxWorkers, "max-workers", cfg.MaxWorkers, "")
	fs.StringVar(&o.jsonPath, "json", "", "")
	fs.BoolVar(&o.quiet, "quiet", false, "")
	return fs
}

// runFlags parses the flags of `loadgen run` into a scenario config.
func runFlags(args []string) (cfg scenario.Config, o runOpts, err error) {
	cfg = scenario.Defaults()
	fs := runFlagSet(&cfg, &o)
	if err = fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, o, err
		}
		return cfg, o, usageError{err}
	}
	if fs.NArg() > 0 {
		return cfg, o, usagef("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["rate"] && set["users"] {
		return cfg, o, usagef("--rate (open model) and --users (closed model) exclude each other")
	}
	if cfg.Rate, err = scenario.ParseRate(o.rate); err != nil {
		return cfg, o, usagef("--rate: %v", err)
	}
	if cfg.Mix, err = scenario.ParseMix(o.mix); err != nil {
		return cfg, o, usagef("--mix: %v", err)
	}
	cfg.Follow = scenario.Follow(o.follow)
	if cfg.Products, err = parseIDs(o.products); err != nil {
		return cfg, o, usagef("--products: %v", err)
	}
	if o.usersFile != "" {
		if cfg.Accounts, err = scenario.ReadUsersFile(o.usersFile); err != nil {
			return cfg, o, usagef("--users-file: %v", err)
		}
	}
	cfg.Customers = o.customers
	if o.customers < 0 { // not given
		cfg.Customers = 10
		if o.usersFile != "" {
			cfg.Customers = 0
		}
	}
	if err = cfg.Validate(); err != nil {
		return cfg, o, usageError{err}
	}
	return cfg, o, nil
}

func parseIDs(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	var ids []int64
	for part := range strings.SplitSeq(s, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
		if err != nil || id < 1 {
			return nil, fmt.Errorf("%q is not a product id", part)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, o, err := runFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if err != nil {
		return err
	}
	if !o.quiet {
		cfg.Progress = stderr
	}
	s, err := scenario.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := s.WriteTable(stdout); err != nil {
		return err
	}
	if o.jsonPath != "" {
		return s.WriteJSONFile(o.jsonPath)
	}
	return nil
}

func registerCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("register", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	apiURL := fs.String("api", scenario.Defaults().APIURL, "")
	n := fs.Int("customers", 0, "")
	out := fs.String("out", "", "")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *n < 1 {
		return usagef("register: --customers N (N ≥ 1) is required")
	}
	accounts, err := scenario.RegisterCustomers(ctx, *apiURL, *n)
	if err != nil {
		return err
	}
	if *out == "" {
		return scenario.WriteUsers(stdout, accounts)
	}
	f, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if err := scenario.WriteUsers(f, accounts); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
