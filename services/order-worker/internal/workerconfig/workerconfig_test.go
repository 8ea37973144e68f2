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
	s = workerconfig.Defaults()
	s.Redis.Mode, s.Redis.URL, s.Redis.Partitions = "cluster", "redis://10.0.0.1:6379?addr=10.0.0.2:6379", 32
	if errs := s.Validate(); len(errs) != 1 || errs[0].Field != "spec.redis.poolSize" {
		t.Fatalf("32 partitions on a pool of %d: %v", s.Redis.PoolSize, errs)
	}
	s.Redis.Partitions, s.Redis.Mode = 12, "sharded"
	var fields []string
	for _, e := range s.Validate() {
		fields = append(fields, e.Field)
	}
	if strings.Join(fields, ",") != "spec.redis.mode,spec.redis.partitions" {
		t.Fatalf("a bad mode and 12 partitions: %v", fields)
	}
}
