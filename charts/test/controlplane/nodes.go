package controlplane

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/platform/testenv"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kwokAnnotation marks the nodes kwok plays.
const kwokAnnotation = "kwok.x-k8s.io/node"

// Zones are the topology zones of the fake nodes: one node in each, so a
// chart's topology spread has somewhere to spread to.
var Zones = []string{"zone-a", "zone-b"}

// startKwok runs kwok with its "fast" stages and registers one node per
// zone, then waits until they are Ready.
func (c *Cluster) startKwok(t testing.TB) {
	kwok := testenv.StartService(t, "kwok", c.bin("kwok"), nil,
		"--kubeconfig="+c.Kubeconfig, "--config="+filepath.Join(c.Tools, "kwok-stages.yaml"),
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector="+kwokAnnotation+"=fake",
		"--cidr=10.244.0.1/16", "--node-ip=10.0.0.1",
		// Renew each node's Lease: without a heartbeat the node lifecycle
		// controller marks the nodes NotReady after its 50 s grace period,
		// and every pod on them unready.
		"--node-lease-duration-seconds=40")
	ctx := context.Background()
	for i, zone := range Zones {
		node := fakeNode(fmt.Sprintf("kwok-node-%d", i), zone)
		if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			t.Fatalf("controlplane: create node: %v", err)
		}
	}
	kwok.WaitReady(t, 60*time.Second, func() error {
		nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, n := range nodes.Items {
			if !nodeReady(n) {
				return fmt.Errorf("node %s not Ready yet", n.Name)
			}
		}
		return nil
	})
}

func fakeNode(name, zone string) *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{kwokAnnotation: "fake"},
			Labels: map[string]string{
				"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
				"kubernetes.io/arch": "amd64", "topology.kubernetes.io/zone": zone,
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// writeServiceAccountKeys makes the key pair the apiserver signs and checks
// service-account tokens with.
func writeServiceAccountKeys(t testing.TB, dir string) (keyFile, pubFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	keyFile, pubFile = filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	for file, block := range map[string]*pem.Block{
		keyFile: {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)},
		pubFile: {Type: "PUBLIC KEY", Bytes: pub},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return keyFile, pubFile
}
