package charttest

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// bakeTarget is one build of docker-bake.hcl, resolved.
type bakeTarget struct {
	name, context, dockerfile, target string
	args                              map[string]string
	tags                              []string
}

// bake is docker-bake.hcl as `docker buildx bake --print` resolves it, for
// the part of the language the file uses: variables with defaults (not
// overridden by the environment: the test is hermetic), groups, targets
// with a matrix and string, map and list attributes. Anything else (a
// function, inherits, an attribute the test does not know) is an error, so
// that a change to the file extends the test rather than slip past it.
type bake struct {
	targets map[string]bakeTarget
	groups  map[string][]string
	// expansions: the targets a matrix target block expands to.
	expansions map[string][]string
}

var bakeTargetSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "name"}, {Name: "matrix"}, {Name: "context"}, {Name: "dockerfile"},
	{Name: "target"}, {Name: "args"}, {Name: "tags"},
}}

func parseBake(src []byte, filename string) (*bake, error) {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	top, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "group", LabelNames: []string{"name"}},
		{Type: "target", LabelNames: []string{"name"}},
	}})
	if diags.HasErrors() {
		return nil, diags
	}
	vars := map[string]cty.Value{}
	for _, b := range top.Blocks.OfType("variable") {
		c, diags := b.Body.Content(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "default"}}})
		if diags.HasErrors() {
			return nil, diags
		}
		vars[b.Labels[0]] = cty.StringVal("")
		if a, ok := c.Attributes["default"]; ok {
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				return nil, diags
			}
			vars[b.Labels[0]] = v
		}
	}
	out := &bake{targets: map[string]bakeTarget{}, groups: map[string][]string{}, expansions: map[string][]string{}}
	for _, b := range top.Blocks.OfType("group") {
		c, diags := b.Body.Content(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "targets", Required: true}}})
		if diags.HasErrors() {
			return nil, diags
		}
		var names []string
		if err := evalInto(c.Attributes["targets"], &hcl.EvalContext{Variables: vars}, &names); err != nil {
			return nil, err
		}
		out.groups[b.Labels[0]] = names
	}
	for _, b := range top.Blocks.OfType("target") {
		c, diags := b.Body.Content(bakeTargetSchema)
		if diags.HasErrors() {
			return nil, diags
		}
		combos := []map[string]cty.Value{{}}
		if a, ok := c.Attributes["matrix"]; ok {
			m, diags := a.Expr.Value(&hcl.EvalContext{Variables: vars})
			if diags.HasErrors() {
				return nil, diags
			}
			if !m.Type().IsObjectType() && !m.Type().IsMapType() {
				return nil, fmt.Errorf("target %s: matrix is not a map", b.Labels[0])
			}
			keys := slices.Sorted(maps.Keys(m.AsValueMap()))
			for _, k := range keys {
				var next []map[string]cty.Value
				for _, combo := range combos {
					for _, v := range m.AsValueMap()[k].AsValueSlice() {
						c := maps.Clone(combo)
						c[k] = v
						next = append(next, c)
					}
				}
				combos = next
			}
		}
		for _, combo := range combos {
			ctxVars := maps.Clone(vars)
			maps.Copy(ctxVars, combo)
			ctx := &hcl.EvalContext{Variables: ctxVars}
			t := bakeTarget{name: b.Labels[0], context: ".", dockerfile: "Dockerfile", args: map[string]string{}}
			for attr, dst := range map[string]any{
				"name": &t.name, "context": &t.context, "dockerfile": &t.dockerfile, "target": &t.target,
				"args": &t.args, "tags": &t.tags,
			} {
				if a, ok := c.Attributes[attr]; ok {
					if err := evalInto(a, ctx, dst); err != nil {
						return nil, fmt.Errorf("target %s: %w", b.Labels[0], err)
					}
				}
			}
			if _, dup := out.targets[t.name]; dup {
				return nil, fmt.Errorf("two targets named %s", t.name)
			}
			out.targets[t.name] = t
			out.expansions[b.Labels[0]] = append(out.expansions[b.Labels[0]], t.name)
		}
	}
	return out, nil
}

// evalInto evaluates an attribute into a string, a []string or a
// map[string]string (null map values are left out, as bake does).
func evalInto(a *hcl.Attribute, ctx *hcl.EvalContext, dst any) error {
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		return diags
	}
	switch d := dst.(type) {
	case *string:
		s, err := convert.Convert(v, cty.String)
		if err != nil || s.IsNull() {
			return fmt.Errorf("%s: want a string: %v", a.Name, err)
		}
		*d = s.AsString()
	case *[]string:
		l, err := convert.Convert(v, cty.List(cty.String))
		if err != nil || l.IsNull() {
			return fmt.Errorf("%s: want a list of strings: %v", a.Name, err)
		}
		for _, e := range l.AsValueSlice() {
			*d = append(*d, e.AsString())
		}
	case *map[string]string:
		m, err := convert.Convert(v, cty.Map(cty.String))
		if err != nil || m.IsNull() {
			return fmt.Errorf("%s: want a map of strings: %v", a.Name, err)
		}
		for k, e := range m.AsValueMap() {
			if !e.IsNull() {
				(*d)[k] = e.AsString()
			}
		}
	default:
		return fmt.Errorf("%s: cannot evaluate into %T", a.Name, dst)
	}
	return nil
}

// resolve lists the targets a name stands for: a target, a matrix target
// block (its expansions) or a group (recursively), sorted.
func (bk *bake) resolve(name string) ([]string, error) {
	seen := map[string]bool{}
	var visit func(string, int) error
	visit = func(n string, depth int) error {
		if depth > 10 {
			return fmt.Errorf("group %s: cycle", name)
		}
		if g, ok := bk.groups[n]; ok {
			for _, m := range g {
				if err := visit(m, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		if ex, ok := bk.expansions[n]; ok {
			for _, t := range ex {
				seen[t] = true
			}
			return nil
		}
		if _, ok := bk.targets[n]; ok {
			seen[n] = true
			return nil
		}
		return fmt.Errorf("%s is neither a group nor a target", n)
	}
	if err := visit(name, 0); err != nil {
		return nil, err
	}
	out := slices.Collect(maps.Keys(seen))
	sort.Strings(out)
	return out, nil
}

// The bake file reads the same with Buildx itself, where it is installed
// (`docker buildx`, or BUILDX=/path/to/buildx): `bake --print` needs no
// Docker engine. TestImages does not depend on it: it reads the file itself.
func TestBakeFileAsBuildxReadsIt(t *testing.T) {
	root := repoRoot(t)
	cmd := []string{"docker", "buildx"}
	if b := os.Getenv("BUILDX"); b != "" {
		cmd = []string{b}
	}
	if err := exec.Command(cmd[0], append(cmd[1:], "version")...).Run(); err != nil {
		t.Skipf("no Buildx here (%s version: %v); set BUILDX to a buildx binary to compare its reading of docker-bake.hcl with this test's", strings.Join(cmd, " "), err)
	}
	c := exec.Command(cmd[0], append(cmd[1:], "bake", "-f", "docker-bake.hcl", "--print")...)
	c.Dir = root
	// Hermetic: no REGISTRY, TAG, VERSION or REVISION from the caller.
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "BUILDX_NO_DEFAULT_ATTESTATIONS=1"}
	out, err := c.Output()
	if err != nil {
		t.Fatalf("buildx bake --print: %v", err)
	}
	var printed struct {
		Group  map[string]struct{ Targets []string }
		Target map[string]struct {
			Context, Dockerfile, Target string
			Args                        map[string]string
			Tags                        []string
		}
	}
	if err := json.Unmarshal(out, &printed); err != nil {
		t.Fatalf("buildx bake --print: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(root, "docker-bake.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	bk, err := parseBake(b, "docker-bake.hcl")
	if err != nil {
		t.Fatal(err)
	}
	ours, err := bk.resolve("default")
	if err != nil {
		t.Fatal(err)
	}
	if theirs := slices.Sorted(maps.Keys(printed.Target)); !slices.Equal(ours, theirs) {
		t.Errorf("targets: buildx %v, this test %v", theirs, ours)
	}
	for name, p := range printed.Target {
		o := bk.targets[name]
		if p.Context != o.context || p.Dockerfile != o.dockerfile || p.Target != o.target ||
			!maps.Equal(p.Args, o.args) || !slices.Equal(p.Tags, o.tags) {
			t.Errorf("%s: buildx reads %+v, this test %+v", name, p, o)
		}
	}
}
