package charttest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"helm.sh/helm/v3/pkg/chart"
	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/goshop-platform/shop/charts/test/streamnames"
	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

// The library chart's template of the order stream names is what `make
// schemas` writes now from package orderstream: a changed tag table or
// stream name fails here until make schemas runs.
func TestOrderStreamsTemplateIsGenerated(t *testing.T) {
	path := filepath.Join(repoRoot(t), "charts", streamnames.Path)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run make schemas", err)
	}
	if !bytes.Equal(got, streamnames.Template()) {
		t.Errorf("charts/%s is not what make schemas generates from services/kernel/orderstream: run make schemas (never edit the file by hand)", streamnames.Path)
	}
}

// The order-worker's KEDA triggers watch exactly the streams the services
// write (orderstream.NewKeyspace(partitions, cluster).Stream(p)) for every
// partition count, with a standalone Redis and a Redis Cluster.
func TestKEDAWatchesTheOrderStreams(t *testing.T) {
	spec := chartByName(t, "order-worker")
	c := loadChart(t, spec.name)
	base := readValues(t, filepath.Join(chartDir(t, spec.name), "ci", "full-values.yaml"))
	for _, mode := range []string{"standalone", "cluster"} {
		for n := 1; n <= orderstream.MaxPartitions; n *= 2 {
			t.Run(fmt.Sprintf("%s/%d", mode, n), func(t *testing.T) {
				vals := set(base, "config.redis.partitions", n)
				if mode == "cluster" {
					vals = set(vals, "config.redis.mode", mode)
					vals = set(vals, "autoscaling.keda.redis.addresses", []any{"redis-0.redis:6379", "redis-1.redis:6379"})
				}
				r := renderWith(t, spec, c, vals, fmt.Sprintf("full-values.yaml, %s, %d partitions", mode, n))
				sos := ofType[*kedav1alpha1.ScaledObject](r)
				if len(sos) != 1 {
					t.Fatalf("want one ScaledObject, have %d", len(sos))
				}
				checkOrderStreamTriggers(t, r, sos[0])
				if len(sos[0].Spec.Triggers) != n {
					t.Errorf("%d triggers for %d partitions", len(sos[0].Spec.Triggers), n)
				}
			})
		}
	}
}

// The charts accept both Redis modes by name: config.redis.mode standalone
// is the default, and saying so must not be refused.
func TestChartsAcceptBothRedisModes(t *testing.T) {
	for _, name := range []string{"api", "order-worker"} {
		spec := chartByName(t, name)
		c := loadChart(t, name)
		base := readValues(t, filepath.Join(chartDir(t, name), "ci", "full-values.yaml"))
		for _, mode := range []string{"standalone", "cluster"} {
			vals := set(base, "config.redis.mode", mode)
			if name == "order-worker" && mode == "cluster" {
				vals = set(vals, "autoscaling.keda.redis.addresses", []any{"redis-0.redis:6379"})
			}
			if _, err := renderValues(c, vals); err != nil {
				t.Errorf("%s: config.redis.mode %s refused (values.schema.json's enum comes from the jsonschema tag of redisconn.Config.Mode, which must read enum=standalone|cluster; then make schemas): %v", spec.name, mode, err)
			}
		}
	}
}

func chartByName(t *testing.T, name string) chartSpec {
	t.Helper()
	for _, spec := range charts {
		if spec.name == name {
			return spec
		}
	}
	t.Fatalf("no chart spec named %s in chart_test.go", name)
	return chartSpec{}
}

// renderWith renders the chart with vals and decodes it strictly.
func renderWith(t *testing.T, spec chartSpec, c *chart.Chart, vals map[string]any, label string) rendered {
	t.Helper()
	files, err := renderValues(c, vals)
	if err != nil {
		t.Fatalf("%s with %s: render: %v", spec.name, label, err)
	}
	objs, err := decodeAll(files)
	if err != nil {
		t.Fatalf("%s with %s: decode: %v", spec.name, label, err)
	}
	return rendered{spec: spec, values: label, files: files, objects: objs}
}

// redisKeyspace is the order queue's keyspace of a rendered configuration
// document, as the services build it from config.redis.
func redisKeyspace(t *testing.T, doc configDocument) (orderstream.Keyspace, bool) {
	t.Helper()
	redis, _ := doc.Spec["redis"].(map[string]any)
	cluster := redis["mode"] == "cluster"
	partitions := 1
	if p, ok := redis["partitions"]; ok {
		f, ok := p.(float64)
		if !ok {
			t.Fatalf("config spec.redis.partitions is %v, want a number", p)
		}
		partitions = int(f)
	}
	return orderstream.NewKeyspace(partitions, cluster), cluster
}

// checkOrderStreamTriggers: the ScaledObject has one trigger per order
// stream of the rendered configuration, in partition order, each reading
// the lag of the order-worker group on its stream with the scaler of
// config.redis.mode (redis-streams at autoscaling.keda.redis.address, or
// redis-cluster-streams at .addresses). The one historical stream scales
// on its own; partitioned (or tagged) streams are named triggers whose
// lags KEDA's formula sums, since every worker reads every partition.
// KEDA's own admission checks (triggers, scalingModifiers) pass.
func checkOrderStreamTriggers(t *testing.T, r rendered, so *kedav1alpha1.ScaledObject) {
	t.Helper()
	_, doc := renderedConfig(t, r)
	keys, cluster := redisKeyspace(t, doc)
	triggers := so.Spec.Triggers
	if len(triggers) != keys.Partitions {
		t.Fatalf("%d triggers for %d partitions: %+v", len(triggers), keys.Partitions, triggers)
	}
	if err := kedav1alpha1.ValidateTriggers(triggers); err != nil {
		t.Errorf("KEDA refuses the triggers: %v", err)
	}
	wantType := "redis-streams"
	if cluster {
		wantType = "redis-cluster-streams"
	}
	for p, tr := range triggers {
		md := tr.Metadata
		if want := keys.Stream(p); md["stream"] != want {
			t.Errorf("trigger %d watches stream %q, the services write partition %d to %q", p, md["stream"], p, want)
		}
		if tr.Type != wantType || md["consumerGroup"] != orderstream.Group {
			t.Errorf("trigger %d: %s for group %q, want %s for group %s", p, tr.Type, md["consumerGroup"], wantType, orderstream.Group)
		}
		if cluster {
			checkAddresses(t, p, md)
		} else if md["address"] == "" || md["addresses"] != "" {
			t.Errorf("trigger %d: want one address (standalone), has %v", p, md)
		}
		numbers := []string{"lagCount", "activationLagCount"}
		if !cluster {
			numbers = append(numbers, "databaseIndex")
		}
		for _, k := range numbers {
			if _, err := strconv.Atoi(md[k]); err != nil {
				t.Errorf("trigger %d metadata %s=%q is not a number", p, k, md[k])
			}
		}
		if md["lagCount"] == "0" {
			t.Errorf("trigger %d: lagCount 0 makes KEDA count pending entries instead of the lag", p)
		}
		if _, ok := md["pendingEntriesCount"]; ok {
			t.Errorf("trigger %d scales on pendingEntriesCount; lagCount is the one that can scale to and from zero", p)
		}
	}

	if !keys.Tagged {
		if so.IsUsingModifiers() || triggers[0].Name != "" {
			t.Errorf("the single stream %s: want its one trigger alone, without scalingModifiers", keys.Stream(0))
		}
		return
	}
	// Summed: the composite metric is the sum of the streams' lags, with
	// the single trigger's target and activation.
	if !so.IsUsingModifiers() {
		t.Fatalf("%d order streams (tagged): want scalingModifiers summing their lags", len(triggers))
	}
	sm := so.Spec.Advanced.ScalingModifiers
	md := triggers[0].Metadata
	if sm.Target != md["lagCount"] || sm.ActivationTarget != md["activationLagCount"] || sm.MetricType != autoscalingv2.AverageValueMetricType {
		t.Errorf("scalingModifiers target %q activation %q type %q: want lagCount %q, activationLagCount %q, AverageValue",
			sm.Target, sm.ActivationTarget, sm.MetricType, md["lagCount"], md["activationLagCount"])
	}
	program, err := kedav1alpha1.ValidateAndCompileScalingModifiers(so.DeepCopy())
	if err != nil {
		t.Fatalf("KEDA refuses the scalingModifiers: %v", err)
	}
	lags, want := map[string]float64{}, 0.0
	for p, tr := range triggers {
		lags[tr.Name] = float64(p + 1)
		want += lags[tr.Name]
	}
	got, err := expr.Run(program, lags)
	if err != nil || got != want {
		t.Errorf("formula %q over the streams' lags = %v (%v), want their sum %v", sm.Formula, got, err, want)
	}
}

func checkAddresses(t *testing.T, p int, md map[string]string) {
	t.Helper()
	if md["address"] != "" || md["databaseIndex"] != "" {
		t.Errorf("trigger %d: a cluster trigger has address %q / databaseIndex %q (cluster: addresses, database 0)", p, md["address"], md["databaseIndex"])
	}
	if md["addresses"] == "" {
		t.Errorf("trigger %d: a cluster trigger without addresses", p)
	}
	for a := range strings.SplitSeq(md["addresses"], ",") {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			t.Errorf("trigger %d: addresses %q: %q is not host:port", p, md["addresses"], a)
		}
	}
}

// A helm upgrade that only flips a fault injection flag changes the
// ConfigMap (the services reload it) but not the pods' checksum/config, so
// nothing restarts; any other config change still rolls the pods.
func TestFaultFlagsDoNotRollThePods(t *testing.T) {
	for _, tc := range []struct{ chart, flag string }{
		{"api", "config.faults.intakeLatency"}, {"order-worker", "config.faults.slowdown"}, {"catalog-sync", "config.faults.targetFailureRatio"},
	} {
		spec, c := chartByName(t, tc.chart), loadChart(t, tc.chart)
		base := readValues(t, filepath.Join(chartDir(t, tc.chart), "ci", "full-values.yaml"))
		value := any("2s")
		if strings.HasSuffix(tc.flag, "Ratio") {
			value = 0.5
		}
		checksum := func(vals map[string]any, label string) (string, string) {
			r := renderWith(t, spec, c, vals, label)
			cm, _ := renderedConfig(t, r)
			return serverDeployment(t, r).Spec.Template.Annotations["checksum/config"], cm.Data["config.yaml"]
		}
		sum0, doc0 := checksum(base, "full-values")
		sum1, doc1 := checksum(set(base, tc.flag, value), tc.flag)
		sum2, _ := checksum(set(base, "config.telemetry.logLevel", "debug"), "logLevel")
		if sum0 == "" || sum0 != sum1 || doc0 == doc1 {
			t.Errorf("%s: %s changed the checksum (%s → %s) or not the ConfigMap (%v)", tc.chart, tc.flag, sum0, sum1, doc0 == doc1)
		}
		if sum2 == sum0 {
			t.Errorf("%s: a log level change left checksum/config unchanged; the pods would not roll", tc.chart)
		}
	}
}
