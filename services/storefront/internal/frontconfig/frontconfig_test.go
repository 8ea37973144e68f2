package frontconfig_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/goshop-platform/shop/services/storefront/internal/frontconfig"
)

func TestExampleDocumentIsTheDefaults(t *testing.T) {
	l := frontconfig.Loader
	l.Environ = func() []string { return nil }
	doc, err := l.Load("../../storefront.example.yaml")
	if err != nil {
		t.Fatalf("storefront.example.yaml: %v", err)
	}
	if want := frontconfig.Defaults(); !reflect.DeepEqual(doc.Spec, want) {
		t.Fatalf("example differs from the defaults:\n got %+v\nwant %+v", doc.Spec, want)
	}
}

// docs/configuration.md must name every variable the storefront's
// loader reads.
func TestConfigurationReferenceListsEveryEnvironmentVariable(t *testing.T) {
	ref, err := os.ReadFile("../../../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range frontconfig.Loader.EnvNames() {
		if !strings.Contains(string(ref), "`"+name+"`") {
			t.Errorf("docs/configuration.md does not document %s", name)
		}
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	l := frontconfig.Loader
	l.Environ = func() []string {
		return []string{"STOREFRONT_API_URL=https://api.shop.example", "STOREFRONT_DIRECTUS_URL=https://cms.shop.example:8443",
			"STOREFRONT_IMAGE_SOURCES=https://img.shop.example,https://cdn.example.net"}
	}
	doc, err := l.Load("")
	if err != nil {
		t.Fatal(err)
	}
	s := doc.Spec
	if s.APIURL != "https://api.shop.example" || s.DirectusURL != "https://cms.shop.example:8443" ||
		strings.Join(s.ImageSources, " ") != "https://img.shop.example https://cdn.example.net" {
		t.Fatalf("spec %+v", s)
	}
}

func TestValidationNamesFields(t *testing.T) {
	s := frontconfig.Defaults()
	s.APIURL = "http://api.local/"
	s.DirectusURL = "ftp://cms"
	s.ImageSources = []string{"https:", "*"}
	var got []string
	for _, e := range s.Validate() {
		got = append(got, e.Field)
	}
	if want := "spec.apiURL,spec.directusURL,spec.imageSources"; strings.Join(got, ",") != want {
		t.Fatalf("invalid fields %v, want %s", got, want)
	}
	for _, bad := range []string{"https://cdn.example/x", "'unsafe-inline'", "https://a.example; script-src *", "data:"} {
		s := frontconfig.Defaults()
		s.ImageSources = []string{bad}
		if len(s.Validate()) != 1 {
			t.Errorf("image source %q accepted", bad)
		}
	}
}

func TestOrigin(t *testing.T) {
	if got := frontconfig.Origin("https://api.shop.example:8443/base"); got != "https://api.shop.example:8443" {
		t.Fatalf("origin %q", got)
	}
}
