package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/platform/config"
)

type schemaSpec struct {
	Server  schemaServer      `json:"server"`
	Level   string            `json:"level" jsonschema:"enum=debug|info"`
	Ratio   float64           `json:"ratio" jsonschema:"minimum=0,maximum=1"`
	MemKB   uint32            `json:"memKB" jsonschema:"minimum=1024"`
	Retries uint8             `json:"retries"`
	Origins []string          `json:"origins" jsonschema:"pattern=^https?://,minLength=8"`
	Labels  map[string]string `json:"labels"`
	Token   config.Secret     `json:"token"`
	Debug   bool              `json:"debug"`
	Skipped string            `json:"-"`
}

type schemaServer struct {
	Addr    string        `json:"addr" jsonschema:"pattern=^[^:]*:[0-9]+$"`
	Timeout time.Duration `json:"timeout"`
}

// The schema follows the loader's rules field by field, in declaration
// order, with the tags' constraints.
func TestJSONSchema(t *testing.T) {
	l := config.Loader[schemaSpec]{APIVersion: "x.example/v1", Kind: "XConfig", EnvPrefix: "X"}
	got, err := l.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "XConfig",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "apiVersion": {
      "const": "x.example/v1"
    },
    "kind": {
      "const": "XConfig"
    },
    "spec": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "server": {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "addr": {
              "type": "string",
              "pattern": "^[^:]*:[0-9]+$"
            },
            "timeout": {
              "$ref": "#/$defs/duration"
            }
          }
        },
        "level": {
          "type": "string",
          "enum": [
            "debug",
            "info"
          ]
        },
        "ratio": {
          "type": "number",
          "minimum": 0,
          "maximum": 1
        },
        "memKB": {
          "type": "integer",
          "minimum": 1024
        },
        "retries": {
          "type": "integer",
          "minimum": 0
        },
        "origins": {
          "type": "array",
          "items": {
            "type": "string",
            "pattern": "^https?://",
            "minLength": 8
          }
        },
        "labels": {
          "type": "object",
          "additionalProperties": {
            "type": "string"
          }
        },
        "token": {
          "type": "string",
          "description": "A secret: print-config masks it; also read from the file named by X_TOKEN_FILE",
          "writeOnly": true
        },
        "debug": {
          "type": "boolean"
        }
      },
      "description": "The spec of the XConfig document (apiVersion x.example/v1)"
    }
  },
  "$defs": {
    "duration": {
      "type": "string",
      "description": "A Go duration: 500ms, 15s, 2m, 1h30m",
      "pattern": "^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$"
    }
  }
}
`
	if string(got) != want {
		t.Errorf("schema:\n%s\nwant:\n%s", got, want)
	}
}

// What the schema cannot express, or a tag it does not know, is an error
// that names the field, never a silently looser schema.
func TestJSONSchemaErrors(t *testing.T) {
	type badTag struct {
		N int `json:"n" jsonschema:"min=1"`
	}
	type badPattern struct {
		S string `json:"s" jsonschema:"pattern=(["`
	}
	type noValue struct {
		S string `json:"s" jsonschema:"pattern"`
	}
	type rangeOnSlice struct {
		L []int `json:"l" jsonschema:"minimum=1"`
	}
	type pointer struct {
		P *int `json:"p"`
	}
	type intKeys struct {
		M map[int]string `json:"m"`
	}
	type twoEnums struct {
		S string `json:"s" jsonschema:"enum=a,enum=b"`
	}
	for name, schema := range map[string]func() ([]byte, error){
		"spec.n: jsonschema tag \"min=1\": unknown key \"min\"":            config.Loader[badTag]{}.JSONSchema,
		"spec.s: jsonschema tag \"pattern=([\": pattern":                   config.Loader[badPattern]{}.JSONSchema,
		"spec.s: jsonschema tag \"pattern\": \"pattern\" is not key=value": config.Loader[noValue]{}.JSONSchema,
		"spec.l: jsonschema tag \"minimum=1\": minimum on a slice":         config.Loader[rangeOnSlice]{}.JSONSchema,
		"spec.p: no JSON Schema for Go type *int":                          config.Loader[pointer]{}.JSONSchema,
		"spec.m: map keys must be strings":                                 config.Loader[intKeys]{}.JSONSchema,
		"spec.s: jsonschema tag \"enum=a,enum=b\": enum twice":             config.Loader[twoEnums]{}.JSONSchema,
	} {
		if _, err := schema(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("want an error containing %q, got %v", name, err)
		}
	}
}
