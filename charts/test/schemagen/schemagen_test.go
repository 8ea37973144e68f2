package schemagen

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const lib = `{
  "parts": {
    "pod": {"properties": {"replicaCount": {"type": "integer", "minimum": 0}, "image": {"$ref": "#/$defs/image"}}, "required": ["replicaCount"]},
    "server": {"properties": {"config": {"$comment": "a note", "required": ["http"], "properties": {"http": {"required": ["addr"]}}}}}
  },
  "$defs": {"image": {"type": "string"}, "unused": {"type": "string"}}
}`

const configDoc = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "properties": {"spec": {"type": "object", "additionalProperties": false, "properties": {
    "http": {"type": "object", "additionalProperties": false, "properties": {"addr": {"type": "string"}, "timeout": {"$ref": "#/$defs/duration"}}},
    "token": {"type": "string", "writeOnly": true}
  }}},
  "$defs": {"duration": {"type": "string", "description": "A Go duration: 500ms, 15s, 2m, 1h30m", "pattern": "^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$"}}
}`

func generate(t *testing.T, chartSrc string) (map[string]any, error) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"shop-lib": lib, "svc": chartSrc} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "values.schema.src.json"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := Generate(dir, func(service string) ([]byte, error) {
		if service != "svc" {
			t.Errorf("config-schema of %q", service)
		}
		return []byte(configDoc), nil
	})
	if err != nil {
		return nil, err
	}
	var schema map[string]any
	if err := json.Unmarshal(out["svc"], &schema); err != nil {
		t.Fatal(err)
	}
	return schema, nil
}

// The parts, the chart's properties and the Go config schema become one
// flat, closed schema: secrets left out of config, required lists joined,
// only the definitions in use kept, source notes dropped from config.
func TestGenerate(t *testing.T) {
	schema, err := generate(t, `{
  "title": "Values of svc",
  "include": ["pod", "server"],
  "config": "svc",
  "properties": {
    "config": {"$comment": "another note", "properties": {"http": {"properties": {"addr": {"pattern": "^:"}}}}},
    "replicaCount": {"maximum": 9},
    "extra": {"type": "boolean"}
  },
  "required": ["extra"]
}`)
	if err != nil {
		t.Fatal(err)
	}
	props := schema["properties"].(map[string]any)
	config := props["config"].(map[string]any)
	if _, ok := config["properties"].(map[string]any)["token"]; ok {
		t.Error("the secret field token is in the chart's config schema")
	}
	if _, ok := config["$comment"]; ok {
		t.Error("a source note ($comment) reached config")
	}
	http := config["properties"].(map[string]any)["http"].(map[string]any)
	addr := http["properties"].(map[string]any)["addr"].(map[string]any)
	if addr["pattern"] != "^:" || addr["type"] != "string" || !slices.Equal(toStrings(http["required"]), []string{"addr"}) {
		t.Errorf("config.http: %v", http)
	}
	if rc := props["replicaCount"].(map[string]any); rc["minimum"] != 0.0 || rc["maximum"] != 9.0 {
		t.Errorf("replicaCount: %v", rc)
	}
	if got := toStrings(schema["required"]); !slices.Equal(got, []string{"replicaCount", "extra", "config"}) {
		t.Errorf("required %v", got)
	}
	defs := schema["$defs"].(map[string]any)
	if _, ok := defs["unused"]; ok || defs["image"] == nil || defs["duration"] == nil {
		t.Errorf("$defs %v: want image and duration only", defs)
	}
	if schema["additionalProperties"] != false || schema["$schema"] != Dialect || schema["title"] != "Values of svc" {
		t.Errorf("top level %v", schema)
	}
}

// What would make the schema wrong or ambiguous stops the generator with
// a message that names the place.
func TestGenerateRefuses(t *testing.T) {
	for want, src := range map[string]string{
		"properties.config.properties.http.properties.adress: not a field of the service's Go config type": `{"include": ["server"], "config": "svc",
			"properties": {"config": {"properties": {"http": {"properties": {"adress": {"type": "string"}}}}}}}`,
		`properties.replicaCount.minimum: the sources disagree (0, then 1)`:       `{"include": ["pod"], "properties": {"replicaCount": {"minimum": 1}}}`,
		`$ref to no definition: #/$defs/nothing`:                                  `{"properties": {"x": {"$ref": "#/$defs/nothing"}}}`,
		`include "nope": charts/shop-lib/values.schema.src.json has no such part`: `{"include": ["nope"]}`,
		`properties.config, but no "config" names the service`:                    `{"include": ["server"]}`,
		`unknown key "propertys"`:                                                 `{"propertys": {}}`,
	} {
		if _, err := generate(t, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error containing %q, got %v", want, err)
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}
