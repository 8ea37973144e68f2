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
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
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

// FromCommand is a ConfigSchema that runs the command made for a service
// and takes its standard output.
func FromCommand(command func(service string) *exec.Cmd) ConfigSchema {
	return func(service string) ([]byte, error) {
		cmd := command(service)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.Bytes())
		}
		return out, nil
	}
}

// object is a decoded JSON object (numbers as json.Number).
type object = map[string]any

// Generate returns the values.schema.json of every chart under chartsDir
// that has a values.schema.src.json, keyed by chart name.
func Generate(chartsDir string, configSchema ConfigSchema) (map[string][]byte, error) {
	lib, err := readObject(filepath.Join(chartsDir, "shop-lib", "values.schema.src.json"))
	if err != nil {
		return nil, err
	}
	goDefs, err := json.Marshal(config.SchemaDefs())
	if err != nil {
		return nil, err
	}
	defs, err := decode(goDefs)
	if err != nil {
		return nil, err
	}
	if err := addDefs(defs, obj(lib, "$defs"), "charts/shop-lib/values.schema.src.json"); err != nil {
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
		b, err := compose(chart, src, lib, defs, configSchema)
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

func compose(chart, srcPath string, lib, sharedDefs object, configSchema ConfigSchema) ([]byte, error) {
	src, err := readObject(srcPath)
	if err != nil {
		return nil, err
	}
	for k := range src {
		if !slices.Contains([]string{"$comment", "title", "include", "config", "properties", "required"}, k) {
			return nil, fmt.Errorf("values.schema.src.json: unknown key %q", k)
		}
	}
	props, required := object{}, []any{}
	includes, _ := src["include"].([]any)
	for _, inc := range includes {
		name, _ := inc.(string)
		part := obj(obj(lib, "parts"), name)
		if part == nil {
			return nil, fmt.Errorf("include %q: charts/shop-lib/values.schema.src.json has no such part", inc)
		}
		merged, err := merge(props, obj(part, "properties"), "properties", false)
		if err != nil {
			return nil, err
		}
		props = merged.(object)
		required = union(required, part["required"])
	}
	// The chart's own properties; what it and the parts say about config
	// waits for the Go schema.
	own := maps.Clone(obj(src, "properties"))
	if own == nil {
		own = object{}
	}
	var configAdds []object
	for _, c := range []object{obj(props, "config"), obj(own, "config")} {
		if c != nil {
			configAdds = append(configAdds, c)
		}
	}
	delete(props, "config")
	delete(own, "config")
	merged, err := merge(props, own, "properties", false)
	if err != nil {
		return nil, err
	}
	props = merged.(object)
	required = union(required, src["required"])

	defs := object{}
	if err := addDefs(defs, sharedDefs, ""); err != nil {
		return nil, err
	}
	service, _ := src["config"].(string)
	switch {
	case service != "":
		config, configDefs, err := serviceConfig(service, configSchema)
		if err != nil {
			return nil, err
		}
		for _, add := range configAdds {
			add = maps.Clone(add)
			delete(add, "$comment") // a note about the source, not about the values
			m, err := merge(config, add, "properties.config", true)
			if err != nil {
				return nil, err
			}
			config = m.(object)
		}
		props["config"] = config
		required = union(required, []any{"config"})
		if err := addDefs(defs, configDefs, service+" config-schema"); err != nil {
			return nil, err
		}
	case len(configAdds) > 0:
		return nil, errors.New(`properties.config, but no "config" names the service whose config document it is`)
	}

	schema := object{
		"$schema":              Dialect,
		"$comment":             commentFor(chart, service),
		"type":                 "object",
		"additionalProperties": false,
		"properties":           props,
		"required":             required,
	}
	if t, ok := src["title"]; ok {
		schema["title"] = t
	}
	used, err := usedDefs(schema, defs)
	if err != nil {
		return nil, err
	}
	schema["$defs"] = used
	return encode(schema)
}

// addDefs adds the definitions of from to defs; a name both define must
// mean the same.
func addDefs(defs, from object, source string) error {
	for k, v := range from {
		if have, ok := defs[k]; ok && !reflect.DeepEqual(have, v) {
			return fmt.Errorf("$defs/%s: %s defines it differently from the config package (or the library)", k, source)
		}
		defs[k] = v
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
func serviceConfig(service string, configSchema ConfigSchema) (object, object, error) {
	b, err := configSchema(service)
	if err != nil {
		return nil, nil, fmt.Errorf("%s config-schema: %w", service, err)
	}
	doc, err := decode(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s config-schema: %w", service, err)
	}
	if doc["$schema"] != Dialect {
		return nil, nil, fmt.Errorf("%s config-schema: not a JSON Schema of dialect %s", service, Dialect)
	}
	spec := obj(obj(doc, "properties"), "spec")
	if spec == nil {
		return nil, nil, fmt.Errorf("%s config-schema: no properties.spec", service)
	}
	dropSecrets(spec)
	return spec, obj(doc, "$defs"), nil
}

func dropSecrets(s object) {
	props := obj(s, "properties")
	for k := range props {
		p := obj(props, k)
		if p["writeOnly"] == true {
			delete(props, k)
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
	bo, bok := base.(object)
	oo, ook := overlay.(object)
	if !bok || !ook {
		if base == nil {
			return overlay, nil
		}
		if !reflect.DeepEqual(base, overlay) {
			return nil, fmt.Errorf("%s: the sources disagree (%s, then %s)", path, brief(base), brief(overlay))
		}
		return base, nil
	}
	out := maps.Clone(bo)
	isProps := strings.HasSuffix(path, ".properties") || path == "properties"
	keys := make([]string, 0, len(oo))
	for k := range oo {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := path + "." + k
		have, ok := out[k]
		switch {
		case !ok && strict && isProps:
			return nil, fmt.Errorf("%s: not a field of the service's Go config type", p)
		case !ok:
			out[k] = oo[k]
		case k == "required" && !isProps:
			out[k] = union(have, oo[k])
		default:
			m, err := merge(have, oo[k], p, strict)
			if err != nil {
				return nil, err
			}
			out[k] = m
		}
	}
	return out, nil
}

func brief(v any) string {
	b, err := json.Marshal(v)
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
// other definitions; a reference to a missing one is an error.
func usedDefs(schema, defs object) (object, error) {
	used := object{}
	var missing []string
	var walk func(v any)
	walk = func(v any) {
		switch n := v.(type) {
		case object:
			if ref, ok := n["$ref"].(string); ok {
				name, local := strings.CutPrefix(ref, "#/$defs/")
				d, defined := defs[name]
				switch {
				case !local || !defined:
					missing = append(missing, ref)
				case used[name] == nil:
					used[name] = d
					walk(d)
				}
			}
			for _, e := range n {
				walk(e)
			}
		case []any:
			for _, e := range n {
				walk(e)
			}
		}
	}
	walk(schema)
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("$ref to no definition: %s (references stay within #/$defs/)", strings.Join(slices.Compact(missing), ", "))
	}
	return used, nil
}

func obj(o object, key string) object {
	v, _ := o[key].(object)
	return v
}

func readObject(path string) (object, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	o, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return o, nil
}

// decode reads a JSON object, numbers as json.Number (written back as read).
func decode(b []byte) (object, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var o object
	if err := d.Decode(&o); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("more than one JSON value")
	}
	return o, nil
}

// encode writes v indented by two spaces, keys sorted, with a trailing
// newline and without HTML escaping (patterns keep their < and >).
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
