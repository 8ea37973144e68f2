package charttest

import (
	"bufio"
	"fmt"
	"maps"
	"path"
	"regexp"
	"strings"
)

// instruction is one Dockerfile instruction with its line continuations joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, COPY...
	args string
}

// stage is one FROM ... section: base is the FROM argument as written
// (before build arguments are expanded), name the AS name.
type stage struct {
	index, line int // line: of the FROM
	name, base  string
	ins         []instruction
}

// dockerfile is a parsed Dockerfile: the ARGs before the first FROM, then
// the stages.
type dockerfile struct {
	globals []instruction
	stages  []stage
}

// parseDockerfile reads the instructions of a Dockerfile: comments and
// blank lines dropped, lines ending in a backslash joined with the next.
func parseDockerfile(text string) (dockerfile, error) {
	var df dockerfile
	var cur strings.Builder
	start, n := 0, 0
	sc := bufio.NewScanner(strings.NewReader(text))
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
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		cur.Reset()
		switch {
		case in.cmd == "FROM":
			var fields []string
			for _, f := range strings.Fields(in.args) {
				if !strings.HasPrefix(f, "--") {
					fields = append(fields, f)
				}
			}
			if len(fields) == 0 {
				return df, fmt.Errorf("line %d: FROM without an image", in.line)
			}
			st := stage{index: len(df.stages), line: in.line, base: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				st.name = strings.ToLower(fields[2])
			}
			df.stages = append(df.stages, st)
		case len(df.stages) == 0:
			if in.cmd != "ARG" {
				return df, fmt.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
			}
			df.globals = append(df.globals, in)
		default:
			df.stages[len(df.stages)-1].ins = append(df.stages[len(df.stages)-1].ins, in)
		}
	}
	if err := sc.Err(); err != nil {
		return df, err
	}
	if cur.Len() > 0 {
		return df, fmt.Errorf("ends inside a continued line")
	}
	return df, nil
}

func (df dockerfile) stage(name string) (stage, bool) {
	for _, st := range df.stages {
		if st.name != "" && st.name == strings.ToLower(name) {
			return st, true
		}
	}
	return stage{}, false
}

var argRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

// expand replaces the references to known variables; unknown ones (set by
// the builder, such as TARGETARCH, or by the shell) stay as written.
func expand(s string, vars map[string]string) string {
	return argRef.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := vars[argRef.FindStringSubmatch(m)[1]]; ok {
			return v
		}
		return m
	})
}

// build is one build of the Dockerfile: a target with build arguments,
// resolved the way BuildKit does it for what these checks need.
type build struct {
	df      dockerfile
	args    map[string]string // --build-arg
	globals map[string]string // global ARGs: build argument, else default
}

func newBuild(df dockerfile, args map[string]string) *build {
	b := &build{df: df, args: args, globals: map[string]string{}}
	for _, in := range df.globals {
		k, def, hasDef := strings.Cut(in.args, "=")
		if v, ok := args[k]; ok {
			b.globals[k] = v
		} else if hasDef {
			b.globals[k] = expand(strings.Trim(def, `"`), b.globals)
		}
	}
	return b
}

// image is the FROM of a stage with the global ARGs expanded.
func (b *build) image(st stage) string { return expand(st.base, b.globals) }

// parent is the stage a stage starts from, if it starts from a stage (and
// not from an image): a FROM names an earlier stage.
func (b *build) parent(st stage) (stage, bool) {
	p, ok := b.df.stage(b.image(st))
	if !ok || p.index >= st.index {
		return stage{}, false
	}
	return p, true
}

// chain is the stages an image is made of, from the one that starts from
// an image to st itself, and that image.
func (b *build) chain(st stage) ([]stage, string) {
	out := []stage{st}
	for {
		p, ok := b.parent(out[0])
		if !ok {
			return out, b.image(out[0])
		}
		out = append([]stage{p}, out...)
	}
}

// scope is what an instruction of the stage sees: the stage's ARGs (build
// argument, else default, else the global of the same name) and the ENVs up
// to that instruction, with the ENVs of the stages it starts from; and the
// ENVs alone (what a later stage inherits).
func (b *build) scope(st stage, upto int) (vars, env map[string]string) {
	vars, env = map[string]string{}, map[string]string{}
	if p, ok := b.parent(st); ok {
		_, inherited := b.scope(p, len(p.ins))
		maps.Copy(env, inherited)
		maps.Copy(vars, inherited)
	}
	for _, in := range st.ins[:upto] {
		switch in.cmd {
		case "ARG":
			k, def, hasDef := strings.Cut(in.args, "=")
			if v, ok := b.args[k]; ok {
				vars[k] = v
			} else if hasDef {
				vars[k] = expand(strings.Trim(def, `"`), vars)
			} else if v, ok := b.globals[k]; ok {
				vars[k] = v
			}
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				if k, v, ok := strings.Cut(kv, "="); ok {
					vars[k] = expand(v, vars)
					env[k] = vars[k]
				}
			}
		}
	}
	return vars, env
}

// expanded returns the stage's instructions with the variables they see expanded.
func (b *build) expanded(st stage) []instruction {
	out := make([]instruction, len(st.ins))
	for i, in := range st.ins {
		vars, _ := b.scope(st, i)
		in.args = expand(in.args, vars)
		out[i] = in
	}
	return out
}

// copyFrom is the --from of a COPY ("" for the build context) and its
// other arguments.
func copyFrom(in instruction) (from string, args []string) {
	for _, f := range strings.Fields(in.args) {
		if v, ok := strings.CutPrefix(f, "--from="); ok {
			from = v
		} else if !strings.HasPrefix(f, "--") {
			args = append(args, f)
		}
	}
	return from, args
}

// used is every stage the build of st runs: its chain and, recursively,
// the chains of the stages its COPY --from instructions name.
func (b *build) used(st stage) []stage {
	seen := map[int]bool{}
	var out []stage
	var visit func(stage)
	visit = func(s stage) {
		chain, _ := b.chain(s)
		for _, c := range chain {
			if seen[c.index] {
				continue
			}
			seen[c.index] = true
			out = append(out, c)
			for _, in := range c.ins {
				if from, _ := copyFrom(in); in.cmd == "COPY" && from != "" {
					if src, ok := b.df.stage(from); ok {
						visit(src)
					}
				}
			}
		}
	}
	visit(st)
	return out
}

// ignoreRule is one line of .dockerignore.
type ignoreRule struct {
	pattern string
	exclude bool
}

func parseDockerignore(text string) []ignoreRule {
	var rules []ignoreRule
	for line := range strings.SplitSeq(text, "\n") {
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
