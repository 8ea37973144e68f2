package tiltfile

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

var (
	scheme = func() *runtime.Scheme {
		s := runtime.NewScheme()
		for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
			policyv1.AddToScheme, networkingv1.AddToScheme, autoscalingv2.AddToScheme, rbacv1.AddToScheme} {
			if err := add(s); err != nil {
				panic(err)
			}
		}
		return s
	}()
	strict = serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
)

// DecodeStrict decodes one manifest into its k8s.io/api type, failing on
// unknown or duplicate fields and wrong types. known is false for kinds
// outside the built-in API groups (custom resources).
func DecodeStrict(raw []byte) (obj runtime.Object, known bool, err error) {
	obj, _, err = strict.Decode(raw, nil, nil)
	if runtime.IsNotRegisteredError(err) {
		return nil, false, nil
	}
	return obj, true, err
}

// PodTemplate returns the pod metadata and spec of a typed workload (nil for other kinds).
func PodTemplate(obj runtime.Object) (*metav1.ObjectMeta, *corev1.PodSpec) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return &o.ObjectMeta, &o.Spec
	case *appsv1.Deployment:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
	case *appsv1.StatefulSet:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
	case *appsv1.DaemonSet:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
	case *appsv1.ReplicaSet:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
	case *batchv1.Job:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template.ObjectMeta, &o.Spec.JobTemplate.Spec.Template.Spec
	}
	return nil, nil
}

var podSecurity = func() policy.Evaluator {
	e, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		panic(err)
	}
	return e
}()

// PodSecurity returns why a pod would be refused at the given Pod Security
// level ("privileged", "baseline" or "restricted"), or "" when it passes.
func PodSecurity(level string, meta *metav1.ObjectMeta, spec *corev1.PodSpec) (string, error) {
	l, err := psaapi.ParseLevel(level)
	if err != nil {
		return "", fmt.Errorf("pod security level %q: %w", level, err)
	}
	res := policy.AggregateCheckResults(podSecurity.EvaluatePod(psaapi.LevelVersion{Level: l, Version: psaapi.LatestVersion()}, meta, spec))
	if res.Allowed {
		return "", nil
	}
	return res.ForbiddenDetail(), nil
}
