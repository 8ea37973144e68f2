package apiconfig_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
)

// The example document in the repository loads, and equals the defaults
// apart from the fields it deliberately sets.
func TestExampleDocumentIsValid(t *testing.T) {
	l := apiconfig.Loader
	l.Environ = func() []string { return nil }
	doc, err := l.Load("../../api.example.yaml")
	if err != nil {
		t.Fatalf("api.example.yaml: %v", err)
	}
	want := apiconfig.Defaults()
	want.Auth.KeysDir, want.Auth.ActiveKeyID = "/etc/shop/jwt", "2026-11"
	if !reflect.DeepEqual(doc.Spec, want) {
		t.Fatalf("example differs from the defaults it documents:\n got %+v\nwant %+v", doc.Spec, want)
	}
}

// docs/configuration.md names every environment variable
// the api reads, so the docs cannot drift from the code.
func TestConfigurationReferenceListsEveryEnvironmentVariable(t *testing.T) {
	ref, err := os.ReadFile("../../../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range apiconfig.Loader.EnvNames() {
		if strings.HasSuffix(name, "_FILE") {
			continue // documented once as the <VAR>_FILE rule
		}
		if !strings.Contains(string(ref), "`"+name+"`") {
			t.Errorf("docs/configuration.md does not document %s", name)
		}
	}
}

func TestValidationNamesFields(t *testing.T) {
	s := apiconfig.Defaults()
	s.HTTP.Addr = "nope"
	s.Auth.AccessTokenTTL = 0
	s.CORS.AllowedOrigins = []string{"http://ok.example", "ftp://bad"}
	s.TrustedProxies = []string{"10.0.0.0/8", "not-a-cidr"}
	s.Auth.BootstrapAdmin.Email = "root@x.io"
	var got []string
	for _, e := range s.Validate() {
		got = append(got, e.Field)
	}
	want := []string{"spec.http.addr", "spec.auth.accessTokenTTL", "spec.auth.bootstrapAdmin.password",
		"spec.cors.allowedOrigins[1]", "spec.trustedProxies[1]"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("invalid fields %v, want %v", got, want)
	}
}
