package charttest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"
)

// Every chart renders with every ci/*.yaml values file in strict mode,
// every object decodes strictly into its Go type, and the properties that
// operators rely on hold.
func TestChartsRender(t *testing.T) {
	for _, spec := range charts {
		t.Run(spec.name, func(t *testing.T) {
			for _, r := range renderCI(t, spec) {
				t.Run(r.values, func(t *testing.T) {
					checkPods(t, r)
					checkServiceAccounts(t, r)
					checkNetworkPolicy(t, r)
					if spec.service {
						checkServer(t, r)
						checkMonitoring(t, r)
						checkAutoscaling(t, r)
						checkIngress(t, r)
					}
					switch spec.name {
					case "api":
						checkMigrationHook(t, r)
					case "loadgen":
						checkLoadgen(t, r)
					}
				})
			}
		})
	}
}

// podTemplates are every pod the chart can start: Deployments, Jobs, test pods.
func podTemplates(r rendered) map[string]*corev1.PodTemplateSpec {
	out := map[string]*corev1.PodTemplateSpec{}
	for _, d := range ofType[*appsv1.Deployment](r) {
		out["Deployment/"+d.Name] = &d.Spec.Template
	}
	for _, j := range ofType[*batchv1.Job](r) {
		out["Job/"+j.Name] = &j.Spec.Template
	}
	for _, p := range ofType[*corev1.Pod](r) {
		out["Pod/"+p.Name] = &corev1.PodTemplateSpec{ObjectMeta: p.ObjectMeta, Spec: p.Spec}
	}
	return out
}

var restricted = func() psapolicy.Evaluator {
	e, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		panic(err)
	}
	return e
}()

// checkPods: every pod passes Pod Security "restricted" (what a namespace
// enforcing it admits), runs as a non-root uid, mounts no service-account
// token, has a read-only root and resource limits.
func checkPods(t *testing.T, r rendered) {
	pods := podTemplates(r)
	if len(pods) == 0 {
		t.Fatal("no pods rendered")
	}
	for name, p := range pods {
		for _, res := range restricted.EvaluatePod(psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}, &p.ObjectMeta, &p.Spec) {
			if !res.Allowed {
				t.Errorf("%s violates Pod Security restricted: %s: %s", name, res.ForbiddenReason, res.ForbiddenDetail)
			}
		}
		if p.Spec.AutomountServiceAccountToken == nil || *p.Spec.AutomountServiceAccountToken {
			t.Errorf("%s: automountServiceAccountToken must be false", name)
		}
		sc := p.Spec.SecurityContext
		if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser == 0 || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("%s: pod must run as a non-root uid: %+v", name, sc)
		}
		for _, c := range p.Spec.Containers {
			cs := c.SecurityContext
			if cs == nil || cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem {
				t.Errorf("%s/%s: readOnlyRootFilesystem must be true", name, c.Name)
			}
			if cs == nil || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation {
				t.Errorf("%s/%s: allowPrivilegeEscalation must be false", name, c.Name)
			}
			if c.Resources.Limits.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s/%s: needs cpu and memory limits, has %v", name, c.Name, c.Resources.Limits)
			}
		}
	}
}

func checkServiceAccounts(t *testing.T, r rendered) {
	sas := ofType[*corev1.ServiceAccount](r)
	if len(sas) == 0 {
		t.Error("no ServiceAccount")
	}
	for _, sa := range sas {
		if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
			t.Errorf("ServiceAccount %s: automountServiceAccountToken must be false", sa.Name)
		}
	}
	for _, d := range ofType[*appsv1.Deployment](r) {
		if name := d.Spec.Template.Spec.ServiceAccountName; name != "" && !slices.ContainsFunc(sas, func(sa *corev1.ServiceAccount) bool { return sa.Name == name }) {
			t.Errorf("Deployment %s uses ServiceAccount %q, which the chart does not make", d.Name, name)
		}
	}
}

func fullname(spec chartSpec) string { return releaseName + "-" + spec.name }

// serverDeployment is the chart's serving Deployment.
func serverDeployment(t *testing.T, r rendered) *appsv1.Deployment {
	t.Helper()
	return one[*appsv1.Deployment](t, r, fullname(r.spec))
}

// configDocument is the chart's rendered configuration document.
type configDocument struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Spec       map[string]any `json:"spec"`
}

func renderedConfig(t *testing.T, r rendered) (*corev1.ConfigMap, configDocument) {
	t.Helper()
	cm := one[*corev1.ConfigMap](t, r, fullname(r.spec)+"-config")
	var doc configDocument
	if err := yaml.UnmarshalStrict([]byte(cm.Data["config.yaml"]), &doc); err != nil {
		t.Fatalf("ConfigMap config.yaml: %v", err)
	}
	return cm, doc
}

// specString reads a string at a dotted path of the config spec.
func specString(t *testing.T, doc configDocument, path string) string {
	t.Helper()
	var cur any = doc.Spec
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("config spec.%s: %q is not an object", path, part)
		}
		cur = m[part]
	}
	s, ok := cur.(string)
	if !ok {
		t.Fatalf("config spec.%s is %v, want a string", path, cur)
	}
	return s
}

func specSeconds(t *testing.T, doc configDocument, path string) float64 {
	t.Helper()
	d, err := time.ParseDuration(specString(t, doc, path))
	if err != nil {
		t.Fatalf("config spec.%s: %v", path, err)
	}
	return d.Seconds()
}

func envByName(c corev1.Container) map[string]corev1.EnvVar {
	m := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		m[e.Name] = e
	}
	return m
}

// checkServer: the serving Deployment reads the ConfigMap's document, rolls
// when it changes, probes /livez and /readyz on the configured port, takes
// GOMAXPROCS/GOMEMLIMIT from its limits, gets its secrets as files, and its
// grace period covers preStop and the drain; Service and PDB select exactly
// its pods.
func checkServer(t *testing.T, r rendered) {
	d := serverDeployment(t, r)
	cm, doc := renderedConfig(t, r)
	if doc.APIVersion != "shop.goshop.dev/v1alpha1" || doc.Kind != r.spec.configKind {
		t.Errorf("config document is %s/%s, want shop.goshop.dev/v1alpha1/%s", doc.APIVersion, doc.Kind, r.spec.configKind)
	}
	pod := d.Spec.Template
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("want one container, have %d", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	env := envByName(c)

	// Configuration: the env var names the file of the mounted ConfigMap.
	cfgEnv := env[r.spec.envPrefix+"_CONFIG"]
	mountFor := func(volume string) string {
		for _, m := range c.VolumeMounts {
			if m.Name == volume {
				return m.MountPath
			}
		}
		return ""
	}
	var cfgVolume string
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
			cfgVolume = v.Name
		}
	}
	if cfgVolume == "" || cfgEnv.Value != mountFor(cfgVolume)+"/config.yaml" {
		t.Errorf("%s_CONFIG=%q does not name config.yaml of the mounted ConfigMap %s", r.spec.envPrefix, cfgEnv.Value, cm.Name)
	}
	// What the checksum covers (everything but the fault flags):
	// TestFaultFlagsDoNotRollThePods.
	if got := pod.Annotations["checksum/config"]; len(got) != 64 {
		t.Errorf("checksum/config %q is not a sha256", got)
	}

	// Port and probes.
	addr := specString(t, doc, "http.addr")
	port, err := strconv.Atoi(addr[strings.LastIndex(addr, ":")+1:])
	if err != nil || len(c.Ports) != 1 || c.Ports[0].Name != "http" || int(c.Ports[0].ContainerPort) != port {
		t.Errorf("container ports %+v do not match config http.addr %q", c.Ports, addr)
	}
	for probe, path := range map[*corev1.Probe]string{c.LivenessProbe: "/livez", c.ReadinessProbe: "/readyz", c.StartupProbe: "/livez"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path || probe.HTTPGet.Port.String() != "http" {
			t.Errorf("probe %+v: want GET %s on port http", probe, path)
		}
	}

	// Go runtime limits follow the container's limits.
	for name, res := range map[string]string{"GOMAXPROCS": "limits.cpu", "GOMEMLIMIT": "limits.memory"} {
		e, ok := env[name]
		if !ok || e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil || e.ValueFrom.ResourceFieldRef.Resource != res {
			t.Errorf("%s must come from resourceFieldRef %s, is %+v", name, res, e)
		}
	}

	// Secrets: each *_FILE names a file of the mounted secret volume, which
	// holds that key.
	checkSecretFiles(t, r, pod, c, env)

	// Grace period: preStop + the service's drain, with margin.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds < 1 {
		t.Fatalf("want a preStop sleep handler (no shell in the image), have %+v", c.Lifecycle)
	}
	drain := specSeconds(t, doc, "http.drainDelay") + specSeconds(t, doc, "http.shutdownTimeout")
	if r.spec.name == "order-worker" {
		drain = max(drain, specSeconds(t, doc, "http.drainDelay")+specSeconds(t, doc, "consumer.block")+specSeconds(t, doc, "consumer.drainTimeout"))
	}
	need := float64(c.Lifecycle.PreStop.Sleep.Seconds) + drain
	if g := pod.Spec.TerminationGracePeriodSeconds; g == nil || float64(*g) <= need {
		t.Errorf("terminationGracePeriodSeconds %v must exceed preStop + drain = %v s", g, need)
	}

	// Service and PDB select the serving pods and nothing else of the release.
	podLabels := labels.Set(pod.Labels)
	svc := one[*corev1.Service](t, r, fullname(r.spec))
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, pod.Labels)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service ports %+v: want one port named http to targetPort http", svc.Spec.Ports)
	}
	for name, other := range podTemplates(r) {
		if !strings.HasPrefix(name, "Deployment/") && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(other.Labels)) {
			t.Errorf("Service selects %s too: it would receive traffic", name)
		}
	}
	for _, pdb := range ofType[*policyv1.PodDisruptionBudget](r) {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(podLabels) {
			t.Errorf("PDB %s selector does not select the pods", pdb.Name)
		}
		if (pdb.Spec.MinAvailable == nil) == (pdb.Spec.MaxUnavailable == nil) {
			t.Errorf("PDB %s: want exactly one of minAvailable and maxUnavailable", pdb.Name)
		}
	}
	if len(ofType[*policyv1.PodDisruptionBudget](r)) != 1 {
		t.Error("want a PodDisruptionBudget (pdb.create is on in every ci file)")
	}

	// helm test hook: asks /readyz of this Service.
	var tests int
	for _, p := range ofType[*corev1.Pod](r) {
		if p.Annotations["helm.sh/hook"] == "test" {
			tests++
			if cmd := strings.Join(p.Spec.Containers[0].Command, " "); !strings.Contains(cmd, fmt.Sprintf("http://%s:%d/readyz", svc.Name, svc.Spec.Ports[0].Port)) {
				t.Errorf("test pod %s does not ask %s's /readyz: %s", p.Name, svc.Name, cmd)
			}
		}
	}
	if tests != 1 {
		t.Errorf("want one helm test pod, have %d", tests)
	}
	if _, ok := r.files[r.spec.name+"/templates/NOTES.txt"]; !ok {
		t.Error("no NOTES.txt rendered")
	}
}

// checkSecretFiles: every <PREFIX>_..._FILE variable points into a mounted
// Secret volume, and when the chart makes that Secret it holds the key.
func checkSecretFiles(t *testing.T, r rendered, pod corev1.PodTemplateSpec, c corev1.Container, env map[string]corev1.EnvVar) {
	t.Helper()
	secretMounts := map[string]string{} // mount path -> Secret name
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Spec.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				secretMounts[m.MountPath] = v.Secret.SecretName
			}
		}
	}
	made := map[string]*corev1.Secret{}
	for _, s := range ofType[*corev1.Secret](r) {
		made[s.Name] = s
	}
	for name, e := range env {
		if !strings.HasSuffix(name, "_FILE") {
			continue
		}
		dir, key := e.Value[:strings.LastIndex(e.Value, "/")], e.Value[strings.LastIndex(e.Value, "/")+1:]
		secret, ok := secretMounts[dir]
		if !ok {
			t.Errorf("%s=%s is not in a mounted Secret", name, e.Value)
			continue
		}
		if s, ok := made[secret]; ok {
			if len(s.Data[key]) == 0 {
				t.Errorf("%s=%s: the chart's Secret %s has no key %q", name, e.Value, secret, key)
			}
		}
	}
	_, hasSum := pod.Annotations["checksum/secret"]
	if _, madeSecret := made[fullname(r.spec)]; hasSum != madeSecret {
		t.Errorf("checksum/secret annotation present=%v, but the chart makes the Secret: %v (pods must roll when it changes)", hasSum, madeSecret)
	}
}

// checkMonitoring: the ServiceMonitor scrapes the Service's http port and
// sets the job label the dashboards and alerts select; PrometheusRule and
// dashboards are well-formed.
func checkMonitoring(t *testing.T, r rendered) {
	svc := one[*corev1.Service](t, r, fullname(r.spec))
	sms := ofType[*monitoringv1.ServiceMonitor](r)
	rules := ofType[*monitoringv1.PrometheusRule](r)
	full := strings.Contains(r.values, "full")
	if full && (len(sms) != 1 || len(rules) != 1) {
		t.Fatalf("full values: want one ServiceMonitor and one PrometheusRule, have %d and %d", len(sms), len(rules))
	}
	for _, sm := range sms {
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(svc.Labels)) {
			t.Errorf("ServiceMonitor selector %v does not select Service %s", sm.Spec.Selector, svc.Name)
		}
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Fatalf("ServiceMonitor endpoints %+v: want port http, path /metrics", sm.Spec.Endpoints)
		}
		job := ""
		for _, rc := range sm.Spec.Endpoints[0].RelabelConfigs {
			if rc.TargetLabel == "job" && (rc.Action == "" || rc.Action == "replace") && len(rc.SourceLabels) == 0 && rc.Replacement != nil {
				job = *rc.Replacement
			}
		}
		if job != r.spec.job {
			t.Errorf("ServiceMonitor sets job=%q, the dashboards and alerts select job=%q", job, r.spec.job)
		}
	}
	for _, pr := range rules {
		if len(pr.Spec.Groups) == 0 {
			t.Error("PrometheusRule has no groups")
		}
		for _, g := range pr.Spec.Groups {
			if len(g.Rules) == 0 {
				t.Errorf("rule group %s is empty", g.Name)
			}
			for _, rule := range g.Rules {
				if rule.Expr.String() == "" || (rule.Alert == "") == (rule.Record == "") {
					t.Errorf("group %s: malformed rule %+v", g.Name, rule)
				}
			}
		}
	}
	var dashboards []string
	for _, cm := range ofType[*corev1.ConfigMap](r) {
		if cm.Labels["grafana_dashboard"] != "1" {
			continue
		}
		for file, data := range cm.Data {
			var d struct {
				UID    string            `json:"uid"`
				Title  string            `json:"title"`
				Panels []json.RawMessage `json:"panels"`
			}
			if err := json.Unmarshal([]byte(data), &d); err != nil || d.UID == "" || len(d.Panels) == 0 {
				t.Errorf("dashboard ConfigMap %s/%s is not a dashboard (uid %q, %d panels, %v)", cm.Name, file, d.UID, len(d.Panels), err)
			}
			dashboards = append(dashboards, file)
		}
	}
	sort.Strings(dashboards)
	if full && !slices.Equal(dashboards, r.spec.dashboards) {
		t.Errorf("dashboard ConfigMaps %v, want %v", dashboards, r.spec.dashboards)
	}
}

// checkAutoscaling: HPA or KEDA own the replica count (the Deployment then
// has none); the order-worker's ScaledObject watches the order streams of
// its configuration for the order-worker group (checkOrderStreamTriggers).
func checkAutoscaling(t *testing.T, r rendered) {
	d := serverDeployment(t, r)
	hpas := ofType[*autoscalingv2.HorizontalPodAutoscaler](r)
	sos := ofType[*kedav1alpha1.ScaledObject](r)
	if len(hpas)+len(sos) > 1 {
		t.Fatalf("both an HPA and a ScaledObject (%d, %d)", len(hpas), len(sos))
	}
	if managed := len(hpas)+len(sos) == 1; managed != (d.Spec.Replicas == nil) {
		t.Errorf("autoscaled=%v but Deployment replicas=%v: a fixed count fights the autoscaler", managed, d.Spec.Replicas)
	}
	for _, h := range hpas {
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != d.Name {
			t.Errorf("HPA targets %+v", h.Spec.ScaleTargetRef)
		}
		if len(h.Spec.Metrics) != 1 || h.Spec.Metrics[0].Resource == nil || h.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
			t.Errorf("HPA metrics %+v: want CPU", h.Spec.Metrics)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas > h.Spec.MaxReplicas {
			t.Errorf("HPA min %v max %d", h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
	}
	for _, so := range sos {
		if so.Spec.ScaleTargetRef == nil || so.Spec.ScaleTargetRef.Name != d.Name {
			t.Errorf("ScaledObject targets %+v", so.Spec.ScaleTargetRef)
		}
		if so.Spec.MinReplicaCount == nil || so.Spec.MaxReplicaCount == nil || *so.Spec.MinReplicaCount > *so.Spec.MaxReplicaCount ||
			so.Spec.PollingInterval == nil || so.Spec.CooldownPeriod == nil {
			t.Errorf("ScaledObject needs min <= max replicas, pollingInterval and cooldownPeriod: %+v", so.Spec)
		}
		checkOrderStreamTriggers(t, r, so)
		// Every trigger logs in the same way, through the one TriggerAuthentication.
		tas := ofType[*kedav1alpha1.TriggerAuthentication](r)
		ref := so.Spec.Triggers[0].AuthenticationRef
		for _, tr := range so.Spec.Triggers {
			if !reflect.DeepEqual(tr.AuthenticationRef, ref) {
				t.Errorf("trigger %s authenticationRef %+v, trigger 0's is %+v", tr.Name, tr.AuthenticationRef, ref)
			}
		}
		if ref != nil {
			if len(tas) != 1 || tas[0].Name != ref.Name || len(tas[0].Spec.SecretTargetRef) == 0 ||
				tas[0].Spec.SecretTargetRef[0].Parameter != "password" {
				t.Errorf("authenticationRef %+v without a matching TriggerAuthentication with a password", ref)
			}
		} else if len(tas) != 0 {
			t.Error("a TriggerAuthentication nobody references")
		}
	}
	if r.spec.name == "order-worker" && strings.Contains(r.values, "default") && len(sos) != 1 {
		t.Error("order-worker: KEDA must be the default autoscaler")
	}
	if r.spec.name == "order-worker" && strings.Contains(r.values, "hpa") && len(hpas) != 1 {
		t.Error("order-worker: autoscaling.mode hpa must make an HPA")
	}
}

// checkNetworkPolicy: default deny both ways for the release's pods, then
// only the listed ports (no rule that allows everything).
func checkNetworkPolicy(t *testing.T, r rendered) {
	nps := ofType[*networkingv1.NetworkPolicy](r)
	if len(nps) != 1 {
		t.Fatalf("want one NetworkPolicy, have %d", len(nps))
	}
	np := nps[0]
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
		t.Errorf("policyTypes %v: want Ingress and Egress (default deny both ways)", np.Spec.PolicyTypes)
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil || sel.Empty() {
		t.Fatalf("NetworkPolicy must select the release's pods, selects %v", np.Spec.PodSelector)
	}
	for name, p := range podTemplates(r) {
		if p.Annotations["helm.sh/hook"] == "test" {
			continue
		}
		if !sel.Matches(labels.Set(p.Labels)) {
			t.Errorf("NetworkPolicy does not cover %s", name)
		}
	}
	var ports []string
	for _, e := range np.Spec.Egress {
		if len(e.Ports) == 0 {
			t.Errorf("egress rule without ports allows everything: %+v", e)
		}
		for _, p := range e.Ports {
			ports = append(ports, fmt.Sprintf("%s/%s", p.Port.String(), *p.Protocol))
		}
	}
	sort.Strings(ports)
	if strings.Contains(r.values, "default") && !slices.Equal(ports, r.spec.defaultEgress) {
		t.Errorf("default egress ports %v, want exactly %v", ports, r.spec.defaultEgress)
	}
	for _, in := range np.Spec.Ingress {
		if len(in.Ports) == 0 {
			t.Errorf("ingress rule without ports: %+v", in)
		}
	}
}

func checkIngress(t *testing.T, r rendered) {
	for _, ing := range ofType[*networkingv1.Ingress](r) {
		for _, rule := range ing.Spec.Rules {
			for _, p := range rule.HTTP.Paths {
				if p.Backend.Service == nil || p.Backend.Service.Name != fullname(r.spec) || p.Backend.Service.Port.Name != "http" {
					t.Errorf("Ingress backend %+v: want Service %s port http", p.Backend, fullname(r.spec))
				}
			}
		}
	}
	if strings.Contains(r.values, "full") && len(ofType[*networkingv1.Ingress](r)) != 1 {
		t.Error("full values: want an Ingress")
	}
}

// checkMigrationHook: `api migrate` runs as a pre-install/pre-upgrade hook
// that needs nothing the release creates later: no ConfigMap, no release
// ServiceAccount, and either the user's Secret or a hook Secret created
// before it.
func checkMigrationHook(t *testing.T, r rendered) {
	job := one[*batchv1.Job](t, r, fullname(r.spec)+"-migrate")
	a := job.Annotations
	if a["helm.sh/hook"] != "pre-install,pre-upgrade" || a["helm.sh/hook-weight"] == "" ||
		!strings.Contains(a["helm.sh/hook-delete-policy"], "before-hook-creation") {
		t.Errorf("migration Job hook annotations %v", a)
	}
	jobWeight, _ := strconv.Atoi(a["helm.sh/hook-weight"])
	spec := job.Spec.Template.Spec
	if spec.ServiceAccountName != "" {
		t.Errorf("the hook uses ServiceAccount %q, which does not exist before install", spec.ServiceAccountName)
	}
	c := spec.Containers[0]
	if !slices.Equal(c.Args, []string{"migrate"}) {
		t.Errorf("migration args %v", c.Args)
	}
	if spec.RestartPolicy != corev1.RestartPolicyNever || job.Spec.BackoffLimit == nil || job.Spec.ActiveDeadlineSeconds == nil {
		t.Errorf("migration Job needs restartPolicy Never, a backoffLimit and a deadline")
	}
	hookSecrets := map[string]int{}
	for _, s := range ofType[*corev1.Secret](r) {
		if strings.Contains(s.Annotations["helm.sh/hook"], "pre-install") {
			w, _ := strconv.Atoi(s.Annotations["helm.sh/hook-weight"])
			hookSecrets[s.Name] = w
		}
	}
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil {
			t.Errorf("the hook mounts ConfigMap %s, which does not exist before install", v.ConfigMap.Name)
		}
		if v.Secret != nil {
			w, isHook := hookSecrets[v.Secret.SecretName]
			made := slices.ContainsFunc(ofType[*corev1.Secret](r), func(s *corev1.Secret) bool { return s.Name == v.Secret.SecretName })
			if made && (!isHook || w >= jobWeight) {
				t.Errorf("the hook mounts the chart's Secret %s, which is not a hook created before it (hook=%v weight %d, job %d)", v.Secret.SecretName, isHook, w, jobWeight)
			}
		}
	}
	env := envByName(c)
	if strings.Contains(r.values, "full") {
		if _, ok := env["API_DATABASE_URL_FILE"]; !ok {
			t.Error("full values: the migration gets no database URL")
		}
	}
}

func checkLoadgen(t *testing.T, r rendered) {
	d := one[*appsv1.Deployment](t, r, fullname(r.spec))
	vals := readValues(t, chartDir(t, "loadgen")+"/"+r.values)
	want := int32(0)
	if vals["enabled"] == true {
		want = 1
		if n, ok := vals["replicaCount"].(float64); ok {
			want = int32(n)
		}
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != want {
		t.Errorf("replicas %v, want %d (enabled=%v)", d.Spec.Replicas, want, vals["enabled"])
	}
	args := d.Spec.Template.Spec.Containers[0].Args
	if len(args) == 0 || args[0] != "run" || !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--rate=") }) {
		t.Errorf("loadgen args %v: want `run` in the open model (--rate)", args)
	}
	np := ofType[*networkingv1.NetworkPolicy](r)[0]
	if len(np.Spec.Ingress) != 0 {
		t.Errorf("nothing may reach the load generator, ingress %+v", np.Spec.Ingress)
	}
}
