package testenv_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// scripts/install-system-packages.sh installs the packages the servers of
// testenv (and make dev, make test, CI) come from. Here it runs with a PATH
// of stubs: which commands exist is up to each case, apt-get, sudo and
// service only record how they were called. The real apt path runs in
// .ci/run on a fresh machine.
func TestInstallSystemPackages(t *testing.T) {
	script, err := filepath.Abs("../../../scripts/install-system-packages.sh")
	if err != nil {
		t.Fatal(err)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"redis-server", "prometheus", "promtool", "python3", "npm", "make", "g++", "chromium", "curl", "initdb"}
	const aptUpdate = "env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq"
	const aptInstall = "env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends"
	cases := []installCase{
		{name: "dry run, nothing there", args: []string{"--dry-run", "test"},
			out: []string{"would install with sudo apt-get: postgresql redis-server prometheus npm python3 make g++ chromium"}},
		{name: "dry run dev", args: []string{"--dry-run", "dev"},
			out: []string{"would install with sudo apt-get: postgresql redis-server prometheus npm python3 make g++ curl"}},
		{name: "dry run dev, own servers, no Directus, no observability", args: []string{"--dry-run", "dev"},
			env: []string{"DATABASE_URL=postgres://x", "REDIS_URL=redis://x", "SKIP_DIRECTUS=1", "SKIP_OBSERVABILITY=1"},
			out: []string{"would install with sudo apt-get: npm curl"}},
		{name: "prometheus without promtool", args: []string{"--dry-run", "test"}, present: without(all, "promtool"),
			out: []string{"would install with sudo apt-get: prometheus"}},
		{name: "all there: no apt at all", args: []string{"test"}, present: all, sudo: "ok",
			out: []string{"all present for make test"}},
		{name: "sudo installs what is missing", args: []string{"test"}, present: without(all, "redis-server", "chromium"), sudo: "ok",
			out: []string{"installing redis-server chromium with sudo apt-get", "installed redis-server chromium"},
			calls: []string{
				"sudo -n true",
				"sudo -n " + aptUpdate, "apt-get -o DPkg::Lock::Timeout=600 update -qq",
				"sudo -n " + aptInstall + " redis-server chromium",
				"apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends redis-server chromium",
				"sudo -n service redis-server stop", "service redis-server stop",
			}},
		{name: "sudo wants a password", args: []string{"test"}, present: without(all, "initdb", "npm"), sudo: "password", fails: true,
			out: []string{"missing: postgresql npm; sudo needs a password", "Fix: sudo apt-get install -y --no-install-recommends postgresql npm"}},
		{name: "no apt-get", args: []string{"dev"}, present: without(all, "redis-server"), noApt: true, fails: true,
			out: []string{"missing: redis-server, and this machine has no apt-get", "redis-server: Redis 7 (redis-server, redis-cli, redis-benchmark)"}},
	}
	if os.Geteuid() == 0 {
		cases = append(cases, installCase{name: "root installs without sudo", args: []string{"test"}, present: without(all, "prometheus"), asRoot: true,
			out: []string{"installing prometheus with apt-get as root"},
			calls: []string{"apt-get -o DPkg::Lock::Timeout=600 update -qq",
				"apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends prometheus", "service prometheus stop"}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin, pg := filepath.Join(dir, "bin"), filepath.Join(dir, "pg")
			rec := filepath.Join(dir, "calls")
			for _, d := range []string{bin, pg} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			// Root runs it as nobody, who must reach the stubs and the record
			// (t.TempDir's folders are 0700).
			if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			stub := func(folder, name, body string) {
				if err := os.WriteFile(filepath.Join(folder, name), []byte("#!"+bash+"\n"+body+"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range tc.present {
				if c == "initdb" {
					stub(pg, c, "")
				} else {
					stub(bin, c, "")
				}
			}
			record := `echo "$(basename "$0") $*" >> ` + rec
			if !tc.noApt {
				stub(bin, "apt-get", record)
			}
			stub(bin, "service", record)
			switch tc.sudo {
			case "ok":
				stub(bin, "sudo", record+"\nshift\nexec \"$@\"")
			case "password":
				stub(bin, "sudo", `echo "sudo: a password is required" >&2; exit 1`)
			}
			for _, real := range []string{"env", "true", "basename"} {
				p, err := exec.LookPath(real)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(p, filepath.Join(bin, real)); err != nil {
					t.Fatal(err)
				}
			}

			args := append([]string{script}, tc.args...)
			cmd := exec.Command(bash, args...)
			if os.Geteuid() == 0 && !tc.asRoot {
				cmd = exec.Command("runuser", append([]string{"-u", "nobody", "--", bash}, args...)...)
			} else if os.Geteuid() != 0 && tc.asRoot {
				t.Fatal("case needs root")
			}
			cmd.Env = append([]string{"PATH=" + bin, "PG_BIN=" + pg, "HOME=" + dir}, tc.env...)
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tc.fails {
				t.Fatalf("exit error %v, want failure %v:\n%s", err, tc.fails, out)
			}
			for _, w := range tc.out {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			got, _ := os.ReadFile(rec)
			if want := strings.Join(tc.calls, "\n"); strings.TrimSpace(string(got)) != want {
				t.Errorf("calls:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

type installCase struct {
	name    string
	args    []string
	present []string // commands on PATH (initdb: in PG_BIN)
	env     []string
	sudo    string // "", "ok" or "password": a stub sudo that passes through or wants a password
	noApt   bool
	asRoot  bool
	fails   bool
	out     []string // in the output
	calls   []string // apt-get, sudo and service, in order
}

func without(list []string, drop ...string) []string {
	var out []string
	for _, s := range list {
		keep := true
		for _, d := range drop {
			keep = keep && s != d
		}
		if keep {
			out = append(out, s)
		}
	}
	return out
}
