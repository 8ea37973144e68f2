package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The JSON Schema (draft 2020-12) of a document, written from the spec's Go
// type by the rules Load applies, so that an editor, a Helm chart or CI can
// refuse what the service would refuse before it starts:
//
//   - a struct is an object that takes exactly its json-tagged fields
//     (unknown keys are errors);
//   - a time.Duration is a string such as "15s" ($defs/duration);
//   - a Secret is a string marked writeOnly (print-config masks it; it can
//     also come from <VAR>_FILE);
//   - strings, bools, integers (unsigned: minimum 0), floats, slices and
//     string-keyed maps map to their JSON types.
//
// A field's `jsonschema` tag adds constraints that Validate also checks,
// comma-separated: minimum=N, maximum=N, minLength=N, pattern=REGEXP,
// enum=a|b|c. On a slice, pattern, minLength and enum constrain its items.
// Values cannot contain commas.

// SchemaVersion is the JSON Schema dialect JSONSchema writes.
const SchemaVersion = "https://json-schema.org/draft/2020-12/schema"

// DurationPattern matches what time.ParseDuration accepts for a
// configuration (no sign: durations here are never negative).
const DurationPattern = `^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`

// SchemaDefs are the definitions the spec schemas refer to ("#/$defs/<name>").
func SchemaDefs() map[string]any {
	return map[string]any{
		"duration": ordered{
			{"type", "string"},
			{"description", "A Go duration: 500ms, 15s, 2m, 1h30m"},
			{"pattern", DurationPattern},
		},
	}
}

// JSONSchema returns the schema of the loader's document, indented, with a
// trailing newline. It fails on a field type or tag it cannot express.
func (l Loader[S]) JSONSchema() ([]byte, error) {
	spec, err := l.specSchema(reflect.TypeOf(l.Defaults), "spec", "")
	if err != nil {
		return nil, err
	}
	spec = append(spec, kv{"description", fmt.Sprintf("The spec of the %s document (apiVersion %s)", l.Kind, l.APIVersion)})
	doc := ordered{
		{"$schema", SchemaVersion},
		{"title", l.Kind},
		{"type", "object"},
		{"additionalProperties", false},
		{"properties", ordered{
			{"apiVersion", ordered{{"const", l.APIVersion}}},
			{"kind", ordered{{"const", l.Kind}}},
			{"spec", spec},
		}},
		{"$defs", SchemaDefs()},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// FprintSchema writes JSONSchema to w (the config-schema command).
func (l Loader[S]) FprintSchema(w io.Writer) error {
	b, err := l.JSONSchema()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

var durationType = reflect.TypeOf(time.Duration(0))

// specSchema is the schema of a struct type; path names it in errors, env
// is the environment variable suffix of its fields' parent (as Load uses).
func (l Loader[S]) specSchema(t reflect.Type, path, env string) (ordered, error) {
	props := ordered{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		e := UpperSnake(name)
		if env != "" {
			e = env + "_" + e
		}
		s, err := l.fieldSchema(f.Type, path+"."+name, e)
		if err != nil {
			return nil, err
		}
		if s, err = constrain(s, f.Type, f.Tag.Get("jsonschema")); err != nil {
			return nil, fmt.Errorf("%s: %w", path+"."+name, err)
		}
		props = append(props, kv{name, s})
	}
	return ordered{{"type", "object"}, {"additionalProperties", false}, {"properties", props}}, nil
}

func (l Loader[S]) fieldSchema(t reflect.Type, path, env string) (ordered, error) {
	switch {
	case t == durationType:
		return ordered{{"$ref", "#/$defs/duration"}}, nil
	case t == secretType:
		return ordered{
			{"type", "string"},
			{"description", fmt.Sprintf("A secret: print-config masks it; also read from the file named by %s_FILE", l.envName(env))},
			{"writeOnly", true},
		}, nil
	}
	switch t.Kind() {
	case reflect.Struct:
		return l.specSchema(t, path, env)
	case reflect.String:
		return ordered{{"type", "string"}}, nil
	case reflect.Bool:
		return ordered{{"type", "boolean"}}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return ordered{{"type", "integer"}}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return ordered{{"type", "integer"}, {"minimum", 0}}, nil
	case reflect.Float32, reflect.Float64:
		return ordered{{"type", "number"}}, nil
	case reflect.Slice:
		items, err := l.fieldSchema(t.Elem(), path+"[]", env)
		if err != nil {
			return nil, err
		}
		return ordered{{"type", "array"}, {"items", items}}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%s: map keys must be strings, not %s", path, t.Key())
		}
		values, err := l.fieldSchema(t.Elem(), path+"{}", env)
		if err != nil {
			return nil, err
		}
		return ordered{{"type", "object"}, {"additionalProperties", values}}, nil
	}
	return nil, fmt.Errorf("%s: no JSON Schema for Go type %s", path, t)
}

// constrain applies a `jsonschema` tag to s, the schema of a field of type
// t; on a slice, string constraints apply to its items.
func constrain(s ordered, t reflect.Type, tag string) (ordered, error) {
	if tag == "" {
		return s, nil
	}
	slice := t.Kind() == reflect.Slice
	var items ordered
	if slice {
		items = s.get("items").(ordered)
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(tag, ",") {
		key, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("jsonschema tag %q: %q is not key=value", tag, part)
		}
		if seen[key] {
			return nil, fmt.Errorf("jsonschema tag %q: %s twice (one enum lists its values as a|b)", tag, key)
		}
		seen[key] = true
		var value any
		switch key {
		case "minimum", "maximum", "minLength":
			n, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return nil, fmt.Errorf("jsonschema tag %q: %s=%q is not a number", tag, key, val)
			}
			value = json.Number(strconv.FormatFloat(n, 'f', -1, 64))
		case "pattern":
			if _, err := regexp.Compile(val); err != nil {
				return nil, fmt.Errorf("jsonschema tag %q: pattern: %w", tag, err)
			}
			value = val
		case "enum":
			var values []any
			for v := range strings.SplitSeq(val, "|") {
				values = append(values, v)
			}
			value = values
		default:
			return nil, fmt.Errorf("jsonschema tag %q: unknown key %q (minimum, maximum, minLength, pattern, enum)", tag, key)
		}
		switch {
		case !slice:
			s.set(key, value)
		case key == "minimum" || key == "maximum":
			return nil, fmt.Errorf("jsonschema tag %q: %s on a slice", tag, key)
		default:
			items.set(key, value)
		}
	}
	if slice {
		s.set("items", items)
	}
	return s, nil
}

// ordered is a JSON object that keeps its keys in the order written (the
// schema reads like the Go type: fields in declaration order).
type ordered []kv

type kv struct {
	key   string
	value any
}

func (o ordered) get(key string) any {
	for _, e := range o {
		if e.key == key {
			return e.value
		}
	}
	return nil
}

// set replaces key's value, or appends key.
func (o *ordered) set(key string, value any) {
	for i, e := range *o {
		if e.key == key {
			(*o)[i].value = value
			return
		}
	}
	*o = append(*o, kv{key, value})
}

// MarshalJSON writes the object with its keys in order.
func (o ordered) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(e.key)
		if err != nil {
			return nil, err
		}
		v, err := marshalNoEscape(e.value)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
