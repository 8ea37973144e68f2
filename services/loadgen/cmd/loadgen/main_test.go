package main

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"

	"github.com/goshop-platform/shop/services/loadgen/scenario"
)

// Bad command lines exit 2 with a message that names the mistake; nothing
// is sent (the api URL points nowhere, so a run would fail with exit 1).
func TestBadCommandLinesExit2(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{}, "a command is needed"},
		{[]string{"attack"}, `unknown command "attack"`},
		{[]string{"run", "--mix", "browse=60,shop=5"}, `unknown request kind "shop" in the mix (known: browse, login, checkout, status)`},
		{[]string{"run", "--mix", "browse=sixty"}, `weight "sixty" of browse is not a whole number`},
		{[]string{"run", "--mix", "browse=0"}, "no kind with a weight above 0"},
		{[]string{"run", "--rate", "fast"}, `invalid rate "fast": want N/s`},
		{[]string{"run", "--rate", "100/lightyear"}, `invalid rate "100/lightyear"`},
		{[]string{"run", "--rate", "0/s"}, `invalid rate "0/s"`},
		{[]string{"run", "--rate", "10/s", "--users", "5"}, "exclude each other"},
		{[]string{"run", "--follow", "smoke"}, `unknown follow mode "smoke"`},
		{[]string{"run", "--hot-fraction", "1.5"}, "hot fraction 1.5 is not between 0 and 1"},
		{[]string{"run", "--products", "1,x"}, `--products: "x" is not a product id`},
		{[]string{"run", "--users-file", "/nonexistent/users.txt"}, "--users-file"},
		{[]string{"run", "--speed", "9"}, "flag provided but not defined: -speed"},
		{[]string{"run", "extra"}, `unexpected argument "extra"`},
		{[]string{"register"}, "--customers N (N ≥ 1) is required"},
		{[]string{"--config", "x.yaml", "run"}, "reads no configuration document"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(context.Background(), append(c.args, "--api", "http://127.0.0.1:1")[:len(c.args)], &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q", c.args, code, errb.String(), c.want)
		}
		if out.Len() != 0 {
			t.Errorf("%q printed to stdout: %q", c.args, out.String())
		}
	}
}

// The help text documents every flag of run, and help exits 0.
func TestHelpDocumentsEveryFlag(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"run", "--help"}} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 0 || out.String() != usage {
			t.Fatalf("%q: exit %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
		}
	}
	cfg := scenario.Defaults()
	runFlagSet(&cfg, &runOpts{}).VisitAll(func(f *flag.Flag) {
		if !strings.Contains(usage, "  --"+f.Name+" ") {
			t.Errorf("flag --%s is not in the help text", f.Name)
		}
	})
}

func TestDefaultsGiveTheDocumentedRun(t *testing.T) {
	cfg, o, err := runFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rate.Freq != 50 || cfg.Users != 0 || cfg.Customers != 10 || cfg.Mix.String() != "browse=60,checkout=25,status=10,login=5" ||
		cfg.Follow != scenario.FollowPoll || o.quiet {
		t.Fatalf("defaults: %+v %+v", cfg, o)
	}
	cfg, _, err = runFlags([]string{"--users", "7", "--think", "250ms", "--products", "3,4", "--customers", "2"})
	if err != nil || cfg.Users != 7 || cfg.Think.String() != "250ms" || len(cfg.Products) != 2 || cfg.Products[1] != 4 || cfg.Customers != 2 {
		t.Fatalf("closed model flags: %+v, %v", cfg, err)
	}
}
