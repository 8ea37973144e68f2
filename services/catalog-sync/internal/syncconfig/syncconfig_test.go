package syncconfig_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/syncconfig"
)

func TestExampleDocumentIsTheDefaults(t *testing.T) {
	l := syncconfig.Loader
	l.Environ = func() []string { return nil }
	doc, err := l.Load("../../catalog-sync.example.yaml")
	if err != nil {
		t.Fatalf("catalog-sync.example.yaml: %v", err)
	}
	if want := syncconfig.Defaults(); !reflect.DeepEqual(doc.Spec, want) {
		t.Fatalf("example differs from the defaults:\n got %+v\nwant %+v", doc.Spec, want)
	}
}

// docs/configuration.md must
// name every variable catalog-sync reads.
func TestConfigurationReferenceListsEveryEnvironmentVariable(t *testing.T) {
	ref, err := os.ReadFile("../../../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range syncconfig.Loader.EnvNames() {
		if !strings.HasSuffix(name, "_FILE") && !strings.Contains(string(ref), "`"+name+"`") {
			t.Errorf("docs/configuration.md does not document %s", name)
		}
	}
}

func TestEnvironmentOverridesAndSecretFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/token", []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := syncconfig.Loader
	l.Environ = func() []string {
		return []string{"SYNC_RELAY_BATCH_SIZE=7", "SYNC_DIRECTUS_TOKEN_FILE=" + dir + "/token"}
	}
	doc, err := l.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if doc.Spec.Relay.BatchSize != 7 || doc.Spec.Directus.Token.Value() != "s3cret" {
		t.Fatalf("batchSize %d, token %q", doc.Spec.Relay.BatchSize, doc.Spec.Directus.Token.Value())
	}
}

func TestValidationNamesFields(t *testing.T) {
	s := syncconfig.Defaults()
	s.Directus.URL = "http://cms.local/"
	s.Target = "kafka"
	s.Relay.BatchSize = 0
	s.Relay.RetryMax = s.Relay.RetryInitial / 2
	s.Relay.MaxAttempts = 0
	s.Reconcile.Interval = 10
	s.Reconcile.PageSize = 0
	var got []string
	for _, e := range s.Validate() {
		got = append(got, e.Field)
	}
	want := "spec.directus.url,spec.target,spec.relay.batchSize,spec.relay.retryMax,spec.relay.maxAttempts,spec.reconcile.interval,spec.reconcile.pageSize"
	if strings.Join(got, ",") != want {
		t.Fatalf("invalid fields %v, want %s", got, want)
	}
}

func TestN8NTargetFromEnvironment(t *testing.T) {
	l := syncconfig.Loader
	l.Environ = func() []string {
		return []string{"SYNC_TARGET=n8n", "SYNC_N8N_WEBHOOK_URL=http://n8n.local:5678/webhook/x", "SYNC_N8N_TIMEOUT=5s"}
	}
	doc, err := l.Load("")
	if err != nil {
		t.Fatal(err)
	}
	n := doc.Spec.N8N
	if doc.Spec.Target != syncconfig.TargetN8N || n.WebhookURL != "http://n8n.local:5678/webhook/x" || n.Timeout.String() != "5s" {
		t.Fatalf("target %q, n8n %+v", doc.Spec.Target, n)
	}
	s := syncconfig.Defaults()
	s.Target, s.N8N.WebhookURL, s.N8N.Timeout = syncconfig.TargetN8N, "ftp://x", 0
	var got []string
	for _, e := range s.Validate() {
		got = append(got, e.Field)
	}
	if strings.Join(got, ",") != "spec.n8n.webhookURL,spec.n8n.timeout" {
		t.Fatalf("invalid fields %v", got)
	}
}
