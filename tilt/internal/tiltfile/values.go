// Package tiltfile evaluates a Tiltfile with go.starlark.net against stubs of
// Tilt's builtins that record what it declares (images, YAML, resources,
// local commands, port forwards, links), and assembles Tilt's resource model
// from that record the way Tilt does (workloads named after their objects,
// Services grouped with the workloads they select, object fragments, renames),
// so that tests can check the declarations against the repository.
//
// Only the builtins listed in universe exist, each with Tilt's parameter
// names: an unknown builtin, a misspelt keyword argument or a missing
// required one fails the evaluation, as it would fail `tilt up`. Builtins that
// only read (read_yaml, helm, listdir...) really read; nothing is built,
// deployed or run, except `helm template` for helm().
package tiltfile

import (
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/starlark"
)

// Blob is Tilt's blob type: text returned by read_file, helm, local...
type Blob struct{ Text, Source string }

var _ starlark.Value = Blob{}

func (b Blob) String() string        { return b.Text }
func (b Blob) Type() string          { return "blob" }
func (b Blob) Freeze()               {}
func (b Blob) Truth() starlark.Bool  { return len(b.Text) > 0 }
func (b Blob) Hash() (uint32, error) { return starlark.String(b.Text).Hash() }

// Object is what a value-making builtin returns (port_forward, link, sync,
// probe...): its kind and its bound arguments.
type Object struct {
	Kind string
	Args map[string]starlark.Value
}

var _ starlark.HasAttrs = Object{}

func (o Object) String() string {
	keys := make([]string, 0, len(o.Args))
	for k := range o.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+o.Args[k].String())
	}
	return o.Kind + "(" + strings.Join(parts, ", ") + ")"
}
func (o Object) Type() string         { return o.Kind }
func (o Object) Freeze()              {}
func (o Object) Truth() starlark.Bool { return true }
func (o Object) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: %s", o.Kind)
}
func (o Object) Attr(name string) (starlark.Value, error) {
	if v, ok := o.Args[name]; ok {
		return v, nil
	}
	return nil, nil
}
func (o Object) AttrNames() []string {
	names := make([]string, 0, len(o.Args))
	for k := range o.Args {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Str returns v as a Go string (strings and blobs), or "".
func Str(v starlark.Value) string {
	switch s := v.(type) {
	case starlark.String:
		return string(s)
	case Blob:
		return s.Text
	}
	return ""
}

// Strs returns a string or a sequence of strings as a slice.
func Strs(v starlark.Value) []string {
	switch s := v.(type) {
	case nil, starlark.NoneType:
		return nil
	case starlark.String, Blob:
		return []string{Str(s)}
	case starlark.Iterable:
		var out []string
		it := s.Iterate()
		defer it.Done()
		var x starlark.Value
		for it.Next(&x) {
			out = append(out, Str(x))
		}
		return out
	}
	return nil
}

// List returns the elements of a sequence (or the value itself when it is
// not one, as Tilt accepts a single value where it takes a list).
func List(v starlark.Value) []starlark.Value {
	switch s := v.(type) {
	case nil, starlark.NoneType:
		return nil
	case starlark.String, Blob:
		return []starlark.Value{s}
	case starlark.Iterable:
		var out []starlark.Value
		it := s.Iterate()
		defer it.Done()
		var x starlark.Value
		for it.Next(&x) {
			out = append(out, x)
		}
		return out
	}
	return []starlark.Value{v}
}

// Bool returns v's truth (false for a missing argument).
func Bool(v starlark.Value) bool { return v != nil && bool(v.Truth()) }

// Int returns an int argument, or 0.
func Int(v starlark.Value) int {
	if i, ok := v.(starlark.Int); ok {
		n, _ := i.Int64()
		return int(n)
	}
	return 0
}

// toStarlark converts decoded YAML/JSON (maps, slices, scalars) to Starlark values.
func toStarlark(x any) (starlark.Value, error) {
	switch v := x.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(v), nil
	case string:
		return starlark.String(v), nil
	case int64:
		return starlark.MakeInt64(v), nil
	case int:
		return starlark.MakeInt(v), nil
	case float64:
		if v == float64(int64(v)) {
			return starlark.MakeInt64(int64(v)), nil
		}
		return starlark.Float(v), nil
	case []any:
		l := make([]starlark.Value, len(v))
		for i, e := range v {
			sv, err := toStarlark(e)
			if err != nil {
				return nil, err
			}
			l[i] = sv
		}
		return starlark.NewList(l), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(v))
		for _, k := range keys {
			sv, err := toStarlark(v[k])
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(starlark.String(k), sv); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("cannot convert %T to a Starlark value", x)
}

// fromStarlark converts Starlark data (dicts with string keys, lists,
// tuples, scalars) to Go values for YAML/JSON encoding.
func fromStarlark(v starlark.Value) (any, error) {
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.String:
		return string(x), nil
	case Blob:
		return x.Text, nil
	case starlark.Int:
		n, ok := x.Int64()
		if !ok {
			return nil, fmt.Errorf("integer %s too large", x)
		}
		return n, nil
	case starlark.Float:
		return float64(x), nil
	case *starlark.Dict:
		m := make(map[string]any, x.Len())
		for _, item := range x.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("dict key %s is not a string", item[0])
			}
			gv, err := fromStarlark(item[1])
			if err != nil {
				return nil, err
			}
			m[string(k)] = gv
		}
		return m, nil
	case *starlark.List, starlark.Tuple:
		var out []any
		for _, e := range List(x) {
			gv, err := fromStarlark(e)
			if err != nil {
				return nil, err
			}
			out = append(out, gv)
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot encode a %s", v.Type())
}
