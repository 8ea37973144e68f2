package workerconfig_test

import (
	"strings"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/order-worker/internal/workerconfig"
)

// The fault-injection flags are off by default, set from the environment
// like every field, and bounded: errors name the field.
func TestFaultsAreValidated(t *testing.T) {
	if f := workerconfig.Defaults().Faults; f != (workerconfig.Faults{}) {
		t.Fatalf("default faults %+v, want all off", f)
	}
	l := workerconfig.Loader
	l.Environ = func() []string { return []string{"WORKER_FAULTS_FAILURE_RATIO=0.25", "WORKER_FAULTS_SLOWDOWN=250ms"} }
	doc, err := l.Load("")
	if err != nil || doc.Spec.Faults.FailureRatio != 0.25 || doc.Spec.Faults.Slowdown != 250*time.Millisecond {
		t.Fatalf("faults from the environment: %+v %v", doc, err)
	}
	for _, c := range []struct {
		change func(*workerconfig.Spec)
		field  string
	}{
		{func(s *workerconfig.Spec) { s.Faults.FailureRatio = 1.5 }, "spec.faults.failureRatio"},
		{func(s *workerconfig.Spec) { s.Faults.FailureRatio = -0.1 }, "spec.faults.failureRatio"},
		{func(s *workerconfig.Spec) { s.Faults.Slowdown = -time.Second }, "spec.faults.slowdown"},
		{func(s *workerconfig.Spec) { s.Faults.Slowdown = 31 * time.Second; s.Consumer.ClaimIdle = time.Minute }, "spec.faults.slowdown"},
		{func(s *workerconfig.Spec) { s.Faults.Slowdown = s.Consumer.ClaimIdle }, "spec.faults.slowdown"},
	} {
		s := workerconfig.Defaults()
		c.change(&s)
		if errs := s.Validate(); len(errs) != 1 || errs[0].Field != c.field {
			t.Errorf("%+v: errors %v, want one for %s", s.Faults, errs, c.field)
		}
	}
	s := workerconfig.Defaults()
	s.Faults.FailureRatio, s.Faults.Slowdown = 1, 29*time.Second
	if errs := s.Validate(); len(errs) != 0 {
		t.Fatalf("ratio 1 and a 29s slowdown below claimIdle refused: %v", errs)
	}
	l.Environ = func() []string { return []string{"WORKER_FAULTS_FAILURE_RATIO=2"} }
	if _, err := l.Load(""); err == nil || !strings.Contains(err.Error(), "spec.faults.failureRatio") {
		t.Fatalf("ratio 2 from the environment: %v", err)
	}
}
