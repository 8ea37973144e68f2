package faults

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
)

// Variants a flag resolves to.
const (
	VariantOff = "off"
	VariantOn  = "on"
)

// Provider is an OpenFeature FeatureProvider serving one service's fault
// flags from its configuration document. Set.Update replaces all values at
// once (an atomic pointer swap), so an evaluation sees either the old
// configuration or the new one, never a mix. A flag that is off resolves
// to its zero value with reason DEFAULT and variant "off"; a flag that is
// on resolves to the configured value with reason STATIC (the value is the
// document's, nothing is evaluated per request) and variant "on". Ratio
// flags are float flags; delay flags are int flags in nanoseconds (a Go
// time.Duration) and string flags ("250ms"). Every resolution carries the
// configuration field in its flag metadata ("field").
type Provider struct {
	name   string
	flags  map[string]Flag // immutable after NewProvider
	values atomic.Pointer[snapshot]
	events chan openfeature.Event
}

// snapshot is one configuration's values; values holds every declared
// flag (zero when off).
type snapshot struct {
	values map[string]any
	on     int // flags that are on
}

var _ openfeature.FeatureProvider = (*Provider)(nil)
var _ openfeature.EventHandler = (*Provider)(nil)

func newProvider(name string, flags []Flag) *Provider {
	p := &Provider{name: name, flags: map[string]Flag{}, events: make(chan openfeature.Event, 16)}
	off := map[string]any{}
	for _, f := range flags {
		p.flags[f.Name] = f
		off[f.Name] = f.Kind.zero()
	}
	p.values.Store(&snapshot{values: off})
	return p
}

// Metadata names the provider.
func (p *Provider) Metadata() openfeature.Metadata { return openfeature.Metadata{Name: p.name} }

// Hooks: the provider has none.
func (p *Provider) Hooks() []openfeature.Hook { return nil }

// EventChannel carries PROVIDER_CONFIGURATION_CHANGED after a reload that
// changed flags (dropped, never blocking, when nobody listens).
func (p *Provider) EventChannel() <-chan openfeature.Event { return p.events }

// anyOn is the hot path's check: one atomic load.
func (p *Provider) anyOn() bool { return p.values.Load().on > 0 }

// swap installs values (one per declared flag) and returns the previous ones.
func (p *Provider) swap(values map[string]any) map[string]any {
	on := 0
	for name, v := range values {
		if p.flags[name].Kind.isOn(v) {
			on++
		}
	}
	return p.values.Swap(&snapshot{values: values, on: on}).values
}

// changed tells listeners which flags a reload changed.
func (p *Provider) changed(flags []string) {
	select {
	case p.events <- openfeature.Event{ProviderName: p.name, EventType: openfeature.ProviderConfigChange,
		ProviderEventDetails: openfeature.ProviderEventDetails{Message: "spec.faults reloaded", FlagChanges: flags}}:
	default:
	}
}

// resolve looks flag up and checks that it is of kind want (ok false:
// the detail carries the error).
func (p *Provider) resolve(flag string, want Kind) (v any, d openfeature.ProviderResolutionDetail, ok bool) {
	f, known := p.flags[flag]
	if !known {
		return nil, openfeature.ProviderResolutionDetail{Reason: openfeature.ErrorReason,
			ResolutionError: openfeature.NewFlagNotFoundResolutionError("no fault-injection flag " + flag)}, false
	}
	if f.Kind != want {
		return nil, openfeature.ProviderResolutionDetail{Reason: openfeature.ErrorReason,
			ResolutionError: openfeature.NewTypeMismatchResolutionError(flag + " is a " + f.Kind.String() + " flag")}, false
	}
	v = p.values.Load().values[flag]
	d = openfeature.ProviderResolutionDetail{Reason: openfeature.DefaultReason, Variant: VariantOff,
		FlagMetadata: openfeature.FlagMetadata{"field": f.Field}}
	if f.Kind.isOn(v) {
		d.Reason, d.Variant = openfeature.StaticReason, VariantOn
	}
	return v, d, true
}

// FloatEvaluation resolves a ratio flag.
func (p *Provider) FloatEvaluation(_ context.Context, flag string, defaultValue float64, _ openfeature.FlattenedContext) openfeature.FloatResolutionDetail {
	v, d, ok := p.resolve(flag, Ratio)
	if !ok {
		return openfeature.FloatResolutionDetail{Value: defaultValue, ProviderResolutionDetail: d}
	}
	return openfeature.FloatResolutionDetail{Value: v.(float64), ProviderResolutionDetail: d}
}

// IntEvaluation resolves a delay flag in nanoseconds.
func (p *Provider) IntEvaluation(_ context.Context, flag string, defaultValue int64, _ openfeature.FlattenedContext) openfeature.IntResolutionDetail {
	v, d, ok := p.resolve(flag, Delay)
	if !ok {
		return openfeature.IntResolutionDetail{Value: defaultValue, ProviderResolutionDetail: d}
	}
	return openfeature.IntResolutionDetail{Value: int64(v.(time.Duration)), ProviderResolutionDetail: d}
}

// StringEvaluation resolves a delay flag as a Go duration ("250ms").
func (p *Provider) StringEvaluation(_ context.Context, flag string, defaultValue string, _ openfeature.FlattenedContext) openfeature.StringResolutionDetail {
	v, d, ok := p.resolve(flag, Delay)
	if !ok {
		return openfeature.StringResolutionDetail{Value: defaultValue, ProviderResolutionDetail: d}
	}
	return openfeature.StringResolutionDetail{Value: v.(time.Duration).String(), ProviderResolutionDetail: d}
}

// BooleanEvaluation: no fault flag is a boolean.
func (p *Provider) BooleanEvaluation(_ context.Context, flag string, defaultValue bool, _ openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	_, d, _ := p.resolve(flag, boolean)
	return openfeature.BoolResolutionDetail{Value: defaultValue, ProviderResolutionDetail: d}
}

// ObjectEvaluation resolves any flag to its Go value (float64 or time.Duration).
func (p *Provider) ObjectEvaluation(_ context.Context, flag string, defaultValue any, _ openfeature.FlattenedContext) openfeature.InterfaceResolutionDetail {
	v, d, ok := p.resolve(flag, p.flags[flag].Kind)
	if !ok {
		return openfeature.InterfaceResolutionDetail{Value: defaultValue, ProviderResolutionDetail: d}
	}
	return openfeature.InterfaceResolutionDetail{Value: v, ProviderResolutionDetail: d}
}
