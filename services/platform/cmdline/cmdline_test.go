package cmdline_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/goshop-platform/shop/services/platform/cmdline"
)

func TestParse(t *testing.T) {
	t.Setenv("SVC_CONFIG", "/etc/svc.yaml")
	cases := []struct {
		args             []string
		cfg, cmd, rest   string
		done             bool
		out, errContains string
	}{
		{args: nil, cfg: "/etc/svc.yaml", cmd: "serve"},
		{args: []string{"--config", "x.yaml", "dlq", "list", "--count", "3"}, cfg: "x.yaml", cmd: "dlq", rest: "list --count 3"},
		{args: []string{"help"}, cmd: "help", done: true, out: "usage"},
		{args: []string{"version"}, cmd: "version", done: true, out: "v1.2.3\n"},
		{args: []string{"--bogus"}, errContains: "flag provided but not defined: -bogus"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		inv, done, err := cmdline.Parse("svc", "SVC", "v1.2.3", "usage text", c.args, &out)
		if c.errContains != "" {
			if err == nil || !strings.Contains(err.Error(), c.errContains) || !strings.Contains(err.Error(), "usage text") {
				t.Fatalf("%v: err %v", c.args, err)
			}
			continue
		}
		if err != nil || done != c.done || inv.Command != c.cmd || (c.cfg != "" && inv.ConfigPath != c.cfg) ||
			strings.Join(inv.Args, " ") != c.rest || !strings.Contains(out.String(), c.out) {
			t.Fatalf("%v: %+v done=%v err=%v out=%q", c.args, inv, done, err, out.String())
		}
	}
}
