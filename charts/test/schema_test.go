package charttest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// set returns a copy of vals with the dotted path set to v.
func set(vals map[string]any, path string, v any) map[string]any {
	out := deepCopy(vals).(map[string]any)
	cur := out
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	cur[parts[len(parts)-1]] = v
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	default:
		return v
	}
}

// A deliberately broken value is refused before anything renders, with a
// message naming the place: unknown keys at the top, in a nested object
// and inside the service's configuration spec, and wrong types.
func TestSchemaRejectsBrokenValues(t *testing.T) {
	type broken struct {
		path, want string
		value      any
	}
	common := []broken{
		{"replicaCoutn", "additional properties 'replicaCoutn' not allowed", 2},
		{"image.tga", "additional properties 'tga' not allowed", "v1"},
		{"replicaCount", "got string, want integer", "two"},
		{"resources.limits.cpu", "does not match pattern", "one core"},
		{"image.pullPolicy", "IfNotPresent", "Sometimes"},
	}
	service := []broken{
		{"config.http.adress", "additional properties 'adress' not allowed", ":9999"},
		{"config.http.drainDelay", "does not match pattern", "2 seconds"},
		{"config.telemetry.logLevel", "value must be one of", "verbose"},
		{"networkPolicy.egress.otlp.to", "got object, want array", map[string]any{"podSelector": map[string]any{}}},
		{"networkPolicy.egress.ftp", "additional properties 'ftp' not allowed", map[string]any{"enabled": true}},
		{"serviceMonitor.enabled", "got string, want boolean", "yes"},
		{"podSecurityContext.runAsUser", "minimum", 0},
	}
	perChart := map[string][]broken{
		"api": {{"config.auth.keysdir", "additional properties 'keysdir' not allowed", "/x"}, {"secrets.keys.databaseUrl", "additional properties 'databaseUrl' not allowed", "x"},
			{"config.redis.partitions", "value must be one of", 3}},
		"order-worker": {{"autoscaling.mode", "value must be one of", "vpa"}, {"autoscaling.keda.lagCount", "got string, want integer", "100"},
			{"config.redis.partitions", "value must be one of", 3}, {"autoscaling.keda.redis.addresses", "does not match pattern", []any{"redis-0"}}},
		"catalog-sync": {{"config.target", "value must be one of", "kafka"}},
		"storefront":   {{"secrets", "additional properties 'secrets' not allowed", map[string]any{}}},
		"loadgen":      {{"run.mix", "does not match pattern", "browse=1,buy=2"}, {"enabled", "got string, want boolean", "true"}},
	}
	for _, spec := range charts {
		t.Run(spec.name, func(t *testing.T) {
			c := loadChart(t, spec.name)
			base := readValues(t, filepath.Join(chartDir(t, spec.name), "ci", "full-values.yaml"))
			if _, err := renderValues(c, base); err != nil {
				t.Fatalf("the unbroken values must render: %v", err)
			}
			cases := append(append([]broken{}, common...), perChart[spec.name]...)
			if spec.service {
				cases = append(cases, service...)
			}
			for _, b := range cases {
				_, err := renderValues(c, set(base, b.path, b.value))
				if err == nil {
					t.Errorf("%s=%v was accepted", b.path, b.value)
					continue
				}
				if !strings.Contains(err.Error(), "values don't meet the specifications of the schema") || !strings.Contains(err.Error(), b.want) {
					t.Errorf("%s=%v: error does not say %q:\n%v", b.path, b.value, b.want, err)
				}
			}
		})
	}
}

// Values the schema cannot judge are refused by the templates: a grace
// period shorter than preStop plus the drain, two secret sources, and a
// Redis Cluster KEDA is not told how to reach.
func TestTemplatesRejectInconsistentValues(t *testing.T) {
	for _, spec := range charts {
		if !spec.service {
			continue
		}
		t.Run(spec.name, func(t *testing.T) {
			c := loadChart(t, spec.name)
			base := readValues(t, filepath.Join(chartDir(t, spec.name), "ci", "full-values.yaml"))
			drain := "config.http.shutdownTimeout"
			if spec.name == "order-worker" {
				drain = "config.consumer.drainTimeout"
			}
			_, err := renderValues(c, set(base, drain, "1m"))
			if err == nil || !strings.Contains(err.Error(), "terminationGracePeriodSeconds (5) must be greater than") {
				t.Errorf("%s=1m with a 5 s grace period: want the grace period refused, got %v", drain, err)
			}
			if _, err := renderValues(c, set(set(base, drain, "1m"), "terminationGracePeriodSeconds", 90)); err != nil {
				t.Errorf("a grace period that covers the drain must be accepted: %v", err)
			}
			if spec.name == "order-worker" {
				_, err := renderValues(c, set(base, "config.redis.mode", "cluster"))
				if err == nil || !strings.Contains(err.Error(), "set autoscaling.keda.redis.addresses") {
					t.Errorf("config.redis.mode cluster without autoscaling.keda.redis.addresses: want refused, got %v", err)
				}
			}
			if spec.name == "storefront" {
				return
			}
			_, err = renderValues(c, set(base, "secrets.existingSecret", "mine"))
			if err == nil || !strings.Contains(err.Error(), "either existingSecret or create") {
				t.Errorf("existingSecret and create together: want refused, got %v", err)
			}
		})
	}
}

// Every object of every values.schema.json is closed (additionalProperties
// false, or a schema for the values of a free map such as labels); the only
// open ones are Kubernetes structures passed through to the API server,
// marked with a $comment that says so.
func TestSchemaClosedAtEveryLevel(t *testing.T) {
	for _, spec := range charts {
		b, err := os.ReadFile(filepath.Join(chartDir(t, spec.name), "values.schema.json"))
		if err != nil {
			t.Fatal(err)
		}
		var root map[string]any
		if err := json.Unmarshal(b, &root); err != nil {
			t.Fatalf("%s: %v", spec.name, err)
		}
		var walk func(path string, node any)
		walk = func(path string, node any) {
			switch n := node.(type) {
			case map[string]any:
				if n["type"] == "object" {
					_, closed := n["additionalProperties"]
					comment, _ := n["$comment"].(string)
					if !closed && !strings.HasPrefix(comment, "Kubernetes ") {
						t.Errorf("%s: object at %s does not set additionalProperties", spec.name, path)
					}
				}
				for k, v := range n {
					walk(path+"/"+k, v)
				}
			case []any:
				for _, v := range n {
					walk(path+"/[]", v)
				}
			}
		}
		walk("", root)
		if root["additionalProperties"] != false {
			t.Errorf("%s: the top level must refuse unknown keys", spec.name)
		}
	}
}
