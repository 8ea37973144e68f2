// Package charttest checks the shop's Helm charts and container images
// without a cluster: every chart is rendered with each of its ci/*.yaml
// values files through the Helm library in strict mode, every object is
// decoded strictly into its Kubernetes, prometheus-operator or KEDA Go type,
// and the properties operators rely on are asserted; the images that
// docker-bake.hcl lists are checked, target by target, against the
// Dockerfile and the repository they build.
package charttest
