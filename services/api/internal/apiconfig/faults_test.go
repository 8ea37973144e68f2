package apiconfig_test

import (
	"strings"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/api/internal/apiconfig"
)

// The fault-injection flags are off by default, set from the environment
// like every field, and bounded: errors name the field.
func TestFaultsAreValidated(t *testing.T) {
	if f := apiconfig.Defaults().Faults; f != (apiconfig.Faults{}) {
		t.Fatalf("default faults %+v, want all off", f)
	}
	l := apiconfig.Loader
	l.Environ = func() []string {
		return []string{"API_FAULTS_PAYMENT_DECLINE_RATIO=0.5", "API_FAULTS_INTAKE_LATENCY=1s"}
	}
	doc, err := l.Load("")
	if err != nil || doc.Spec.Faults.PaymentDeclineRatio != 0.5 || doc.Spec.Faults.IntakeLatency != time.Second {
		t.Fatalf("faults from the environment: %+v %v", doc, err)
	}
	for _, c := range []struct {
		change func(*apiconfig.Spec)
		field  string
	}{
		{func(s *apiconfig.Spec) { s.Faults.PaymentDeclineRatio = 1.01 }, "spec.faults.paymentDeclineRatio"},
		{func(s *apiconfig.Spec) { s.Faults.PaymentDeclineRatio = -1 }, "spec.faults.paymentDeclineRatio"},
		{func(s *apiconfig.Spec) { s.Faults.IntakeLatency = 31 * time.Second }, "spec.faults.intakeLatency"},
		{func(s *apiconfig.Spec) { s.Faults.IntakeLatency = -time.Millisecond }, "spec.faults.intakeLatency"},
	} {
		s := apiconfig.Defaults()
		c.change(&s)
		if errs := s.Validate(); len(errs) != 1 || errs[0].Field != c.field {
			t.Errorf("%+v: errors %v, want one for %s", s.Faults, errs, c.field)
		}
	}
	l.Environ = func() []string { return []string{"API_FAULTS_INTAKE_LATENCY=1m"} }
	if _, err := l.Load(""); err == nil || !strings.Contains(err.Error(), "spec.faults.intakeLatency") {
		t.Fatalf("1m intake latency from the environment: %v", err)
	}
}
