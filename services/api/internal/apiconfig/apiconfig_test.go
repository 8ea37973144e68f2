package apiconfig_test

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

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
	s.HTTP.TrustedProxies = []string{"10.0.0.0/8", "not-a-cidr"}
	s.Auth.BootstrapAdmin.Email = "root@x.io"
	var got []string
	for _, e := range s.Validate() {
		got = append(got, e.Field)
	}
	want := []string{"spec.http.addr", "spec.http.trustedProxies[1]", "spec.auth.accessTokenTTL", "spec.auth.bootstrapAdmin.password",
		"spec.cors.allowedOrigins[1]"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("invalid fields %v, want %v", got, want)
	}
}

func TestDurabilityConfigValidation(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*apiconfig.Spec)
		want   string // the field named, or "" for valid
	}{
		{"default", func(*apiconfig.Spec) {}, ""},
		{"replica", func(s *apiconfig.Spec) { s.Orders.Durability = apiconfig.DurabilityReplica }, ""},
		{"unknown mode", func(s *apiconfig.Spec) { s.Orders.Durability = "quorum" }, "spec.orders.durability"},
		{"empty mode", func(s *apiconfig.Spec) { s.Orders.Durability = "" }, "spec.orders.durability"},
		{"no timeout", func(s *apiconfig.Spec) { s.Orders.ReplicaTimeout = 0 }, "spec.orders.replicaTimeout"},
		{"timeout too long", func(s *apiconfig.Spec) { s.Orders.ReplicaTimeout = time.Minute }, "spec.orders.replicaTimeout"},
		{"timeout beyond half the redis read timeout", func(s *apiconfig.Spec) {
			s.Orders.Durability, s.Orders.ReplicaTimeout, s.Redis.ReadTimeout = apiconfig.DurabilityReplica, 1500*time.Millisecond, 2*time.Second
		}, "spec.orders.replicaTimeout"},
		{"read timeout irrelevant without replicas", func(s *apiconfig.Spec) {
			s.Orders.ReplicaTimeout, s.Redis.ReadTimeout = 1500*time.Millisecond, 2*time.Second
		}, ""},
		{"no replicas", func(s *apiconfig.Spec) { s.Orders.MinReplicas = 0 }, "spec.orders.minReplicas"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := apiconfig.Defaults()
			c.change(&s)
			var got []string
			for _, e := range s.Validate() {
				got = append(got, e.Field)
			}
			if strings.Join(got, ",") != c.want {
				t.Fatalf("invalid fields %v, want [%s]", got, c.want)
			}
		})
	}
}

// The durability fields come from the environment as the chart and
// compose set them.
func TestDurabilityFromEnvironment(t *testing.T) {
	l := apiconfig.Loader
	l.Environ = func() []string {
		return []string{"API_ORDERS_DURABILITY=replica", "API_ORDERS_REPLICA_TIMEOUT=250ms", "API_ORDERS_MIN_REPLICAS=2"}
	}
	doc, err := l.Load("")
	if err != nil {
		t.Fatal(err)
	}
	o := doc.Spec.Orders
	if o.Durability != "replica" || o.ReplicaTimeout != 250*time.Millisecond || o.MinReplicas != 2 {
		t.Fatalf("orders %+v", o)
	}
}
