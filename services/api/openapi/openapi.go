// Package openapi embeds the api's OpenAPI 3.1 document (openapi.yaml, the
// contract kept in the repository) and serves it as JSON.
package openapi

import (
	_ "embed"

	"sigs.k8s.io/yaml"
)

// YAML is the document as written.
//
//go:embed openapi.yaml
var YAML []byte

// JSON renders the document as JSON for /api/v1/openapi.json.
func JSON() ([]byte, error) { return yaml.YAMLToJSON(YAML) }
