package syncconfig_test

import (
	"strings"
	"testing"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/syncconfig"
)

// The fault-injection flag is off by default, set from the environment
// like every field, and bounded: errors name the field.
func TestFaultsAreValidated(t *testing.T) {
	if f := syncconfig.Defaults().Faults; f != (syncconfig.Faults{}) {
		t.Fatalf("default faults %+v, want all off", f)
	}
	l := syncconfig.Loader
	l.Environ = func() []string { return []string{"SYNC_FAULTS_TARGET_FAILURE_RATIO=0.1"} }
	doc, err := l.Load("")
	if err != nil || doc.Spec.Faults.TargetFailureRatio != 0.1 {
		t.Fatalf("faults from the environment: %+v %v", doc, err)
	}
	for _, r := range []float64{-0.5, 1.5} {
		s := syncconfig.Defaults()
		s.Faults.TargetFailureRatio = r
		if errs := s.Validate(); len(errs) != 1 || errs[0].Field != "spec.faults.targetFailureRatio" {
			t.Errorf("ratio %v: errors %v, want one for spec.faults.targetFailureRatio", r, errs)
		}
	}
	l.Environ = func() []string { return []string{"SYNC_FAULTS_TARGET_FAILURE_RATIO=lots"} }
	if _, err := l.Load(""); err == nil || !strings.Contains(strings.ToLower(err.Error()), "targetfailureratio") {
		t.Fatalf("a ratio that is no number: %v", err)
	}
}
