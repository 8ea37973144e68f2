package charttest

import (
	"bufio"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// instruction is one Dockerfile instruction with its line continuations joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, COPY...
	args string
}

// parseDockerfile reads the instructions of a Dockerfile: comments and
// blank lines dropped, lines ending in a backslash joined with the next.
func parseDockerfile(t *testing.T, file string) []instruction {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start, n := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(strings.TrimSpace(cont) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur.Len() > 0 {
		t.Fatalf("%s: ends inside a continued line", file)
	}
	return out
}

// stage is one FROM ... section.
type stage struct {
	name, image string
	ins         []instruction
}

var argRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

// stages splits the instructions at each FROM, resolving the image through
// the global ARG defaults (ARG before the first FROM).
func stages(ins []instruction) []stage {
	globals := map[string]string{}
	var out []stage
	for _, in := range ins {
		switch {
		case in.cmd == "ARG" && len(out) == 0:
			k, v, _ := strings.Cut(in.args, "=")
			globals[k] = v
		case in.cmd == "FROM":
			var fields []string
			for _, f := range strings.Fields(in.args) {
				if !strings.HasPrefix(f, "--") {
					fields = append(fields, f)
				}
			}
			st := stage{image: argRef.ReplaceAllStringFunc(fields[0], func(m string) string {
				return globals[argRef.FindStringSubmatch(m)[1]]
			})}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				st.name = fields[2]
			}
			out = append(out, st)
		case len(out) > 0:
			out[len(out)-1].ins = append(out[len(out)-1].ins, in)
		}
	}
	return out
}

// dockerignore reads the root .dockerignore as ordered (pattern, exclude) rules.
type ignoreRule struct {
	pattern string
	exclude bool
}

func readDockerignore(t *testing.T, root string) []ignoreRule {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatalf("no .dockerignore at the repository root: %v", err)
	}
	var rules []ignoreRule
	for line := range strings.SplitSeq(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		rules = append(rules, ignoreRule{pattern: strings.TrimPrefix(line, "!"), exclude: !neg})
	}
	return rules
}

// ignored reports whether the build context leaves p out: the last rule
// matching p or one of its parent folders decides (Docker's semantics; "**"
// matches any number of folders).
func ignored(rules []ignoreRule, p string) bool {
	out := false
	for _, r := range rules {
		for q := p; q != "." && q != "/"; q = path.Dir(q) {
			if globMatch(r.pattern, q) {
				out = r.exclude
				break
			}
		}
	}
	return out
}

func globMatch(pattern, p string) bool {
	if rest, ok := strings.CutPrefix(pattern, "**/"); ok {
		parts := strings.Split(p, "/")
		for i := range parts {
			if globMatch(rest, strings.Join(parts[i:], "/")) {
				return true
			}
		}
		return false
	}
	if strings.Contains(pattern, "/**/") {
		pre, post, _ := strings.Cut(pattern, "/**/")
		if !strings.HasPrefix(p, pre+"/") {
			return false
		}
		return globMatch("**/"+post, strings.TrimPrefix(p, pre+"/"))
	}
	ok, _ := path.Match(pattern, p)
	return ok
}

var imageDockerfiles = []string{"api", "order-worker", "catalog-sync", "storefront", "loadgen"}

// Each service's Dockerfile builds from the repository root into a
// non-root distroless image: multi-stage, final stage distroless or
// scratch with a numeric non-root USER, every COPY source present in the
// repository and not left out by .dockerignore, the go build target a main
// package of the service, a static stripped build, pinned base images, and
// the OCI labels.
func TestDockerfiles(t *testing.T) {
	root := repoRoot(t)
	rules := readDockerignore(t, root)
	for _, svc := range imageDockerfiles {
		t.Run(svc, func(t *testing.T) {
			file := filepath.Join(root, "services", svc, "Dockerfile")
			sts := stages(parseDockerfile(t, file))
			if len(sts) < 2 {
				t.Fatalf("%d stage(s): want a multi-stage build", len(sts))
			}
			names := map[string]bool{}
			for i, st := range sts {
				if strings.HasSuffix(st.image, ":latest") || (!strings.Contains(st.image, ":") && !strings.Contains(st.image, "@") && st.image != "scratch") {
					t.Errorf("stage %d image %q is not pinned to a tag or digest", i, st.image)
				}
				if st.name != "" {
					names[st.name] = true
				}
			}
			final := sts[len(sts)-1]
			if !strings.HasPrefix(final.image, "gcr.io/distroless/") && final.image != "scratch" {
				t.Errorf("final stage FROM %q: want distroless or scratch (no shell)", final.image)
			}
			var user string
			for _, in := range final.ins {
				if in.cmd == "USER" {
					user = in.args
				}
				if in.cmd == "RUN" {
					t.Errorf("line %d: RUN in the final stage (it has no shell)", in.line)
				}
			}
			uid, _, _ := strings.Cut(user, ":")
			if n, err := strconv.Atoi(uid); err != nil || n == 0 {
				t.Errorf("final stage USER %q: want a numeric non-root uid", user)
			}
			labels := map[string]bool{}
			for _, in := range final.ins {
				if in.cmd == "LABEL" {
					for _, m := range regexp.MustCompile(`(org\.opencontainers\.image\.[a-z]+)=`).FindAllStringSubmatch(in.args, -1) {
						labels[m[1]] = true
					}
				}
			}
			for _, l := range []string{"source", "version", "revision", "title", "licenses"} {
				if !labels["org.opencontainers.image."+l] {
					t.Errorf("missing LABEL org.opencontainers.image.%s", l)
				}
			}

			var built, entrypoint string
			for si, st := range sts {
				for _, in := range st.ins {
					switch in.cmd {
					case "COPY":
						checkCopy(t, root, rules, in, names, sts[:si])
					case "RUN":
						if strings.Contains(in.args, "go build") {
							built = checkGoBuild(t, root, svc, st, in)
						}
					case "ENTRYPOINT":
						entrypoint = in.args
					}
				}
			}
			if built == "" {
				t.Fatal("no RUN go build")
			}
			// The binary built is what the final stage copies and runs.
			var copiedTo string
			for _, in := range final.ins {
				if in.cmd == "COPY" && strings.Contains(in.args, built) {
					f := strings.Fields(in.args)
					copiedTo = f[len(f)-1]
				}
			}
			if copiedTo == "" || !strings.Contains(entrypoint, `"`+copiedTo+`"`) {
				t.Errorf("the final stage does not copy %s and run it (COPY to %q, ENTRYPOINT %s)", built, copiedTo, entrypoint)
			}
			if svc == "storefront" {
				checkStorefrontWeb(t, sts)
			}
		})
	}
}

// checkCopy: COPY --from names an earlier stage; a COPY from the context
// copies paths that exist and that .dockerignore lets through.
func checkCopy(t *testing.T, root string, rules []ignoreRule, in instruction, names map[string]bool, earlier []stage) {
	t.Helper()
	var args []string
	from := ""
	for _, f := range strings.Fields(in.args) {
		if v, ok := strings.CutPrefix(f, "--from="); ok {
			from = v
		} else if !strings.HasPrefix(f, "--") {
			args = append(args, f)
		}
	}
	if len(args) < 2 {
		t.Errorf("line %d: COPY needs a source and a destination", in.line)
		return
	}
	if from != "" {
		if !slices.ContainsFunc(earlier, func(s stage) bool { return s.name == from }) {
			t.Errorf("line %d: COPY --from=%s: no earlier stage of that name", in.line, from)
		}
		return
	}
	for _, src := range args[:len(args)-1] {
		src = strings.TrimSuffix(src, "/")
		matches, _ := filepath.Glob(filepath.Join(root, src))
		if len(matches) == 0 {
			t.Errorf("line %d: COPY source %s does not exist in the repository", in.line, src)
			continue
		}
		if ignored(rules, src) {
			t.Errorf("line %d: COPY source %s is left out of the build context by .dockerignore", in.line, src)
		}
	}
}

// checkGoBuild: a static, stripped, trimmed build of a main package of the
// service, with a Go image at least as new as the module asks. Returns the
// output path.
func checkGoBuild(t *testing.T, root, svc string, st stage, in instruction) string {
	t.Helper()
	env := in.args
	for _, i := range st.ins {
		if i.cmd == "ENV" {
			env += " " + i.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-s -w", "GOWORK=off"} {
		if !strings.Contains(env, want) {
			t.Errorf("line %d: go build without %s", in.line, want)
		}
	}
	dir := "."
	if m := regexp.MustCompile(`cd (\S+) &&`).FindStringSubmatch(in.args); m != nil {
		dir = m[1]
	}
	if dir != "services/"+svc {
		t.Errorf("line %d: builds in %s, want the service's module services/%s", in.line, dir, svc)
	}
	fields := strings.Fields(in.args[strings.Index(in.args, "go build"):])
	pkg := fields[len(fields)-1]
	out := ""
	if i := slices.Index(fields, "-o"); i >= 0 && i+1 < len(fields) {
		out = fields[i+1]
	}
	pkgDir := filepath.Join(root, dir, pkg)
	goFiles, _ := filepath.Glob(filepath.Join(pkgDir, "*.go"))
	isMain := false
	for _, f := range goFiles {
		b, _ := os.ReadFile(f)
		if !strings.HasSuffix(f, "_test.go") && regexp.MustCompile(`(?m)^package main$`).Match(b) {
			isMain = true
		}
	}
	if !isMain {
		t.Errorf("line %d: go build target %s is not a main package in the repository", in.line, filepath.Join(dir, pkg))
	}
	// The Go image must be at least the version the module declares.
	modBytes, err := os.ReadFile(filepath.Join(root, dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.ParseLax("go.mod", modBytes, nil)
	if err != nil || mf.Go == nil {
		t.Fatalf("%s/go.mod: %v", dir, err)
	}
	m := regexp.MustCompile(`^golang:([0-9]+\.[0-9]+(\.[0-9]+)?)`).FindStringSubmatch(st.image)
	if m == nil {
		t.Errorf("the build stage image %q is not a pinned golang image", st.image)
	} else if semver.Compare("v"+m[1], "v"+mf.Go.Version) < 0 {
		t.Errorf("build image Go %s is older than %s/go.mod's go %s", m[1], dir, mf.Go.Version)
	}
	if out == "" {
		t.Errorf("line %d: go build without -o", in.line)
	}
	return out
}

// checkStorefrontWeb: a Node stage builds the SPA from the lock file and the
// Go stage embeds its dist/.
func checkStorefrontWeb(t *testing.T, sts []stage) {
	t.Helper()
	var web *stage
	for i := range sts {
		if strings.HasPrefix(sts[i].image, "node:") {
			web = &sts[i]
		}
	}
	if web == nil {
		t.Fatal("storefront: no node stage builds the SPA")
	}
	var ci, build bool
	for _, in := range web.ins {
		ci = ci || (in.cmd == "RUN" && strings.Contains(in.args, "npm ci"))
		build = build || (in.cmd == "RUN" && strings.Contains(in.args, "npm run build"))
	}
	if !ci || !build {
		t.Errorf("storefront web stage: want npm ci (the lock file) and npm run build, have ci=%v build=%v", ci, build)
	}
	embedded := false
	for _, st := range sts {
		for _, in := range st.ins {
			if in.cmd == "COPY" && strings.Contains(in.args, "--from="+web.name) && strings.Contains(in.args, "services/storefront/web/dist") {
				embedded = true
			}
		}
	}
	if !embedded {
		t.Error("storefront: the Go stage does not copy the web stage's dist/ into services/storefront/web/dist")
	}
}

// The ignore matcher itself, on the cases the Dockerfiles rely on.
func TestDockerignoreMatcher(t *testing.T) {
	rules := readDockerignore(t, repoRoot(t))
	for p, want := range map[string]bool{
		"services/storefront/web/node_modules/vue/index.js": true,
		"services/storefront/web/dist/index.html":           true,
		"services/storefront/web/dist/.keep":                false,
		"services/storefront/web/src/main.ts":               false,
		"services/api/cmd/api/api":                          true,
		"services/api/cmd/api/main.go":                      false,
		".git/HEAD":                                         true,
		"services/platform/go.mod":                          false,
		"bin/api":                                           true,
	} {
		if got := ignored(rules, p); got != want {
			t.Errorf("ignored(%s) = %v, want %v", p, got, want)
		}
	}
}
