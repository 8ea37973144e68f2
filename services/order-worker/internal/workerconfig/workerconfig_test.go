package workerconfig_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/goshop-platform/shop/services/order-worker/internal/workerconfig"
)

func TestExampleDocumentIsTheDefaults(t *testing.T) {
	l := workerconfig.Loader
	l.Environ = func() []string { return nil }
	doc, err := l.Load("../../order-worker.example.yaml")
	if err != nil {
		t.Fatalf("order-worker.example.yaml: %v", err)
	}
	if want := workerconfig.Defaults(); !reflect.DeepEqual(doc.Spec, want) {
		t.Fatalf("example differs from the defaults:\n got %+v\nwant %+v", doc.Spec, want)
	}
}

func TestConfigurationReferenceListsEveryEnvironmentVariable(t *testing.T) {
	ref, err := os.ReadFile("../../../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range workerconfig.Loader.EnvNames() {
		if !strings.HasSuffix(name, "_FILE") && !strings.Contains(string(ref), "`"+name+"`") {
			t.Errorf("docs/configuration.md does not document %s", name)
		}
	}
}

func TestValidationNamesFields(t *testing.T) {
	s := workerconfig.Defaults()
	s.Consumer.Concurrency = 0
	s.Consumer.MaxDeliveries = 0
	s.Notifier.Kind = "pigeon"
	var got []string
	for _, e := range s.Validate() {
		got = append(got, e.Field)
	}
	want := "spec.consumer.concurrency,spec.consumer.maxDeliveries,spec.notifier.kind"
	if strings.Join(got, ",") != want {
		t.Fatalf("invalid fields %v, want %s", got, want)
	}
	s = workerconfig.Defaults()
	s.Notifier.Kind, s.Notifier.SMTP.From = "smtp", "not an address"
	if errs := s.Validate(); len(errs) != 1 || errs[0].Field != "spec.notifier.smtp.from" {
		t.Fatalf("smtp validation: %v", errs)
	}
}
