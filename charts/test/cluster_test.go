package charttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goshop-platform/shop/charts/test/controlplane"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// TestChartsInstallOnControlPlane installs every chart with each of its
// ci/*-values.yaml files (the defaults and the fully-enabled variant) onto a
// real control plane, in namespaces that enforce Pod Security "restricted",
// with `helm upgrade --install --wait`.
func TestChartsInstallOnControlPlane(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kubernetes control plane (~15 s); not in -short")
	}
	cluster := controlplane.Start(t)
	cluster.ApplyCRDs(t)
	for _, spec := range charts {
		for _, values := range ciValuesFiles(t, spec.name) {
			variant := strings.TrimSuffix(filepath.Base(values), "-values.yaml")
			t.Run(spec.name+"/"+variant, func(t *testing.T) {
				installAndCheck(t, cluster, chartDir(t, spec.name), values, spec.name+"-"+variant)
			})
		}
	}
	t.Run("broken values are refused", func(t *testing.T) {
		refuseBrokenValues(t, cluster)
	})
	t.Run("a pod that breaks restricted fails the install", func(t *testing.T) {
		privilegedPodFailsInstall(t, cluster)
	})
	t.Run("a config change rolls the pods", func(t *testing.T) {
		configChangeRollsPods(t, cluster, "storefront-default")
	})
}

func installAndCheck(t *testing.T, cluster *controlplane.Cluster, chart, values, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	restrictedNamespace(t, cluster, ns)
	jobs := watchJobs(t, cluster, ns)
	release := filepath.Base(chart)
	if _, err := cluster.Helm(ctx, "upgrade", "--install", release, chart, "--namespace", ns,
		"--values", values, "--wait", "--wait-for-jobs", "--timeout", "3m"); err != nil {
		t.Fatalf("helm upgrade --install: %v", err)
	}
	desired := deploymentsAvailable(t, cluster, ns)
	if desired == 0 && !zeroReplicasExpected(release, values) {
		t.Errorf("release %s in %s has no Deployment with replicas", release, ns)
	}
	podsReady(t, cluster, ns, desired)
	if release == "api" {
		migrated := jobs.completed()
		if len(migrated) == 0 || !strings.Contains(strings.Join(migrated, ","), "migrate") {
			t.Errorf("the migration hook Job did not run to completion; completed Jobs seen: %v", migrated)
		}
	}
	hooksAdmitted(t, cluster, ns, release)
	rootPodRefused(t, cluster, ns)
}

// zeroReplicasExpected: loadgen ships switched off.
func zeroReplicasExpected(release, values string) bool {
	return release == "loadgen" && !strings.Contains(filepath.Base(values), "full")
}

func restrictedNamespace(t *testing.T, cluster *controlplane.Cluster, ns string) {
	t.Helper()
	_, err := cluster.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
			"pod-security.kubernetes.io/enforce":         "restricted",
			"pod-security.kubernetes.io/enforce-version": "latest",
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", ns, err)
	}
}

// deploymentsAvailable waits until every Deployment in ns has all its
// replicas available (an HPA may raise the count after helm's wait ended)
// and returns the sum of the desired replicas.
func deploymentsAvailable(t *testing.T, cluster *controlplane.Cluster, ns string) int32 {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		desired, pending, err := deploymentStatus(cluster, ns)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) == 0 {
			return desired
		}
		if time.Now().After(deadline) {
			t.Errorf("deployments in %s not available after a minute: %s", ns, strings.Join(pending, "; "))
			return desired
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func deploymentStatus(cluster *controlplane.Cluster, ns string) (desired int32, pending []string, err error) {
	list, err := cluster.Client.AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return 0, nil, err
	}
	for _, d := range list.Items {
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		desired += want
		if d.Status.AvailableReplicas != want || d.Status.ObservedGeneration != d.Generation {
			pending = append(pending, fmt.Sprintf("%s: %d of %d replicas available (generation %d, observed %d)",
				d.Name, d.Status.AvailableReplicas, want, d.Generation, d.Status.ObservedGeneration))
		}
	}
	return desired, pending, nil
}

// podsReady asserts the pods behind the Deployments exist (Pod Security
// admission let them in), were scheduled onto a node and are Ready.
func podsReady(t *testing.T, cluster *controlplane.Cluster, ns string, desired int32) {
	t.Helper()
	pods, err := cluster.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ready int32
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodSucceeded {
			continue // the migration Job's pod
		}
		leastPrivilege(t, p)
		if p.Spec.NodeName == "" || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s/%s: node %q, phase %s", ns, p.Name, p.Spec.NodeName, p.Status.Phase)
			continue
		}
		ready++
	}
	if ready != desired {
		t.Errorf("%d running pods in %s, want %d", ready, ns, desired)
	}
}

// leastPrivilege checks a pod as the API server stored it, after the
// ServiceAccount admission plugin (which adds a kube-api-access-* token
// volume unless automounting is off): no token, not root.
func leastPrivilege(t *testing.T, p corev1.Pod) {
	t.Helper()
	for _, v := range p.Spec.Volumes {
		if strings.HasPrefix(v.Name, "kube-api-access-") || (v.Projected != nil && projectsToken(v.Projected)) {
			t.Errorf("pod %s/%s mounts a service-account token (volume %s)", p.Namespace, p.Name, v.Name)
		}
	}
	sc := p.Spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("pod %s/%s may run as root: %+v", p.Namespace, p.Name, sc)
	}
}

func projectsToken(v *corev1.ProjectedVolumeSource) bool {
	for _, s := range v.Sources {
		if s.ServiceAccountToken != nil {
			return true
		}
	}
	return false
}

// hooksAdmitted creates the release's hooks (the helm test pod, the
// migration Job) as a server-side dry run: admission, Pod Security
// included, judges them without anything being stored.
func hooksAdmitted(t *testing.T, cluster *controlplane.Cluster, ns, release string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hooks, err := cluster.Helm(ctx, "get", "hooks", release, "--namespace", ns)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hooks), "helm.sh/hook: test") {
		t.Errorf("release %s has no helm test hook", release)
	}
	file := filepath.Join(t.TempDir(), "hooks.yaml")
	if err := os.WriteFile(file, hooks, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := cluster.Kubectl(ctx, "create", "--dry-run=server", "--namespace", ns, "-f", file); err != nil {
		t.Errorf("hooks of %s refused by the API server: %v\n%s", release, err, out)
	}
}

// rootPodRefused proves the namespace really enforces "restricted": a pod
// running as root is refused (without this, every check above would pass
// in a namespace with no Pod Security at all).
func rootPodRefused(t *testing.T, cluster *controlplane.Cluster, ns string) {
	t.Helper()
	root := int64(0)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "root-probe"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "example.invalid/root",
			SecurityContext: &corev1.SecurityContext{RunAsUser: &root},
		}}},
	}
	_, err := cluster.Client.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
		t.Errorf("a root pod in %s was not refused by Pod Security: %v", ns, err)
	}
}

// refuseBrokenValues: an unknown key and a wrongly typed value fail the
// install before anything reaches the cluster.
func refuseBrokenValues(t *testing.T, cluster *controlplane.Cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	restrictedNamespace(t, cluster, "broken")
	for _, set := range []string{"replicaCount=two", "imagee.tag=1"} {
		out, err := cluster.Helm(ctx, "upgrade", "--install", "broken", chartDir(t, "api"),
			"--namespace", "broken", "--set", set)
		if err == nil {
			t.Errorf("--set %s was accepted", set)
		} else if !strings.Contains(string(out), "values don't meet the specifications of the schema") {
			t.Errorf("--set %s failed, but not on the schema: %s", set, out)
		}
	}
	if _, err := cluster.Helm(ctx, "status", "broken", "--namespace", "broken"); err == nil {
		t.Error("a release named broken exists after refused installs")
	}
}

// jobWatch records the Jobs of a namespace that ran to completion; hook
// Jobs may be deleted right after, so they are watched, not listed.
type jobWatch struct {
	mu   sync.Mutex
	done map[string]bool
}

func watchJobs(t *testing.T, cluster *controlplane.Cluster, ns string) *jobWatch {
	t.Helper()
	w, err := cluster.Client.BatchV1().Jobs(ns).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	jw := &jobWatch{done: map[string]bool{}}
	go func() {
		for ev := range w.ResultChan() {
			job, ok := ev.Object.(*batchv1.Job)
			if !ok || ev.Type == watch.Error {
				continue
			}
			for _, c := range job.Status.Conditions {
				if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
					jw.mu.Lock()
					jw.done[job.Name] = true
					jw.mu.Unlock()
				}
			}
		}
	}()
	return jw
}

func (w *jobWatch) completed() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var names []string
	for n := range w.done {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// privilegedPodFailsInstall: were a chart to render a pod that "restricted"
// refuses (here: a post-renderer allows privilege escalation), the install
// fails and the ReplicaSet reports Pod Security as the reason. Without this,
// the passing installs above could mean the namespace enforced nothing.
func privilegedPodFailsInstall(t *testing.T, cluster *controlplane.Cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := "privileged"
	restrictedNamespace(t, cluster, ns)
	post := filepath.Join(t.TempDir(), "escalate.sh")
	script := "#!/bin/sh\nexec sed 's/allowPrivilegeEscalation: false/allowPrivilegeEscalation: true/'\n"
	if err := os.WriteFile(post, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := cluster.Helm(ctx, "upgrade", "--install", "storefront", chartDir(t, "storefront"), "--namespace", ns,
		"--post-renderer", post, "--wait", "--timeout", "15s")
	if err == nil {
		t.Fatalf("the install of a privilege-escalating pod succeeded:\n%s", out)
	}
	pods, err := cluster.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("%d pods were admitted (%v)", len(pods.Items), err)
	}
	events, err := cluster.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=FailedCreate"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if strings.Contains(e.Message, "violates PodSecurity") && strings.Contains(e.Message, "allowPrivilegeEscalation") {
			return
		}
	}
	t.Errorf("no FailedCreate event names Pod Security; events: %+v", events.Items)
}

// configChangeRollsPods: a changed config value reaches the pods by a
// rollout (the pod template carries the config's checksum).
func configChangeRollsPods(t *testing.T, cluster *controlplane.Cluster, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before := podTemplateChecksum(t, cluster, ns)
	if _, err := cluster.Helm(ctx, "upgrade", "storefront", chartDir(t, "storefront"), "--namespace", ns,
		"--reuse-values", "--set", "config.telemetry.logLevel=debug", "--wait", "--timeout", "2m"); err != nil {
		state, _ := cluster.Kubectl(context.Background(), "get", "deploy,rs,pods", "-n", ns, "-o", "wide")
		desc, _ := cluster.Kubectl(context.Background(), "get", "pods", "-n", ns, "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.conditions} {.metadata.deletionTimestamp}{\"\\n\"}{end}")
		t.Fatalf("helm upgrade: %v\n%s\n%s", err, state, desc)
	}
	after := podTemplateChecksum(t, cluster, ns)
	if before == "" || before == after {
		t.Fatalf("checksum/config before %q, after %q: the pods would keep the old config", before, after)
	}
	deploymentsAvailable(t, cluster, ns)
	rs, err := cluster.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var current int
	for _, r := range rs.Items {
		if r.Spec.Template.Annotations["checksum/config"] == after && r.Status.AvailableReplicas > 0 {
			current++
		}
	}
	if current != 1 || len(rs.Items) < 2 {
		t.Errorf("%d ReplicaSets, %d available with the new config: no rollout happened", len(rs.Items), current)
	}
}

func podTemplateChecksum(t *testing.T, cluster *controlplane.Cluster, ns string) string {
	t.Helper()
	d, err := cluster.Client.AppsV1().Deployments(ns).Get(context.Background(), "storefront", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Annotations["checksum/config"]
}
