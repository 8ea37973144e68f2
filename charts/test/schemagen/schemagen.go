// Package schemagen composes each chart's values.schema.json (`make
// schemas`), so that no part of a schema is written twice and the `config`
// part is never written by hand:
//
//   - charts/shop-lib/values.schema.src.json holds what the charts share:
//     parts (groups of top-level properties: pod, server, secrets, ...) and
//     the $defs the parts and the charts refer to;
//   - charts/<chart>/values.schema.src.json names the parts the chart
//     includes, its own properties (merged into the parts': a chart adds
//     its egress rules to the server part's networkPolicy) and the service
//     whose configuration document fills `config`;
//   - that document's spec schema comes from the service binary
//     (`<service> config-schema`), which writes it from its Go config types
//     (services/platform/config): a new Go field is in the chart's schema
//     at the next make schemas. Secret fields are left out (the chart
//     passes secrets through secrets.*, never its ConfigMap), and what the
//     sources add under config may constrain and describe the Go fields but
//     not invent new ones.
//
// Besides the library's $defs, every chart may refer to the definitions the
// config package writes (config.SchemaDefs: duration), so that a Go
// duration is one pattern everywhere. The output keeps only the $defs it
// refers to. Merging never overrides:
// two sources that say different things about the same keyword are an
// error, except `required`, which is their union.
package schemagen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/goshop-platform/shop/services/platform/config"
)

// Dialect is the JSON Schema version the charts' schemas are written in
// (what the services' config-schema writes; Helm validates it).
const Dialect = config.SchemaVersion

// ConfigSchema returns what `<service> config-schema` prints.
type ConfigSchema func(service string) ([]byte, error)

// Generate returns the values.schema.json of every chart under chartsDir
// that has a values.schema.src.json, keyed by chart name.
func Generate(chartsDir string, configSchema ConfigSchema) (map[string][]byte, error) {
	lib, err := readObject(filepath.Join(chartsDir, "shop-lib", "values.schema.src.json"))
	if err != nil {
		return nil, err
	}
	goDefs, err := marshal(config.SchemaDefs())
	if err != nil {
		return nil, err
	}
	defs, err := decode(goDefs)
	if err != nil {
		return nil, err
	}
	if err := addDefs(defs.(*object), lib.obj("$defs"), "charts/shop-lib/values.schema.src.json"); err != nil {
		return nil, err
	}
	srcs, err := filepath.Glob(filepath.Join(chartsDir, "*", "values.schema.src.json"))
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, src := range srcs {
		chart := filepath.Base(filepath.Dir(src))
		if chart == "shop-lib" {
			continue
		}
		b, err := compose(chart, src, lib, defs.(*object), configSchema)
		if err != nil {
			return nil, fmt.Errorf("charts/%s: %w", chart, err)
		}
		out[chart] = b
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no charts/*/values.schema.src.json under %s", chartsDir)
	}
	return out, nil
}

func compose(chart, srcPath string, lib, sharedDefs *object, configSchema ConfigSchema) ([]byte, error) {
	src, err := readObject(srcPath)
	if err != nil {
		return nil, err
	}
	for _, k := range src.keys {
		if !slices.Contains([]string{"$comment", "title", "include", "config", "properties", "required"}, k) {
			return nil, fmt.Errorf("values.schema.src.json: unknown key %q", k)
		}
	}
	props, required := newObject(), []any{}
	includes, _ := src.values["include"].([]any)
	for _, inc := range includes {
		name, _ := inc.(string)
		part := lib.obj("parts").obj(name)
		if part == nil {
			return nil, fmt.Errorf("include %q: charts/shop-lib/values.schema.src.json has no such part", inc)
		}
		if p := part.obj("properties"); p != nil {
			merged, err := merge(props, p, "properties", false)
			if err != nil {
				return nil, err
			}
			props = merged.(*object)
		}
		required = union(required, part.values["required"])
	}
	// The chart's own properties; its config additions wait for the Go schema.
	own := src.obj("properties")
	if own == nil {
		own = newObject()
	}
	var configAdds []*object
	if c := props.obj("config"); c != nil {
		configAdds = append(configAdds, c)
	}
	if c := own.obj("config"); c != nil {
		configAdds = append(configAdds, c)
	}
	rest := newObject()
	for _, k := range own.keys {
		if k != "config" {
			rest.set(k, own.values[k])
		}
	}
	merged, err := merge(props, rest, "properties", false)
	if err != nil {
		return nil, err
	}
	props = merged.(*object)
	required = union(required, src.values["required"])

	defs := newObject()
	if err := addDefs(defs, sharedDefs, ""); err != nil {
		return nil, err
	}
	service, _ := src.values["config"].(string)
	switch {
	case service != "":
		config, configDefs, err := serviceConfig(service, configSchema)
		if err != nil {
			return nil, err
		}
		for _, add := range configAdds {
			add.delete("$comment") // a note about the source, not about the values
			m, err := merge(config, add, "properties.config", true)
			if err != nil {
				return nil, err
			}
			config = m.(*object)
		}
		props.set("config", config)
		required = union(required, []any{"config"})
		if err := addDefs(defs, configDefs, service+" config-schema"); err != nil {
			return nil, err
		}
	case len(configAdds) > 0:
		return nil, errors.New(`properties.config, but no "config" names the service whose config document it is`)
	}

	schema := newObject()
	schema.set("$schema", Dialect)
	schema.set("$comment", commentFor(chart, service))
	if t, ok := src.values["title"]; ok {
		schema.set("title", t)
	}
	schema.set("type", "object")
	schema.set("additionalProperties", false)
	schema.set("properties", props)
	schema.set("required", required)
	used, err := usedDefs(schema, defs)
	if err != nil {
		return nil, err
	}
	schema.set("$defs", used)
	return encode(schema)
}

// addDefs adds the definitions of from to defs; a name both define must
// mean the same.
func addDefs(defs, from *object, source string) error {
	if from == nil {
		return nil
	}
	for _, k := range from.keys {
		if have, ok := defs.get(k); ok && !equal(have, from.values[k]) {
			return fmt.Errorf("$defs/%s: %s defines it differently from the config package (or the library)", k, source)
		}
		defs.set(k, from.values[k])
	}
	return nil
}

func commentFor(chart, service string) string {
	from := fmt.Sprintf("charts/shop-lib/values.schema.src.json and charts/%s/values.schema.src.json", chart)
	if service != "" {
		from = fmt.Sprintf("charts/shop-lib/values.schema.src.json, charts/%s/values.schema.src.json and `%s config-schema` (the Go config types)", chart, service)
	}
	return "Generated by make schemas from " + from + ": edit those, never this file."
}

// serviceConfig is the spec schema of the service's configuration document
// without its secret (writeOnly) fields, and the $defs it refers to.
func serviceConfig(service string, configSchema ConfigSchema) (*object, *object, error) {
	b, err := configSchema(service)
	if err != nil {
		return nil, nil, fmt.Errorf("%s config-schema: %w", service, err)
	}
	v, err := decode(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s config-schema: %w", service, err)
	}
	doc, _ := v.(*object)
	if doc == nil || doc.values["$schema"] != Dialect {
		return nil, nil, fmt.Errorf("%s config-schema: not a JSON Schema of dialect %s", service, Dialect)
	}
	spec := doc.obj("properties").obj("spec")
	if spec == nil {
		return nil, nil, fmt.Errorf("%s config-schema: no properties.spec", service)
	}
	dropSecrets(spec)
	defs := doc.obj("$defs")
	if defs == nil {
		defs = newObject()
	}
	return spec, defs, nil
}

func dropSecrets(s *object) {
	props := s.obj("properties")
	if props == nil {
		return
	}
	for _, k := range slices.Clone(props.keys) {
		p := props.obj(k)
		if p == nil {
			continue
		}
		if p.values["writeOnly"] == true {
			props.delete(k)
			continue
		}
		dropSecrets(p)
	}
}

// merge adds overlay to base (both decoded JSON). Objects merge key by key,
// `required` lists are joined, and any other keyword both set must be
// equal. strict: overlay may add no property (a key of a "properties"
// object) that base lacks.
func merge(base, overlay any, path string, strict bool) (any, error) {
	bo, bok := base.(*object)
	oo, ook := overlay.(*object)
	if !bok || !ook {
		if base == nil {
			return overlay, nil
		}
		if !equal(base, overlay) {
			return nil, fmt.Errorf("%s: the sources disagree (%s, then %s)", path, brief(base), brief(overlay))
		}
		return base, nil
	}
	out := newObject()
	for _, k := range bo.keys {
		out.set(k, bo.values[k])
	}
	isProps := strings.HasSuffix(path, ".properties") || path == "properties"
	for _, k := range oo.keys {
		p := path + "." + k
		have, ok := out.get(k)
		switch {
		case !ok && strict && isProps:
			return nil, fmt.Errorf("%s: not a field of the service's Go config type", p)
		case !ok:
			out.set(k, oo.values[k])
		case k == "required" && !isProps:
			out.set(k, union(have, oo.values[k]))
		default:
			m, err := merge(have, oo.values[k], p, strict)
			if err != nil {
				return nil, err
			}
			out.set(k, m)
		}
	}
	return out, nil
}

func brief(v any) string {
	b, err := marshal(v)
	if err != nil || len(b) > 80 {
		return fmt.Sprintf("%T", v)
	}
	return string(b)
}

// union appends the strings of b that a lacks.
func union(a, b any) []any {
	out, _ := a.([]any)
	out = slices.Clone(out)
	list, _ := b.([]any)
	for _, v := range list {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// usedDefs returns the definitions schema refers to, directly or through
// other definitions, sorted by name; a reference to a missing one is an
// error.
func usedDefs(schema, defs *object) (*object, error) {
	used := map[string]bool{}
	var missing []string
	var walk func(v any)
	walk = func(v any) {
		switch n := v.(type) {
		case *object:
			if ref, ok := n.values["$ref"].(string); ok {
				name, ok := strings.CutPrefix(ref, "#/$defs/")
				switch {
				case !ok:
					missing = append(missing, ref)
				case !used[name]:
					used[name] = true
					if d, ok := defs.get(name); ok {
						walk(d)
					} else {
						missing = append(missing, ref)
					}
				}
			}
			for _, k := range n.keys {
				walk(n.values[k])
			}
		case []any:
			for _, e := range n {
				walk(e)
			}
		}
	}
	walk(schema)
	if len(missing) > 0 {
		return nil, fmt.Errorf("$ref to no definition: %s (references stay within #/$defs/)", strings.Join(missing, ", "))
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	out := newObject()
	for _, n := range names {
		out.set(n, defs.values[n])
	}
	return out, nil
}

func readObject(path string) (*object, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	o, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("%s: not a JSON object", path)
	}
	return o, nil
}
