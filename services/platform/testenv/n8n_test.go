package testenv_test

import (
	"os"
	"testing"

	"github.com/goshop-platform/shop/services/platform/testenv"
)

// The installer, package.json and testenv must agree on the n8n version.
func TestN8NVersionMatchesPackageJSON(t *testing.T) {
	raw, err := os.ReadFile("../../catalog-sync/n8n/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	decode(t, raw, &pkg)
	if got := pkg.Dependencies["n8n"]; got != testenv.N8NVersion {
		t.Fatalf("package.json pins n8n %q, testenv.N8NVersion is %q", got, testenv.N8NVersion)
	}
}
