package problem

// Locating the offending value: encoding/json's errors name fields loosely,
// so these helpers walk the body to build an exact JSON pointer.

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
)

// typeErrorPointer names the value a type error is about. encoding/json's
// Field is a dotted path of JSON field names that leaves out array indices
// and map keys (items[1].quantity is reported as "items.quantity"), so the
// pointer is rebuilt from the error's byte offset instead: the body is walked
// token by token to the value that ends exactly there (a scalar) or opens
// just before it (an object or array), and the keys are the ones the client
// sent. The walked path must contain Field's names in order, otherwise the
// pointer falls back to Field. Limitation: a type error raised inside a
// type's own UnmarshalJSON carries an offset into that value, not into the
// body; such errors, and any the walk cannot place, get the Field pointer,
// which lacks array indices and map keys.
func typeErrorPointer(body []byte, e *json.UnmarshalTypeError) string {
	if segs, ok := pathAtOffset(body, e.Offset); ok && containsNames(segs, e.Field) {
		return Pointer(segs...)
	}
	return fieldPointer(e.Field)
}

// containsNames reports whether the dotted names of field appear in order
// among the object keys of path (case-insensitively, as encoding/json matches).
func containsNames(path []any, field string) bool {
	if field == "" {
		return true
	}
	names := strings.Split(field, ".")
	i := 0
	for _, seg := range path {
		if key, ok := seg.(string); ok && i < len(names) && strings.EqualFold(key, names[i]) {
			i++
		}
	}
	return i == len(names)
}

// pathAtOffset returns the path (object keys and array indices) of the JSON
// value in body that ends at offset, or whose opening bracket ends there.
func pathAtOffset(body []byte, offset int64) ([]any, bool) {
	type frame struct {
		object  bool
		wantKey bool // object: the next token is a key (or the closing brace)
		key     string
		index   int // array: index of the next element
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []*frame
	next := func() { // a value ended: advance its container
		if len(stack) == 0 {
			return
		}
		if top := stack[len(stack)-1]; top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		end := dec.InputOffset()
		if end > offset {
			return nil, false
		}
		if len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey {
			top := stack[len(stack)-1]
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				next()
				continue
			}
			top.key, _ = tok.(string)
			top.wantKey = false
			continue
		}
		if tok == json.Delim(']') {
			stack = stack[:len(stack)-1]
			next()
			continue
		}
		if end == offset {
			segs := make([]any, len(stack))
			for i, f := range stack {
				if f.object {
					segs[i] = f.key
				} else {
					segs[i] = f.index
				}
			}
			return segs, true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		default:
			next()
		}
	}
}

// unknownFieldPointer locates the key encoding/json rejected as unknown. Its
// error names only the key, so the body is walked alongside dst's type to the
// first object key that no struct field accepts; encoding/json stops at the
// first such key in document order, so that is the one. Limitation: field
// matching follows encoding/json's rules for tags, embedded structs and
// case-insensitive names but not its Unicode special cases or its
// tie-breaking between ambiguous embedded fields; values that decode
// themselves (json.Unmarshaler) are not looked into. When the key is not
// found this way the pointer names it at the top level.
func unknownFieldPointer(body []byte, dst any, name string) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if ptr, ok := findUnknownField(dec, reflect.TypeOf(dst), nil, name); ok {
		return ptr
	}
	return Pointer(name)
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// findUnknownField reads one value that decodes into t (nil: not looked into).
func findUnknownField(dec *json.Decoder, t reflect.Type, path []any, name string) (string, bool) {
	tok, err := dec.Token()
	if err != nil {
		return "", false
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return "", false
	}
	for t != nil {
		if t.Kind() == reflect.Interface || t.Implements(jsonUnmarshalerType) || t.Implements(textUnmarshalerType) ||
			reflect.PointerTo(t).Implements(jsonUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
			t = nil
		} else if t.Kind() == reflect.Pointer {
			t = t.Elem()
		} else {
			break
		}
	}
	switch delim {
	case '{':
		for dec.More() {
			keyTok, err := dec.Token()
			if err != nil {
				return "", false
			}
			key, _ := keyTok.(string)
			child := append(path[:len(path):len(path)], key)
			var ct reflect.Type
			if t != nil {
				switch t.Kind() {
				case reflect.Struct:
					var known bool
					if ct, known = structField(t, key); !known && key == name {
						return Pointer(child...), true
					}
				case reflect.Map:
					ct = t.Elem()
				}
			}
			before := dec.InputOffset()
			if ptr, ok := findUnknownField(dec, ct, child, name); ok {
				return ptr, true
			}
			if dec.InputOffset() == before {
				return "", false // the value could not be read: give up rather than loop
			}
		}
	case '[':
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			before := dec.InputOffset()
			if ptr, ok := findUnknownField(dec, et, append(path[:len(path):len(path)], i), name); ok {
				return ptr, true
			}
			if dec.InputOffset() == before {
				return "", false
			}
		}
	}
	_, _ = dec.Token() // the closing delimiter
	return "", false
}

// structField returns the type of the field of struct t that encoding/json
// decodes key into: an exact name match first, otherwise a case-insensitive one.
func structField(t reflect.Type, key string) (reflect.Type, bool) {
	fields := jsonFields(t, nil, map[reflect.Type]bool{})
	for _, f := range fields {
		if f.name == key {
			return f.typ, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f.typ, true
		}
	}
	return nil, false
}

type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists the fields encoding/json sees in struct t, those of
// embedded structs after t's own.
func jsonFields(t reflect.Type, out []jsonField, seen map[reflect.Type]bool) []jsonField {
	if seen[t] {
		return out
	}
	seen[t] = true
	var embedded []reflect.Type
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if name == "" && ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name, f.Type})
	}
	for _, et := range embedded {
		out = jsonFields(et, out, seen)
	}
	return out
}

// fieldPointer turns encoding/json's dotted field path ("items.quantity")
// into a JSON pointer. The path has no array indices or map keys; it is the
// fallback when typeErrorPointer cannot place the error.
func fieldPointer(field string) string {
	if field == "" {
		return "#"
	}
	parts := strings.Split(field, ".")
	segs := make([]any, len(parts))
	for i, p := range parts {
		segs[i] = p
	}
	return Pointer(segs...)
}
