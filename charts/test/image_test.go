package charttest

import (
	"encoding/json"
	"fmt"
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
	"sigs.k8s.io/yaml"
)

// imageFiles are the files that define the images: the one Dockerfile,
// docker-bake.hcl (which lists the images) and .dockerignore.
type imageFiles struct {
	dockerfile, bake, dockerignore string
}

func readImageFiles(t *testing.T, root string) imageFiles {
	t.Helper()
	var f imageFiles
	for name, dst := range map[string]*string{"Dockerfile": &f.dockerfile, "docker-bake.hcl": &f.bake, ".dockerignore": &f.dockerignore} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatalf("%s at the repository root: %v", name, err)
		}
		*dst = string(b)
	}
	return f
}

// imageServices are the services with a command of their own name
// (services/<svc>/cmd/<svc>): each ships as an image.
func imageServices(root string) []string {
	var out []string
	dirs, _ := filepath.Glob(filepath.Join(root, "services", "*", "cmd", "*"))
	for _, d := range dirs {
		if filepath.Base(d) == filepath.Base(filepath.Dir(filepath.Dir(d))) {
			out = append(out, filepath.Base(d))
		}
	}
	slices.Sort(out)
	return out
}

// checkImages checks the images the bake file builds from the Dockerfile,
// target by target, as BuildKit would resolve them, and returns what is
// wrong (nothing when all is well).
func checkImages(root string, f imageFiles) []string {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	df, err := parseDockerfile(f.dockerfile)
	if err != nil {
		return []string{"Dockerfile: " + err.Error()}
	}
	bk, err := parseBake([]byte(f.bake), "docker-bake.hcl")
	if err != nil {
		return []string{"docker-bake.hcl: " + err.Error()}
	}
	rules := parseDockerignore(f.dockerignore)

	// The default group builds one image per service, no more.
	names, err := bk.resolve("default")
	if err != nil {
		fail("docker-bake.hcl: default group: %v", err)
	}
	if want := imageServices(root); !slices.Equal(names, want) {
		fail("docker-bake.hcl builds %v by default, want one image per service %v", names, want)
	}
	for _, name := range names {
		for _, p := range checkImage(root, df, rules, bk.targets[name]) {
			fail("%s: %s", name, p)
		}
	}

	// Without SERVICE the build stops (with a message) instead of building
	// an image of nothing.
	if len(names) > 0 {
		t := bk.targets[names[0]]
		b := newBuild(df, map[string]string{})
		stopped := false
		if st, ok := df.stage(t.target); ok {
			for _, s := range b.used(st) {
				for _, in := range s.ins {
					stopped = stopped || (in.cmd == "RUN" && strings.HasSuffix(in.args, "exit 1"))
				}
			}
		}
		if !stopped {
			fail("docker build --target %s without --build-arg SERVICE does not stop with a message", t.target)
		}
	}
	return problems
}

// checkImage checks one image of the bake file.
func checkImage(root string, df dockerfile, rules []ignoreRule, t bakeTarget) []string {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	svc := t.name

	// The bake target: this Dockerfile, the repository root as context, the
	// Dockerfile target and SERVICE named after the service, a tag per
	// service, and the port the service's configuration listens on.
	if t.context != "." || t.dockerfile != "Dockerfile" {
		fail("bake builds from %s/%s, want the Dockerfile at the repository root (context .)", t.context, t.dockerfile)
	}
	if t.target != svc || t.args["SERVICE"] != svc {
		fail("bake target %q with SERVICE=%q: both must be the service's name", t.target, t.args["SERVICE"])
	}
	if len(t.tags) == 0 || !slices.ContainsFunc(t.tags, func(tag string) bool { return strings.Contains(tag, "/"+svc+":") }) {
		fail("tags %v: want <registry>/%s:<tag>", t.tags, svc)
	}
	port := listenPort(root, svc)
	if t.args["PORT"] != port {
		fail("bake PORT=%q, but services/%s/%s.example.yaml listens on %q", t.args["PORT"], svc, svc, port)
	}
	for _, a := range []string{"DESCRIPTION", "VERSION", "REVISION"} {
		if t.args[a] == "" {
			fail("bake sets no %s", a)
		}
	}

	final, ok := df.stage(t.target)
	if !ok {
		fail("the Dockerfile has no stage %q", t.target)
		return problems
	}
	b := newBuild(df, t.args)
	chain, base := b.chain(final)
	used := b.used(final)

	// Every image used is pinned.
	for _, st := range used {
		if _, isStage := b.parent(st); isStage {
			continue
		}
		img := b.image(st)
		if strings.HasSuffix(img, ":latest") || (!strings.Contains(img, ":") && !strings.Contains(img, "@") && img != "scratch") {
			fail("line %d: image %q is not pinned to a tag or digest", st.line, img)
		}
	}

	// The final image: distroless, no RUN (it has no shell), a numeric
	// non-root user, the OCI labels.
	if !strings.HasPrefix(base, "gcr.io/distroless/") && base != "scratch" {
		fail("the image starts FROM %q: want distroless or scratch (no shell)", base)
	}
	var user, entrypoint string
	var cmd []string
	labels := map[string]string{}
	exposed := []string{}
	for _, st := range chain {
		cmdSet := false // in this stage
		for _, in := range b.expanded(st) {
			switch in.cmd {
			case "RUN":
				fail("line %d: RUN in the final image (stage %s; it has no shell)", in.line, st.name)
			case "USER":
				user = in.args
			case "ENTRYPOINT":
				entrypoint = in.args
				if !cmdSet {
					cmd = nil // an ENTRYPOINT resets the CMD of the stages before
				}
			case "CMD":
				cmdSet = true
				if err := json.Unmarshal([]byte(in.args), &cmd); err != nil {
					fail("line %d: CMD %s is not in exec form", in.line, in.args)
				}
			case "EXPOSE":
				exposed = append(exposed, strings.Fields(in.args)...)
			case "LABEL":
				for _, m := range regexp.MustCompile(`([a-z0-9.]+)="([^"]*)"`).FindAllStringSubmatch(in.args, -1) {
					labels[m[1]] = m[2]
				}
			}
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		fail("USER %q: want a numeric non-root uid", user)
	}
	for _, l := range []string{"title", "description", "source", "version", "revision", "licenses"} {
		if labels["org.opencontainers.image."+l] == "" {
			fail("no (or an empty) LABEL org.opencontainers.image.%s", l)
		}
	}
	if !strings.Contains(labels["org.opencontainers.image.title"], svc) {
		fail("title %q does not name %s", labels["org.opencontainers.image.title"], svc)
	}
	wantExposed := []string{}
	if port != "" {
		wantExposed = []string{port}
	}
	if !slices.Equal(exposed, wantExposed) {
		fail("EXPOSE %v, want %v", exposed, wantExposed)
	}
	wantCmd := "serve"
	if port == "" {
		wantCmd = "help" // loadgen: a tool, not a server
	}
	if !slices.Equal(cmd, []string{wantCmd}) {
		fail("CMD %q, want [%q]", cmd, wantCmd)
	}

	// The one Go build: static, stripped, of the service's main package, in
	// the service's own module, with a Go at least as new as its go.mod.
	var builds []instruction
	var buildStage stage
	for _, st := range used {
		for _, in := range b.expanded(st) {
			if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
				builds, buildStage = append(builds, in), st
			}
		}
	}
	if len(builds) != 1 {
		fail("%d RUN go build, want one", len(builds))
		return problems
	}
	binary, link := checkGoBuild(root, svc, b, buildStage, builds[0], fail)

	// The final image copies the binary to /usr/local/bin/<svc> and runs it.
	var ep []string
	if err := json.Unmarshal([]byte(entrypoint), &ep); err != nil || len(ep) == 0 {
		fail("ENTRYPOINT %s: want the exec form", entrypoint)
		return problems
	}
	inImage := map[string]string{} // path in the image -> path in the build stage
	for _, st := range chain {
		for _, in := range b.expanded(st) {
			from, args := copyFrom(in)
			if in.cmd != "COPY" || from != buildStage.name || len(args) != 2 {
				continue
			}
			src, dst := strings.TrimSuffix(args[0], "/"), args[1]
			for _, built := range []string{binary, link[0]} {
				switch {
				case built == src:
					inImage[dst] = built
				case strings.HasPrefix(built, src+"/") && strings.HasSuffix(dst, "/"):
					inImage[path.Join(dst, strings.TrimPrefix(built, src+"/"))] = built
				}
			}
		}
	}
	runs := inImage[ep[0]]
	if runs == link[0] && link[0] != "" {
		runs = link[1]
	}
	if runs != binary {
		fail("ENTRYPOINT %s does not run the binary built (%s); the image holds %v", ep[0], binary, inImage)
	}
	if inImage["/usr/local/bin/"+svc] != binary {
		fail("the binary %s is not at /usr/local/bin/%s in the image (where the charts and Tilt run it)", binary, svc)
	}

	// Everything copied from the build context exists and .dockerignore
	// lets it through; every COPY --from names an earlier stage.
	copied := map[string]bool{}
	for _, st := range used {
		for _, in := range b.expanded(st) {
			if in.cmd != "COPY" {
				continue
			}
			from, args := copyFrom(in)
			if len(args) < 2 {
				fail("line %d: COPY needs a source and a destination", in.line)
				continue
			}
			if from != "" {
				if src, ok := df.stage(from); !ok || src.index >= st.index {
					fail("line %d: COPY --from=%s: no earlier stage of that name", in.line, from)
				}
				continue
			}
			for _, src := range args[:len(args)-1] {
				src = strings.TrimSuffix(src, "/")
				copied[src] = true
				if matches, _ := filepath.Glob(filepath.Join(root, src)); len(matches) == 0 {
					fail("line %d: COPY source %s does not exist in the repository", in.line, src)
				} else if ignored(rules, src) {
					fail("line %d: COPY source %s is left out of the build context by .dockerignore", in.line, src)
				}
			}
		}
	}

	// The build runs with GOWORK=off, so the modules the service's go.mod
	// replaces with local directories (platform, kernel) must be copied in.
	for _, dir := range localReplaces(root, svc) {
		if !copied[dir] {
			fail("the build does not copy %s, which services/%s/go.mod replaces a module with", dir, svc)
		}
	}

	// The Node stage runs for an image that embeds a web app, and only for it.
	checkWeb(root, svc, b, used, buildStage, fail)
	return problems
}

// localReplaces lists the directories (relative to root) that the
// service's go.mod replaces modules with.
func localReplaces(root, svc string) []string {
	b, err := os.ReadFile(filepath.Join(root, "services", svc, "go.mod"))
	if err != nil {
		return nil
	}
	var dirs []string
	for _, m := range regexp.MustCompile(`=>\s*(\.\.?/\S+)`).FindAllStringSubmatch(string(b), -1) {
		dirs = append(dirs, filepath.ToSlash(filepath.Clean(filepath.Join("services", svc, m[1]))))
	}
	return dirs
}

// listenPort is the port of spec.http.addr in the service's example
// configuration ("" for a service without one).
func listenPort(root, svc string) string {
	b, err := os.ReadFile(filepath.Join(root, "services", svc, svc+".example.yaml"))
	if err != nil {
		return ""
	}
	var doc struct {
		Spec struct {
			HTTP struct{ Addr string } `json:"http"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil || doc.Spec.HTTP.Addr == "" {
		return ""
	}
	return doc.Spec.HTTP.Addr[strings.LastIndex(doc.Spec.HTTP.Addr, ":")+1:]
}

// checkGoBuild checks the go build and returns its output and the link
// made to it (path, target), if any.
func checkGoBuild(root, svc string, b *build, st stage, in instruction, fail func(string, ...any)) (out string, link [2]string) {
	_, env := b.scope(st, len(st.ins))
	flags := in.args
	for k, v := range env {
		flags += " " + k + "=" + v
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-s -w", "GOWORK=off"} {
		if !strings.Contains(flags, want) {
			fail("line %d: go build without %s", in.line, want)
		}
	}
	dir := "."
	if m := regexp.MustCompile(`cd (\S+) &&`).FindStringSubmatch(in.args); m != nil {
		dir = m[1]
	}
	if dir != "services/"+svc {
		fail("line %d: builds in %s, want the service's module services/%s", in.line, dir, svc)
	}
	cmd := in.args[strings.Index(in.args, "go build"):]
	cmd, after, _ := strings.Cut(cmd, "&&")
	fields := strings.Fields(cmd)
	pkg := fields[len(fields)-1]
	if i := slices.Index(fields, "-o"); i >= 0 && i+1 < len(fields) {
		out = fields[i+1]
	} else {
		fail("line %d: go build without -o", in.line)
	}
	if m := regexp.MustCompile(`ln -s (\S+) (\S+)`).FindStringSubmatch(after); m != nil {
		link = [2]string{m[2], path.Join(path.Dir(m[2]), m[1])}
	}
	isMain := false
	goFiles, _ := filepath.Glob(filepath.Join(root, dir, pkg, "*.go"))
	for _, f := range goFiles {
		src, _ := os.ReadFile(f)
		if !strings.HasSuffix(f, "_test.go") && regexp.MustCompile(`(?m)^package main$`).Match(src) {
			isMain = true
		}
	}
	if !isMain {
		fail("line %d: go build target %s is not a main package in the repository", in.line, path.Join(dir, pkg))
	}
	modBytes, err := os.ReadFile(filepath.Join(root, dir, "go.mod"))
	if err != nil {
		fail("%s/go.mod: %v", dir, err)
		return out, link
	}
	mf, err := modfile.ParseLax("go.mod", modBytes, nil)
	if err != nil || mf.Go == nil {
		fail("%s/go.mod: no go directive (%v)", dir, err)
		return out, link
	}
	_, image := b.chain(st)
	m := regexp.MustCompile(`^golang:([0-9]+\.[0-9]+(\.[0-9]+)?)`).FindStringSubmatch(image)
	if m == nil {
		fail("the build stage image %q is not a pinned golang image", image)
	} else if semver.Compare("v"+m[1], "v"+mf.Go.Version) < 0 {
		fail("the build image's Go %s is older than %s/go.mod's go %s", m[1], dir, mf.Go.Version)
	}
	return out, link
}

// checkWeb: a service with a web app (services/<svc>/web/package.json) gets
// it built by a Node stage (npm ci from the lock file, npm run build) whose
// dist/ the Go build embeds; no other image runs a Node stage.
func checkWeb(root, svc string, b *build, used []stage, buildStage stage, fail func(string, ...any)) {
	_, err := os.Stat(filepath.Join(root, "services", svc, "web", "package.json"))
	hasWeb := err == nil
	var nodeStages []stage
	for _, st := range used {
		if _, image := b.chain(st); strings.HasPrefix(image, "node:") && !slices.ContainsFunc(nodeStages, func(s stage) bool { return s.index == st.index }) {
			nodeStages = append(nodeStages, st)
		}
	}
	if !hasWeb {
		if len(nodeStages) > 0 {
			fail("the build runs the Node stage %s, which only an image with a web app needs", nodeStages[0].name)
		}
		return
	}
	if len(nodeStages) != 1 {
		fail("%d Node stages build the SPA, want one", len(nodeStages))
		return
	}
	web := nodeStages[0]
	var ci, build bool
	for _, in := range web.ins {
		ci = ci || (in.cmd == "RUN" && strings.Contains(in.args, "npm ci"))
		build = build || (in.cmd == "RUN" && strings.Contains(in.args, "npm run build"))
	}
	if !ci || !build {
		fail("web stage %s: want npm ci (the lock file) and npm run build, have ci=%v build=%v", web.name, ci, build)
	}
	embedded := false
	chain, _ := b.chain(buildStage)
	for _, st := range chain {
		for _, in := range b.expanded(st) {
			from, args := copyFrom(in)
			if in.cmd == "COPY" && from == web.name && len(args) == 2 && strings.TrimSuffix(args[1], "/") == "services/"+svc+"/web/dist" {
				embedded = true
			}
		}
	}
	if !embedded {
		fail("the Go build does not start from the web stage's dist/ in services/%s/web/dist (the SPA it embeds)", svc)
	}
}

// The images the bake file lists, as the Dockerfile builds them: see
// checkImage for what is checked.
func TestImages(t *testing.T) {
	root := repoRoot(t)
	for _, p := range checkImages(root, readImageFiles(t, root)) {
		t.Error(p)
	}
}

// Each check of TestImages fails on a real break: the test applies one
// break at a time to the files and wants the check's complaint.
func TestImageChecksCatchBreaks(t *testing.T) {
	root := repoRoot(t)
	good := readImageFiles(t, root)
	for _, c := range []struct {
		name, file, old, new, want string
	}{
		{"RUN in the final image", "Dockerfile", "CMD [\"serve\"]", "RUN [\"/usr/local/bin/service\", \"version\"]\nCMD [\"serve\"]", "RUN in the final image"},
		{"root user", "Dockerfile", "USER 65532:65532", "USER 0", "non-root"},
		{"named user", "Dockerfile", "USER 65532:65532", "USER nonroot", "non-root"},
		{"runtime with a shell", "Dockerfile", "ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot", "ARG RUNTIME_IMAGE=debian:12.12-slim", "want distroless"},
		{"unpinned image", "Dockerfile", "ARG NODE_IMAGE=node:22.23.3-bookworm-slim", "ARG NODE_IMAGE=node", "not pinned"},
		{"missing COPY source", "Dockerfile", "COPY services/platform/ services/platform/", "COPY services/platfrom/ services/platform/", "does not exist"},
		{"replaced module not copied", "Dockerfile", "COPY services/kernel/ services/kernel/\n", "", "does not copy services/kernel"},
		{"COPY source ignored", ".dockerignore", "\ncharts\n", "\ncharts\nservices/platform\n", "left out of the build context"},
		{"cgo", "Dockerfile", "CGO_ENABLED=0", "CGO_ENABLED=1", "without CGO_ENABLED=0"},
		{"not stripped", "Dockerfile", `-ldflags "-s -w -X`, `-ldflags "-X`, "without -s -w"},
		{"not trimmed", "Dockerfile", "go build -trimpath", "go build", "without -trimpath"},
		{"go.work used", "Dockerfile", "ENV GOWORK=off ", "ENV ", "without GOWORK=off"},
		{"not a main package", "Dockerfile", "./cmd/${SERVICE}", "./internal/${SERVICE}", "not a main package"},
		{"outside the module", "Dockerfile", "cd services/${SERVICE} && GOOS", "cd services && GOOS", "want the service's module"},
		{"old Go image", "Dockerfile", "golang:1.26.11-bookworm", "golang:1.21.0-bookworm", "older than"},
		{"entrypoint runs nothing built", "Dockerfile", `ENTRYPOINT ["/usr/local/bin/service"]`, `ENTRYPOINT ["/usr/local/bin/svc"]`, "does not run the binary built"},
		{"binary elsewhere", "Dockerfile", "COPY --from=build /out/ /usr/local/bin/", "COPY --from=build /out/ /bin/", "not at /usr/local/bin/"},
		{"CMD reset", "Dockerfile", "FROM server AS api\n", "FROM server AS api\nENTRYPOINT [\"/usr/local/bin/service\"]\n", "CMD []"},
		{"fixed port", "Dockerfile", "EXPOSE ${PORT}", "EXPOSE 8080", "EXPOSE [8080]"},
		{"label lost", "Dockerfile", "org.opencontainers.image.revision=", "org.opencontainers.image.rev=", "image.revision"},
		{"Node for every image", "Dockerfile", "COPY services/${SERVICE}/ services/${SERVICE}/\n", "COPY services/${SERVICE}/ services/${SERVICE}/\nCOPY --from=web /src/services/storefront/web/dist/ services/storefront/web/dist/\n", "only an image with a web app needs"},
		{"SPA not built", "Dockerfile", "COPY --from=web /src/services/storefront/web/dist/ services/storefront/web/dist/\n", "", "0 Node stages build the SPA"},
		{"SPA not embedded", "Dockerfile", "web/dist/ services/storefront/web/dist/", "web/dist/ services/storefront/web/public/", "does not start from the web stage's dist/"},
		{"no npm ci", "Dockerfile", "npm ci --no-audit", "npm install --no-audit", "want npm ci"},
		{"no SERVICE, no stop", "Dockerfile", "&& exit 1", "&& exit 0", "without --build-arg SERVICE"},
		{"wrong SERVICE", "docker-bake.hcl", "SERVICE     = svc.name", `SERVICE     = "api"`, "both must be the service's name"},
		{"wrong port", "docker-bake.hcl", `port        = "8082"`, `port        = "8083"`, "listens on \"8082\""},
		{"image missing", "docker-bake.hcl", `targets = ["image"]`, `targets = ["api"]`, "want one image per service"},
		{"unknown bake attribute", "docker-bake.hcl", `dockerfile = "Dockerfile"`, `dockerfile = "Dockerfile"` + "\n  inherits = []", "Unsupported argument"},
		{"wrong Dockerfile", "docker-bake.hcl", `dockerfile = "Dockerfile"`, `dockerfile = "services/api/Dockerfile"`, "want the Dockerfile at the repository root"},
		{"no tag", "docker-bake.hcl", `tags = ["${REGISTRY}/${svc.name}:${TAG}"]`, `tags = ["${REGISTRY}/shop:${TAG}"]`, "want <registry>/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := good
			dst := map[string]*string{"Dockerfile": &f.dockerfile, "docker-bake.hcl": &f.bake, ".dockerignore": &f.dockerignore}[c.file]
			if !strings.Contains(*dst, c.old) {
				t.Fatalf("%s does not contain %q any more: update this break", c.file, c.old)
			}
			*dst = strings.Replace(*dst, c.old, c.new, 1)
			problems := checkImages(root, f)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, c.want) }) {
				t.Errorf("break not noticed: want a problem containing %q, have %q", c.want, problems)
			}
		})
	}
}

// The ignore matcher itself, on the cases the images rely on.
func TestDockerignoreMatcher(t *testing.T) {
	rules := parseDockerignore(readImageFiles(t, repoRoot(t)).dockerignore)
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
