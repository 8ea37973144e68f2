package compose

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// docPages are the Markdown pages whose links are checked: the README,
// docs/ and the services' and charts' READMEs (paths relative to the root).
func docPages(t *testing.T) []string {
	t.Helper()
	pages := []string{"README.md"}
	for _, pattern := range []string{"docs/*.md", "services/*/README.md", "charts/*/README.md"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			rel, _ := filepath.Rel(root, p)
			pages = append(pages, filepath.ToSlash(rel))
		}
	}
	return pages
}

var (
	fence      = regexp.MustCompile("(?ms)^```.*?^```[^\n]*$")
	codeSpan   = regexp.MustCompile("`[^`\n]*`")
	inlineLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	refLink    = regexp.MustCompile(`(?m)^\s*\[[^\]]+\]:\s*(\S+)`)
	heading    = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*#*\s*$`)
)

// links are the link targets of a Markdown text, outside code blocks. Code
// spans stay (a link's text is often one), but a link inside one is none.
func links(md string) []string {
	md = fence.ReplaceAllString(md, "")
	md = codeSpan.ReplaceAllStringFunc(md, func(s string) string {
		return strings.NewReplacer("[", " ", "]", " ", "(", " ", ")", " ").Replace(s)
	})
	var out []string
	for _, re := range []*regexp.Regexp{inlineLink, refLink} {
		for _, m := range re.FindAllStringSubmatch(md, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// anchors are the fragment ids GitHub gives the headings of a Markdown text.
func anchors(md string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(md, ""), -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		id := b.String()
		if n := seen[id]; n > 0 {
			out[fmt.Sprintf("%s-%d", id, n)] = true
		} else {
			out[id] = true
		}
		seen[id]++
	}
	return out
}

// checkLink reports what is wrong with one relative link of page ("" if
// nothing): the file or folder must exist inside the repository, and a
// fragment pointing into a Markdown file must name one of its headings.
func checkLink(page, target string) string {
	if regexp.MustCompile(`^[a-z][a-z0-9+.-]*:`).MatchString(target) {
		return "" // http:, https:, mailto: — not checked here
	}
	file, frag, _ := strings.Cut(target, "#")
	dest := page
	if file != "" {
		dest = filepath.ToSlash(filepath.Join(filepath.Dir(page), file))
		if dest == ".." || strings.HasPrefix(dest, "../") {
			return "leaves the repository"
		}
		if _, err := os.Stat(filepath.Join(root, dest)); err != nil {
			return "does not exist"
		}
	}
	if regexp.MustCompile(`^L\d+`).MatchString(frag) {
		return "points at a line number, which moves with every edit: link the file and name the function"
	}
	if frag == "" || !strings.HasSuffix(dest, ".md") {
		return ""
	}
	md, err := os.ReadFile(filepath.Join(root, dest))
	if err != nil {
		return err.Error()
	}
	if !anchors(string(md))[frag] {
		return "has no heading #" + frag
	}
	return ""
}

// Every relative link of the documentation resolves: README.md, docs/*.md,
// services/*/README.md and charts/*/README.md link only files and folders
// that exist, and headings that exist.
func TestDocLinksResolve(t *testing.T) {
	checked := 0
	for _, page := range docPages(t) {
		for _, target := range links(readFile(t, page)) {
			if problem := checkLink(page, target); problem != "" {
				t.Errorf("%s: link %s %s", page, target, problem)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Errorf("only %d links found: is the link pattern still right?", checked)
	}
	t.Logf("%d links checked", checked)
}

// The README is the map: short, and every page of docs/ and every service's
// README is linked from it.
func TestREADMEIsTheMap(t *testing.T) {
	readme := readFile(t, "README.md")
	if n := strings.Count(readme, "\n"); n > 250 {
		t.Errorf("README.md has %d lines: keep it a map under 250 and move detail into docs/ or a service's README", n)
	}
	linked := map[string]bool{}
	for _, target := range links(readme) {
		file, _, _ := strings.Cut(target, "#")
		linked[filepath.ToSlash(filepath.Clean(file))] = true
	}
	for _, page := range docPages(t) {
		if page != "README.md" && !strings.HasPrefix(page, "charts/") && !linked[page] {
			t.Errorf("README.md does not link %s", page)
		}
	}
	for _, cmd := range []string{"make dev", "make test"} {
		if i := strings.Index(readme, cmd); i < 0 || strings.Count(readme[:i], "\n") > 25 {
			t.Errorf("README.md does not show %q on its first screen", cmd)
		}
	}
}

// Each row of the README's "Where things happen" table links code, and
// every function, method or type it names is declared in the files or
// folders that row links: the map stays true when code moves.
func TestWhereThingsHappen(t *testing.T) {
	readme := readFile(t, "README.md")
	start := strings.Index(readme, "\n## Where things happen")
	if start < 0 {
		t.Fatal(`README.md has no "## Where things happen" section`)
	}
	section := readme[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	identifier := regexp.MustCompile("`([A-Za-z][A-Za-z0-9]*(?:\\.[A-Za-z][A-Za-z0-9]*)?)`")
	rows := 0
	for line := range strings.SplitSeq(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") || strings.TrimSpace(cells[1]) == "behaviour" {
			continue
		}
		rows++
		what, code := strings.TrimSpace(cells[1]), cells[2]
		var src strings.Builder
		for _, target := range links(code) {
			if checkLink("README.md", target) != "" || strings.Contains(target, ":") {
				continue // TestDocLinksResolve reports it
			}
			p := filepath.Join(root, target)
			files := []string{p}
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				files, _ = filepath.Glob(filepath.Join(p, "*.go"))
			}
			for _, f := range files {
				if strings.HasSuffix(f, ".go") && !strings.HasSuffix(f, "_test.go") {
					src.WriteString(readFile(t, mustRel(t, f)))
				}
			}
		}
		if src.Len() == 0 {
			t.Errorf("where things happen, %q: links no Go code", what)
			continue
		}
		for _, m := range identifier.FindAllStringSubmatch(code, -1) {
			name := m[1]
			if strings.ToUpper(name) == name || strings.ToLower(name) == name {
				continue // SQL and Redis commands, plain words
			}
			parts := strings.Split(name, ".")
			decl := parts[len(parts)-1]
			re := regexp.MustCompile(`(?m)^(func (\([^)]*\) )?` + decl + `[\[(]|type ` + decl + `\b|var ` + decl + `\b)`)
			if !re.MatchString(src.String()) {
				t.Errorf("where things happen, %q: %s is not declared in the code that row links", what, name)
			}
			if len(parts) == 2 && strings.ToUpper(parts[0][:1]) == parts[0][:1] &&
				!regexp.MustCompile(`(?m)^func \(\w+ \*?`+parts[0]+`\) `+decl+`\(`).MatchString(src.String()) {
				t.Errorf("where things happen, %q: %s is not a method of %s there", what, decl, parts[0])
			}
		}
	}
	if rows < 10 {
		t.Errorf("where things happen: %d rows, want every key behaviour (order accepted, stock changed, order decided, claims, dead letters, outbox relay, Directus writes, reconcile, live status, auth)", rows)
	}
	for _, want := range []string{"order accepted", "stock changed", "order decided", "claims", "dead letters", "outbox relay", "Directus writes", "reconcile", "live status", "auth"} {
		if !slices.ContainsFunc(strings.Split(section, "\n"), func(l string) bool { return strings.HasPrefix(l, "| "+want) }) {
			t.Errorf("where things happen: no row for %q", want)
		}
	}
}

func mustRel(t *testing.T, p string) string {
	t.Helper()
	rel, err := filepath.Rel(root, p)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}
