// Package faults injects faults on purpose — work slowed down, attempts
// failed — so that a running shop's retries, redeliveries, backoffs,
// dashboards and alerts can be exercised without breaking anything for
// real. A service declares its flags (New) and feeds them from the
// `spec.faults` section of its configuration document at start and on
// every hot reload (Set.Update), so editing the file or the ConfigMap turns
// a fault on or off without a restart. Flags are evaluated through
// OpenFeature (github.com/open-feature/go-sdk) with this package's
// Provider; every flag is off by default. While a flag is on, the gauge
// shop_fault_injection_active{flag} is 1 and each fault injected counts in
// shop_fault_injections_total{flag}; turning a flag on or off is logged at
// Warn. With every flag off, asking a flag costs one atomic load and
// allocates nothing. docs/fault-injection.md describes the shop's flags.
package faults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/prometheus/client_golang/prometheus"
)

// Kind is what a flag's value means.
type Kind int

const (
	// Ratio flags hold a share in [0, 1]: that fraction of attempts fails.
	Ratio Kind = iota + 1
	// Delay flags hold a duration added to each piece of work.
	Delay
	// boolean is the kind no flag has (a boolean evaluation is a type mismatch).
	boolean Kind = -1
)

func (k Kind) String() string {
	switch k {
	case Ratio:
		return "ratio"
	case Delay:
		return "delay"
	}
	return "unknown"
}

func (k Kind) zero() any {
	if k == Delay {
		return time.Duration(0)
	}
	return float64(0)
}

func (k Kind) isOn(v any) bool {
	switch x := v.(type) {
	case float64:
		return k == Ratio && x > 0
	case time.Duration:
		return k == Delay && x > 0
	}
	return false
}

// MaxDelay bounds a Delay flag: longer waits would outlast the request and
// drain timeouts and look like an outage rather than a slowdown.
const MaxDelay = 30 * time.Second

// Flag is one fault a service can inject.
type Flag struct {
	// Name is the OpenFeature flag key and the metrics' flag label, named
	// for the service: "worker-failure-ratio".
	Name string
	// Field is the configuration field that sets it
	// ("spec.faults.failureRatio"): in logs, injected errors and the flag
	// metadata, so an operator knows what to change back.
	Field string
	Kind  Kind
}

// Values are the flags of one configuration: a float64 for a Ratio flag, a
// time.Duration for a Delay flag. A flag left out is off.
type Values map[string]any

// ErrInjected is wrapped by every error a RatioFlag injects.
var ErrInjected = errors.New("injected fault")

// Set is one service's fault flags.
type Set struct {
	flags    []Flag
	provider *Provider
	api      *openfeature.EvaluationAPI
	client   *openfeature.Client
	active   *prometheus.GaugeVec
	injected *prometheus.CounterVec
	log      *slog.Logger
	random   func() float64 // [0, 1)
	mu       sync.Mutex     // one Update at a time, so its log lines and gauges agree
}

// New declares service's flags, all off, registers the metrics on reg and
// starts the OpenFeature API instance that evaluates them (its own, not
// the process-wide singleton: tests run several services in one process).
// Call Update with the configuration's values next, and Close at the end.
func New(ctx context.Context, service string, flags []Flag, reg prometheus.Registerer, log *slog.Logger) (*Set, error) {
	seen := map[string]bool{}
	for _, f := range flags {
		if f.Name == "" || seen[f.Name] || (f.Kind != Ratio && f.Kind != Delay) {
			return nil, fmt.Errorf("faults: flag %q: names must be unique and non-empty, kinds Ratio or Delay", f.Name)
		}
		seen[f.Name] = true
	}
	s := &Set{
		flags:    append([]Flag(nil), flags...),
		provider: newProvider(service+"-config", flags),
		api:      isolated.NewAPI(),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shop_fault_injection_active",
			Help: "1 while a fault-injection flag is on (spec.faults in the service's configuration; docs/fault-injection.md), else 0. Nothing should be on in production."},
			[]string{"flag"}),
		injected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_fault_injections_total",
			Help: "Faults injected on purpose by a fault-injection flag: attempts failed or work delayed."}, []string{"flag"}),
		log:    log,
		random: rand.Float64,
	}
	if err := reg.Register(s.active); err != nil {
		return nil, fmt.Errorf("faults: register shop_fault_injection_active: %w", err)
	}
	if err := reg.Register(s.injected); err != nil {
		return nil, fmt.Errorf("faults: register shop_fault_injections_total: %w", err)
	}
	for _, f := range flags {
		s.active.WithLabelValues(f.Name).Set(0) // every series from the start: a dashboard shows "all off"
		s.injected.WithLabelValues(f.Name)
	}
	if err := s.api.SetProviderAndWait(ctx, s.provider); err != nil {
		return nil, fmt.Errorf("faults: start the OpenFeature provider: %w", err)
	}
	s.client = s.api.NewClient()
	return s, nil
}

// Client is the OpenFeature client that evaluates the flags (for tools and
// tests that want the evaluation details).
func (s *Set) Client() *openfeature.Client { return s.client }

// Close shuts the OpenFeature API instance down.
func (s *Set) Close(ctx context.Context) error { return s.api.Shutdown(ctx) }

// Update replaces every flag's value with v's (a flag v leaves out turns
// off), in one atomic step, and reports what changed: the gauges, a Warn
// line per flag turned on, off or changed, and an OpenFeature
// PROVIDER_CONFIGURATION_CHANGED event. An unknown flag, a value of the
// wrong type or out of range is an error and changes nothing (the
// configuration's validation should have refused it).
func (s *Set) Update(v Values) error {
	next := make(map[string]any, len(s.flags))
	for _, f := range s.flags {
		next[f.Name] = f.Kind.zero()
	}
	for name, val := range v {
		f, ok := s.flag(name)
		if !ok {
			return fmt.Errorf("faults: unknown flag %q", name)
		}
		if err := check(f, val); err != nil {
			return err
		}
		next[name] = val
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.provider.swap(next)
	var changed []string
	for _, f := range s.flags {
		was, now := prev[f.Name], next[f.Name]
		if was == now {
			continue
		}
		changed = append(changed, f.Name)
		on := f.Kind.isOn(now)
		switch {
		case on && !f.Kind.isOn(was):
			s.log.Warn("fault injection flag turned on", "flag", f.Name, "field", f.Field, "value", show(now))
		case !on:
			s.log.Warn("fault injection flag turned off", "flag", f.Name, "field", f.Field)
		default:
			s.log.Warn("fault injection flag changed", "flag", f.Name, "field", f.Field, "value", show(now), "was", show(was))
		}
		if on {
			s.active.WithLabelValues(f.Name).Set(1)
		} else {
			s.active.WithLabelValues(f.Name).Set(0)
		}
	}
	if len(changed) > 0 {
		sort.Strings(changed)
		s.provider.changed(changed)
	}
	return nil
}

func (s *Set) flag(name string) (Flag, bool) {
	for _, f := range s.flags {
		if f.Name == name {
			return f, true
		}
	}
	return Flag{}, false
}

func check(f Flag, v any) error {
	switch x := v.(type) {
	case float64:
		if f.Kind == Ratio && x >= 0 && x <= 1 {
			return nil
		}
	case time.Duration:
		if f.Kind == Delay && x >= 0 && x <= MaxDelay {
			return nil
		}
	}
	want := "a float64 between 0 and 1"
	if f.Kind == Delay {
		want = "a time.Duration between 0s and " + MaxDelay.String()
	}
	return fmt.Errorf("faults: %s (%s) must be %s, got %v (%T)", f.Name, f.Field, want, v, v)
}

// show renders a value for a log line ("250ms", 0.5).
func show(v any) any {
	if d, ok := v.(time.Duration); ok {
		return d.String()
	}
	return v
}

// RatioFlag is a handle on one Ratio flag. Its zero value never fires.
type RatioFlag struct {
	set      *Set
	name     string
	err      error
	injected prometheus.Counter
}

// Ratio returns the handle of the Ratio flag name; it panics when New did
// not declare one (a wiring mistake).
func (s *Set) Ratio(name string) RatioFlag {
	f, ok := s.flag(name)
	if !ok || f.Kind != Ratio {
		panic("faults: no ratio flag " + name)
	}
	return RatioFlag{set: s, name: name, err: fmt.Errorf("%w: %s (%s)", ErrInjected, f.Name, f.Field),
		injected: s.injected.WithLabelValues(name)}
}

// Hit decides one attempt: true for the configured share of attempts
// (never at 0, always at 1), counted in shop_fault_injections_total.
func (f RatioFlag) Hit(ctx context.Context) bool {
	if f.set == nil || !f.set.provider.anyOn() {
		return false
	}
	r, err := f.set.client.FloatValue(ctx, f.name, 0, openfeature.EvaluationContext{})
	if err != nil || !(r > 0) || (r < 1 && f.set.random() >= r) {
		return false
	}
	f.injected.Inc()
	return true
}

// Fail is Hit as an error: nil, or an error wrapping ErrInjected that
// names the flag and its configuration field.
func (f RatioFlag) Fail(ctx context.Context) error {
	if f.Hit(ctx) {
		return f.err
	}
	return nil
}

// DelayFlag is a handle on one Delay flag. Its zero value never delays.
type DelayFlag struct {
	set      *Set
	name     string
	injected prometheus.Counter
}

// Delay returns the handle of the Delay flag name; it panics when New did
// not declare one (a wiring mistake).
func (s *Set) Delay(name string) DelayFlag {
	f, ok := s.flag(name)
	if !ok || f.Kind != Delay {
		panic("faults: no delay flag " + name)
	}
	return DelayFlag{set: s, name: name, injected: s.injected.WithLabelValues(name)}
}

// Duration is the configured delay (0 when off).
func (f DelayFlag) Duration(ctx context.Context) time.Duration {
	if f.set == nil || !f.set.provider.anyOn() {
		return 0
	}
	n, err := f.set.client.IntValue(ctx, f.name, 0, openfeature.EvaluationContext{})
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n)
}

// Wait sleeps the configured delay (counted in
// shop_fault_injections_total), or returns ctx's error when ctx ends first.
func (f DelayFlag) Wait(ctx context.Context) error {
	d := f.Duration(ctx)
	if d <= 0 {
		return nil
	}
	f.injected.Inc()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
