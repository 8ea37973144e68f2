package faults_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/goshop-platform/shop/services/platform/faults"
)

const (
	failure  = "test-failure-ratio"
	slowdown = "test-slowdown"
)

var flags = []faults.Flag{
	{Name: failure, Field: "spec.faults.failureRatio", Kind: faults.Ratio},
	{Name: slowdown, Field: "spec.faults.slowdown", Kind: faults.Delay},
}

type fixture struct {
	set  *faults.Set
	reg  *prometheus.Registry
	logs *bytes.Buffer // written only by Update, in the test goroutine
}

func newSet(t *testing.T) fixture {
	t.Helper()
	reg := prometheus.NewRegistry()
	logs := &bytes.Buffer{}
	s, err := faults.New(context.Background(), "test", flags, reg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return fixture{s, reg, logs}
}

func (f fixture) update(t *testing.T, v faults.Values) {
	t.Helper()
	if err := f.set.Update(v); err != nil {
		t.Fatal(err)
	}
}

// gauge is shop_fault_injection_active{flag}.
func (f fixture) gauge(t *testing.T, flag string) float64 {
	t.Helper()
	return f.metric(t, "shop_fault_injection_active", flag)
}

func (f fixture) metric(t *testing.T, name, flag string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == flag {
				if m.GetGauge() != nil {
					return m.GetGauge().GetValue()
				}
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s{flag=%q}", name, flag)
	return 0
}

// TestFlagsFlipOnUpdate: every flag starts off (gauge 0, evaluation
// DEFAULT/"off"); an update turns flags on, changes and turns them off
// again, each visible at once in the evaluation details, the gauges, a
// Warn log line and an OpenFeature configuration-changed event.
func TestFlagsFlipOnUpdate(t *testing.T) {
	f := newSet(t)
	ctx := context.Background()
	c := f.set.Client()
	var mu sync.Mutex
	var changes [][]string
	handler := func(d openfeature.EventDetails) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, d.FlagChanges)
	}
	cb := openfeature.EventCallback(&handler)
	c.AddHandler(openfeature.ProviderConfigChange, cb)

	for _, flag := range []string{failure, slowdown} {
		if g := f.gauge(t, flag); g != 0 {
			t.Fatalf("gauge %s = %v at start, want 0", flag, g)
		}
		if n := f.metric(t, "shop_fault_injections_total", flag); n != 0 {
			t.Fatalf("injections %s = %v at start, want 0", flag, n)
		}
	}
	ratio, err := c.FloatValueDetails(ctx, failure, 0.99, openfeature.EvaluationContext{})
	if err != nil || ratio.Value != 0 || ratio.Reason != openfeature.DefaultReason || ratio.Variant != faults.VariantOff {
		t.Fatalf("off ratio flag: %+v %v, want 0, DEFAULT, off", ratio, err)
	}
	if field, _ := ratio.FlagMetadata.GetString("field"); field != "spec.faults.failureRatio" {
		t.Fatalf("flag metadata %v, want the config field", ratio.FlagMetadata)
	}

	f.update(t, faults.Values{failure: 0.25, slowdown: 250 * time.Millisecond})
	ratio, err = c.FloatValueDetails(ctx, failure, 0, openfeature.EvaluationContext{})
	if err != nil || ratio.Value != 0.25 || ratio.Reason != openfeature.StaticReason || ratio.Variant != faults.VariantOn {
		t.Fatalf("ratio flag on: %+v %v, want 0.25, STATIC, on", ratio, err)
	}
	delay, err := c.IntValueDetails(ctx, slowdown, 0, openfeature.EvaluationContext{})
	if err != nil || time.Duration(delay.Value) != 250*time.Millisecond || delay.Reason != openfeature.StaticReason || delay.Variant != faults.VariantOn {
		t.Fatalf("delay flag on: %+v %v, want 250ms in ns, STATIC, on", delay, err)
	}
	if s, err := c.StringValue(ctx, slowdown, "", openfeature.EvaluationContext{}); err != nil || s != "250ms" {
		t.Fatalf("delay flag as string: %q %v", s, err)
	}
	if d := f.set.Delay(slowdown).Duration(ctx); d != 250*time.Millisecond {
		t.Fatalf("Duration %s, want 250ms", d)
	}
	if f.gauge(t, failure) != 1 || f.gauge(t, slowdown) != 1 {
		t.Fatalf("gauges %v %v after turning both on, want 1 1", f.gauge(t, failure), f.gauge(t, slowdown))
	}
	logs := f.logs.String()
	for _, want := range []string{`"level":"WARN","msg":"fault injection flag turned on","flag":"test-failure-ratio","field":"spec.faults.failureRatio","value":0.25`,
		`"msg":"fault injection flag turned on","flag":"test-slowdown","field":"spec.faults.slowdown","value":"250ms"`} {
		if !strings.Contains(logs, want) {
			t.Fatalf("logs lack %s:\n%s", want, logs)
		}
	}

	// A flag left out of the update turns off; the other one changes.
	f.update(t, faults.Values{failure: 0.5})
	if f.gauge(t, failure) != 1 || f.gauge(t, slowdown) != 0 {
		t.Fatalf("gauges %v %v, want 1 0", f.gauge(t, failure), f.gauge(t, slowdown))
	}
	delay, err = c.IntValueDetails(ctx, slowdown, 7, openfeature.EvaluationContext{})
	if err != nil || delay.Value != 0 || delay.Reason != openfeature.DefaultReason || delay.Variant != faults.VariantOff {
		t.Fatalf("delay flag off again: %+v %v", delay, err)
	}
	if r := c.Float(ctx, failure, 0, openfeature.EvaluationContext{}); r != 0.5 {
		t.Fatalf("ratio %v after the change, want 0.5", r)
	}
	logs = f.logs.String()
	for _, want := range []string{`"msg":"fault injection flag turned off","flag":"test-slowdown"`,
		`"msg":"fault injection flag changed","flag":"test-failure-ratio","field":"spec.faults.failureRatio","value":0.5,"was":0.25`} {
		if !strings.Contains(logs, want) {
			t.Fatalf("logs lack %s:\n%s", want, logs)
		}
	}

	// The same values again change nothing and say nothing.
	before := strings.Count(f.logs.String(), "\n")
	f.update(t, faults.Values{failure: 0.5, slowdown: time.Duration(0)})
	if after := strings.Count(f.logs.String(), "\n"); after != before {
		t.Fatalf("an update without changes logged:\n%s", f.logs.String())
	}
	f.update(t, nil)
	if f.gauge(t, failure) != 0 || f.gauge(t, slowdown) != 0 {
		t.Fatal("gauges not 0 after turning everything off")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := append([][]string(nil), changes...)
		mu.Unlock()
		if len(got) == 3 {
			want := []string{"test-failure-ratio,test-slowdown", "test-failure-ratio,test-slowdown", "test-failure-ratio"}
			for i := range got {
				if strings.Join(got[i], ",") != want[i] {
					t.Fatalf("configuration-changed events %v, want %v", got, want)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("configuration-changed events %v, want 3", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRatioZeroNeverOneAlways: at 0 no attempt fails, at 1 every attempt
// does (with an error naming the flag), in between about that share; each
// injected failure is counted.
func TestRatioZeroNeverOneAlways(t *testing.T) {
	f := newSet(t)
	ctx := context.Background()
	flag := f.set.Ratio(failure)
	const n = 10000
	count := func() int {
		hits := 0
		for range n {
			if err := flag.Fail(ctx); err != nil {
				if !errors.Is(err, faults.ErrInjected) || !strings.Contains(err.Error(), "test-failure-ratio (spec.faults.failureRatio)") {
					t.Fatalf("injected error %q", err)
				}
				hits++
			}
		}
		return hits
	}
	if hits := count(); hits != 0 {
		t.Fatalf("%d of %d attempts failed with every flag off", hits, n)
	}
	f.update(t, faults.Values{failure: 0.0, slowdown: time.Second}) // another flag on: the ratio is evaluated
	if hits := count(); hits != 0 {
		t.Fatalf("%d of %d attempts failed at ratio 0", hits, n)
	}
	f.update(t, faults.Values{failure: 1.0})
	if hits := count(); hits != n {
		t.Fatalf("%d of %d attempts failed at ratio 1", hits, n)
	}
	f.update(t, faults.Values{failure: 0.5})
	if hits := count(); hits < 4000 || hits > 6000 { // 20 standard deviations wide
		t.Fatalf("%d of %d attempts failed at ratio 0.5", hits, n)
	}
	if got := f.metric(t, "shop_fault_injections_total", failure); got < n+4000 || got > n+6000 {
		t.Fatalf("shop_fault_injections_total = %v", got)
	}
	if (faults.RatioFlag{}).Hit(ctx) {
		t.Fatal("the zero RatioFlag fired")
	}
}

// TestDelayWaits: Wait sleeps the configured delay, returns early with the
// context's error, and does nothing when the flag is off.
func TestDelayWaits(t *testing.T) {
	f := newSet(t)
	d := f.set.Delay(slowdown)
	start := time.Now()
	if err := d.Wait(context.Background()); err != nil || time.Since(start) > time.Second {
		t.Fatalf("Wait with the flag off: %v after %s", err, time.Since(start))
	}
	f.update(t, faults.Values{slowdown: 100 * time.Millisecond})
	start = time.Now()
	if err := d.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Fatalf("Wait took %s, want at least 100ms", took)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a cancelled context: %v", err)
	}
	if got := f.metric(t, "shop_fault_injections_total", slowdown); got != 2 {
		t.Fatalf("shop_fault_injections_total{flag=%q} = %v, want 2", slowdown, got)
	}
}

// TestUpdateRefusesWhatTheConfigWouldNot: unknown flags, wrong types and
// values out of range are errors and change nothing.
func TestUpdateRefusesWhatTheConfigWouldNot(t *testing.T) {
	f := newSet(t)
	f.update(t, faults.Values{failure: 0.2})
	for _, v := range []faults.Values{
		{"nope": 0.5},
		{failure: 1.5},
		{failure: -0.1},
		{failure: time.Second},
		{slowdown: 0.5},
		{slowdown: time.Minute},
		{slowdown: -time.Second},
	} {
		if err := f.set.Update(v); err == nil {
			t.Errorf("Update(%v) accepted", v)
		}
	}
	if r := f.set.Client().Float(context.Background(), failure, 0, openfeature.EvaluationContext{}); r != 0.2 || f.gauge(t, failure) != 1 {
		t.Fatalf("a refused update changed the flag: %v", r)
	}
	if _, err := faults.New(context.Background(), "dup", append(flags, flags[0]), prometheus.NewRegistry(), slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("New accepted two flags with one name")
	}
}

// TestEvaluationErrors: an unknown flag is FLAG_NOT_FOUND and a flag asked
// for the wrong type TYPE_MISMATCH, both with the caller's default.
func TestEvaluationErrors(t *testing.T) {
	f := newSet(t)
	c := f.set.Client()
	ctx := context.Background()
	d, err := c.FloatValueDetails(ctx, "nope", 0.3, openfeature.EvaluationContext{})
	if err == nil || d.ErrorCode != openfeature.FlagNotFoundCode || d.Value != 0.3 || d.Reason != openfeature.ErrorReason {
		t.Fatalf("unknown flag: %+v %v", d, err)
	}
	d, err = c.FloatValueDetails(ctx, slowdown, 0.3, openfeature.EvaluationContext{})
	if err == nil || d.ErrorCode != openfeature.TypeMismatchCode || d.Value != 0.3 {
		t.Fatalf("delay flag as float: %+v %v", d, err)
	}
	b, err := c.BooleanValueDetails(ctx, failure, true, openfeature.EvaluationContext{})
	if err == nil || b.ErrorCode != openfeature.TypeMismatchCode || !b.Value {
		t.Fatalf("ratio flag as bool: %+v %v", b, err)
	}
	f.update(t, faults.Values{failure: 0.75})
	if v := c.Object(ctx, failure, nil, openfeature.EvaluationContext{}); v != 0.75 {
		t.Fatalf("object evaluation %v", v)
	}
}

// TestAllOffIsFree: with every flag off, asking a flag allocates nothing.
func TestAllOffIsFree(t *testing.T) {
	f := newSet(t)
	ctx := context.Background()
	r, d := f.set.Ratio(failure), f.set.Delay(slowdown)
	if n := testing.AllocsPerRun(1000, func() {
		if r.Hit(ctx) || d.Duration(ctx) != 0 || r.Fail(ctx) != nil || d.Wait(ctx) != nil {
			t.Fatal("a fault with every flag off")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per check with every flag off, want 0", n)
	}
}
