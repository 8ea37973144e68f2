package app_test

import (
	"encoding/json"
	"testing"

	"github.com/pb33f/libopenapi"
)

// The served document is the one in the repository, and it is OpenAPI 3.1.
func TestServedOpenAPIDocument(t *testing.T) {
	e := newEnv(t)
	r := expect(t, e.do(req{method: "GET", path: "/api/v1/openapi.json"}), 200)
	var served map[string]any
	r.json(t, &served)
	if served["openapi"] != "3.1.0" {
		t.Fatalf("served openapi version %v", served["openapi"])
	}
	doc, err := libopenapi.NewDocument(r.body)
	if err != nil {
		t.Fatalf("served document does not parse: %v", err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("served document does not build: %v", err)
	}
	if n := model.Model.Paths.PathItems.Len(); n != len(served["paths"].(map[string]any)) || n < 10 {
		t.Fatalf("served document has %d paths", n)
	}
	b, _ := json.Marshal(served["info"])
	if len(b) < 20 {
		t.Fatalf("info missing: %s", b)
	}
}
