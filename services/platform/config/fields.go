package config

import (
	"reflect"
	"strings"
	"unicode"
)

// Secret is a configuration value that must never be printed or logged. It
// can be set in the document, through its environment variable, or through
// <VAR>_FILE naming a mounted file (Kubernetes Secret volumes, Docker secrets).
type Secret string

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// String masks the secret so that fmt and slog never show it.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "******"
}

// MarshalJSON masks the secret in every rendering of the config.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

var secretType = reflect.TypeOf(Secret(""))

type leaf struct {
	key       string // viper key: "spec.http.readTimeout"
	envSuffix string // "HTTP_READ_TIMEOUT"
	index     []int
	secret    bool
}

// leafFields walks the spec struct and returns every leaf field with its
// viper key and environment variable suffix.
func leafFields(t reflect.Type, key, env string) []leaf {
	var out []leaf
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		k := key + "." + name
		e := UpperSnake(name)
		if env != "" {
			e = env + "_" + e
		}
		if f.Type.Kind() == reflect.Struct && f.Type != secretType {
			for _, sub := range leafFields(f.Type, k, e) {
				sub.index = append([]int{i}, sub.index...)
				out = append(out, sub)
			}
			continue
		}
		out = append(out, leaf{key: k, envSuffix: e, index: []int{i}, secret: f.Type == secretType})
	}
	return out
}

func valueAt(v reflect.Value, index []int) reflect.Value {
	for _, i := range index {
		v = v.Field(i)
	}
	if v.Type() == secretType {
		return reflect.ValueOf(v.String()) // raw value, not the masked String()
	}
	return v
}

// UpperSnake is the rule from a document field to its part of an
// environment variable name: "readTimeout" -> "READ_TIMEOUT", with acronyms
// kept together: "activeKeyID" -> "ACTIVE_KEY_ID", "accessTokenTTL" ->
// "ACCESS_TOKEN_TTL". Exported for the tests that derive variable names
// from a service's print-config (compose/).
func UpperSnake(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) {
			prevLower := unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])
			acronymEnd := unicode.IsUpper(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || acronymEnd {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}
