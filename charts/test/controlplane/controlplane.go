// Package controlplane starts a real Kubernetes control plane for the chart
// tests, without Docker and without a kubelet: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler as local processes, and kwok
// playing the nodes (pods are scheduled, become Running and Ready, and pods
// of Jobs Succeed). Admission is the real thing, Pod Security included.
// What it cannot show: containers actually running (no images), network
// policies enforced (no network plugin), or the KEDA and prometheus-operator
// controllers acting (their CRDs are installed, their controllers are not).
//
// The binaries, etcd included, come from scripts/install-kube-tools.sh
// (make kube-tools).
package controlplane

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/platform/testenv"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// KubeVersion is the version scripts/install-kube-tools.sh builds.
const KubeVersion = "v1.37.2"

// Cluster is a running control plane owned by one test.
type Cluster struct {
	// Kubeconfig is the path of a kubeconfig with cluster-admin rights.
	Kubeconfig string
	// Tools is the folder of the toolchain (bin/, crds/, kwok-stages.yaml).
	Tools  string
	Client kubernetes.Interface
	dir    string
}

// ToolsDir is the toolchain folder: $KUBE_TOOLS_DIR, or where
// scripts/install-kube-tools.sh puts it. It fails, saying how to get it,
// when a binary is missing.
func ToolsDir() (string, error) {
	dir := os.Getenv("KUBE_TOOLS_DIR")
	if dir == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", err
			}
			cache = filepath.Join(home, ".cache")
		}
		dir = filepath.Join(cache, "goshop", "kube-tools-"+KubeVersion)
	}
	for _, bin := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "helm", "kwok"} {
		if _, err := os.Stat(filepath.Join(dir, "bin", bin)); err != nil {
			return "", fmt.Errorf("%s is missing: run `make kube-tools` (scripts/install-kube-tools.sh, ~10 min the first time) or set KUBE_TOOLS_DIR", filepath.Join(dir, "bin", bin))
		}
	}
	return dir, nil
}

// Start runs the control plane and one kwok node; everything stops when the
// test ends. About 10 s on 2 cores.
func Start(t testing.TB) *Cluster {
	t.Helper()
	tools, err := ToolsDir()
	if err != nil {
		t.Fatalf("controlplane: %v", err)
	}
	c := &Cluster{Tools: tools, dir: t.TempDir()}
	etcdURL := c.startEtcd(t)
	server, token := c.startAPIServer(t, etcdURL)
	c.writeKubeconfig(t, server, token)
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatalf("controlplane: kubeconfig: %v", err)
	}
	c.Client = kubernetes.NewForConfigOrDie(cfg)
	c.startControllers(t)
	c.startKwok(t)
	return c
}

func (c *Cluster) bin(name string) string { return filepath.Join(c.Tools, "bin", name) }

func (c *Cluster) startEtcd(t testing.TB) string {
	client, peer := freePort(t), freePort(t)
	clientURL := "http://127.0.0.1:" + client
	peerURL := "http://127.0.0.1:" + peer
	etcd := testenv.StartService(t, "etcd", c.bin("etcd"), nil,
		"--name=default", "--data-dir="+filepath.Join(c.dir, "etcd"),
		"--listen-client-urls="+clientURL, "--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL, "--logger=zap", "--log-level=warn")
	etcd.WaitHTTP(t, clientURL+"/health", 30*time.Second)
	return clientURL
}

func (c *Cluster) startAPIServer(t testing.TB, etcdURL string) (server, token string) {
	key, pub := writeServiceAccountKeys(t, c.dir)
	token = "goshop-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	tokens := filepath.Join(c.dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+",admin,admin,system:masters\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	server = "https://127.0.0.1:" + port
	apiserver := testenv.StartService(t, "kube-apiserver", c.bin("kube-apiserver"), nil,
		"--etcd-servers="+etcdURL, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+port, "--cert-dir="+filepath.Join(c.dir, "certs"),
		"--token-auth-file="+tokens, "--authorization-mode=AlwaysAllow",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+pub, "--service-account-signing-key-file="+key,
		"--service-cluster-ip-range=10.96.0.0/16", "--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false")
	apiserver.WaitReady(t, 90*time.Second, httpsOK(server+"/readyz", token))
	return server, token
}

func (c *Cluster) writeKubeconfig(t testing.TB, server, token string) {
	c.Kubeconfig = filepath.Join(c.dir, "kubeconfig")
	doc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: %q}
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
`, server, token)
	if err := os.WriteFile(c.Kubeconfig, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startControllers runs kube-controller-manager (Deployments, ReplicaSets,
// Jobs, HPA, PDB, garbage collection) and kube-scheduler.
func (c *Cluster) startControllers(t testing.TB) {
	for _, name := range []string{"kube-controller-manager", "kube-scheduler"} {
		port := freePort(t)
		args := []string{"--kubeconfig=" + c.Kubeconfig, "--leader-elect=false",
			"--bind-address=127.0.0.1", "--secure-port=" + port,
			"--authentication-kubeconfig=" + c.Kubeconfig, "--authorization-kubeconfig=" + c.Kubeconfig}
		if name == "kube-controller-manager" {
			args = append(args, "--service-account-private-key-file="+filepath.Join(c.dir, "sa.key"),
				"--use-service-account-credentials=false", "--cluster-name=goshop-test")
		}
		svc := testenv.StartService(t, name, c.bin(name), nil, args...)
		svc.WaitReady(t, 60*time.Second, httpsOK("https://127.0.0.1:"+port+"/healthz", ""))
	}
}

// httpsOK is a readiness check: GET url (with a bearer token when given)
// answers 200. The components serve self-signed test certificates.
func httpsOK(url, token string) func() error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // self-signed certificates of a throwaway test cluster
	}}
	return func() error {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// Kubectl runs the toolchain's kubectl against the cluster.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) ([]byte, error) {
	return c.run(ctx, "kubectl", args...)
}

// Helm runs the toolchain's helm against the cluster, with its caches and
// repository config inside the test's folder.
func (c *Cluster) Helm(ctx context.Context, args ...string) ([]byte, error) {
	return c.run(ctx, "helm", args...)
}

func (c *Cluster) run(ctx context.Context, tool string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.bin(tool), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig,
		"HELM_CACHE_HOME="+filepath.Join(c.dir, "helm", "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(c.dir, "helm", "config"),
		"HELM_DATA_HOME="+filepath.Join(c.dir, "helm", "data"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %v: %w\n%s", tool, args, err, out)
	}
	return out, nil
}

// ApplyCRDs installs the ServiceMonitor, PrometheusRule and KEDA CRDs from
// the toolchain (server-side: some exceed the 256 KB annotation limit of a
// client-side apply) and waits until they are served.
func (c *Cluster) ApplyCRDs(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.Kubectl(ctx, "apply", "--server-side", "-f", filepath.Join(c.Tools, "crds")); err != nil {
		t.Fatalf("controlplane: apply CRDs: %v", err)
	}
	if _, err := c.Kubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"); err != nil {
		t.Fatalf("controlplane: CRDs not established: %v", err)
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
