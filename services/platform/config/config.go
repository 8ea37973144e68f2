// Package config loads a service's operator-style configuration: one
// versioned document shaped like a Kubernetes object (apiVersion, kind,
// spec), read with viper from a file, with environment variables overriding
// single fields and secrets coming from the environment or mounted files.
// Loading is strict: unknown keys, a wrong apiVersion/kind and invalid values
// are errors that name the field. Print shows the effective document with
// secrets masked, and Watch hot-reloads the file.
package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"sigs.k8s.io/yaml"
)

var topLevel = regexp.MustCompile(`'[^']*Document\[[^']*' has invalid keys:`)

// Document is the versioned configuration document of one service.
type Document[S any] struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       S      `json:"spec"`
}

// Validator is implemented by specs that check their own values. Problems
// are reported with field paths relative to the document ("spec.http.addr").
type Validator interface {
	Validate() FieldErrors
}

// Loader describes how one service's document is read.
type Loader[S any] struct {
	APIVersion string // e.g. "shop.goshop.dev/v1alpha1"
	Kind       string // e.g. "APIConfig"
	EnvPrefix  string // e.g. "API": spec.http.addr <- API_HTTP_ADDR
	Defaults   S      // every leaf field here can be overridden from the environment
	// Environ replaces os.Environ for tests; nil means the process environment.
	Environ func() []string
}

// Load reads the document at path ("" means defaults plus environment only),
// applies environment overrides and validates the result.
func (l Loader[S]) Load(path string) (*Document[S], error) {
	v := viper.New()
	v.SetConfigType("yaml")
	v.SetDefault("apiVersion", l.APIVersion)
	v.SetDefault("kind", l.Kind)
	leaves := leafFields(reflect.TypeOf(l.Defaults), "spec", "")
	for _, f := range leaves {
		v.SetDefault(f.key, valueAt(reflect.ValueOf(l.Defaults), f.index).Interface())
	}
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("read config file %s: %w (fix the YAML or point --config at the right file)", path, err)
		}
	}
	env := l.envMap()
	for _, f := range leaves {
		name := l.envName(f.envSuffix)
		if val, ok := env[name]; ok {
			v.Set(f.key, val)
		}
		if f.secret {
			if file, ok := env[name+"_FILE"]; ok {
				b, err := os.ReadFile(file)
				if err != nil {
					return nil, fmt.Errorf("%s_FILE: read secret for %s: %w", name, f.key, err)
				}
				v.Set(f.key, strings.TrimRight(string(b), "\r\n"))
			}
		}
	}
	var doc Document[S]
	err := v.UnmarshalExact(&doc, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	)), func(c *mapstructure.DecoderConfig) { c.TagName = "json" })
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", describe(path), cleanDecodeError(err))
	}
	var errs FieldErrors
	if doc.APIVersion != l.APIVersion {
		errs.Add("apiVersion", fmt.Sprintf("must be %q, got %q", l.APIVersion, doc.APIVersion))
	}
	if doc.Kind != l.Kind {
		errs.Add("kind", fmt.Sprintf("must be %q, got %q", l.Kind, doc.Kind))
	}
	if val, ok := any(&doc.Spec).(Validator); ok {
		errs = append(errs, val.Validate()...)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("config %s is invalid: %w", describe(path), errs)
	}
	return &doc, nil
}

// EnvNames lists every environment variable the loader reads, for docs and
// for the configuration reference test.
func (l Loader[S]) EnvNames() []string {
	var names []string
	for _, f := range leafFields(reflect.TypeOf(l.Defaults), "spec", "") {
		names = append(names, l.envName(f.envSuffix))
		if f.secret {
			names = append(names, l.envName(f.envSuffix)+"_FILE")
		}
	}
	sort.Strings(names)
	return names
}

// Print renders the document as YAML with every Secret masked and
// durations written the way they are configured ("15s", not nanoseconds).
func Print[S any](doc *Document[S]) (string, error) {
	b, err := yaml.Marshal(plain(reflect.ValueOf(doc).Elem()))
	if err != nil {
		return "", fmt.Errorf("render config: %w", err)
	}
	return string(b), nil
}

// Fprint writes Print's rendering of doc to w (the print-config command).
func Fprint[S any](w io.Writer, doc *Document[S]) error {
	out, err := Print(doc)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, out)
	return err
}

func (l Loader[S]) envName(suffix string) string { return l.EnvPrefix + "_" + suffix }

func (l Loader[S]) envMap() map[string]string {
	environ := os.Environ
	if l.Environ != nil {
		environ = l.Environ
	}
	m := map[string]string{}
	for _, kv := range environ() {
		if k, val, ok := strings.Cut(kv, "="); ok {
			m[k] = val
		}
	}
	return m
}

func describe(path string) string {
	if path == "" {
		return "(defaults and environment)"
	}
	return path
}

// plain converts v into maps, slices and scalars for rendering, keyed by
// json tags, with durations as strings and secrets masked.
func plain(v reflect.Value) any {
	switch {
	case v.Type() == reflect.TypeOf(time.Duration(0)):
		return time.Duration(v.Int()).String()
	case v.Type() == secretType:
		return Secret(v.String()).String()
	}
	switch v.Kind() {
	case reflect.Struct:
		m := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			m[name] = plain(v.Field(i))
		}
		return m
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = plain(v.Index(i))
		}
		return out
	default:
		return v.Interface()
	}
}

// cleanDecodeError strips mapstructure's multi-line wrapper so that the
// message reads "'spec.http' has invalid keys: adress".
func cleanDecodeError(err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "decoding failed due to the following error(s):")
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ")), " ")
	// The document root is reported under its Go type name; call it what
	// the operator sees.
	msg = topLevel.ReplaceAllString(msg, "'the document' has invalid keys:")
	return errors.New(msg + " (keys are case-insensitive; check the spelling against `print-config`)")
}
