package testenv

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// JaegerVersion is the Jaeger module version Jaeger runs, as pinned in
// tools/jaeger/go.mod and built by scripts/install-jaeger.sh.
const JaegerVersion = "1.76.0"

const jaegerReadyTimeout = 30 * time.Second

// JaegerServer is a Jaeger all-in-one owned by one test: OTLP in, traces in
// memory, the query API out.
type JaegerServer struct {
	// OTLPEndpoint is the OTLP/HTTP receiver's base URL, the form the
	// services' telemetry.otlpEndpoint takes: http://127.0.0.1:<port>.
	OTLPEndpoint string
	// QueryURL is the query service's base URL: GET
	// QueryURL+"/api/traces?service=api" lists traces.
	QueryURL string
}

// Jaeger starts a Jaeger for t on free ports of 127.0.0.1 (OTLP HTTP and
// gRPC, query HTTP and gRPC, health check), with a config shaped like
// tools/jaeger/jaeger.yaml, and returns once GET :<health>/status answers 200.
// Traces are searchable ~0.5 s after Jaeger receives them (batch timeout),
// plus the exporting SDK's own batch delay: poll. It stops when t ends.
//
// The binary comes from JAEGER_BIN, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/goshop/jaeger-<JaegerVersion>/jaeger, as
// built by scripts/install-jaeger.sh; without it the test fails and says so.
func Jaeger(t testing.TB) *JaegerServer {
	t.Helper()
	bin, err := jaegerBinary()
	if err != nil {
		t.Fatalf("testenv: no Jaeger %s for this test: %v\n"+
			"Fix: run scripts/install-jaeger.sh from the repository root (builds it into the user's cache, ~3 min once), "+
			"or set JAEGER_BIN to a jaeger v2 binary.", JaegerVersion, err)
	}
	ports := map[string]int{}
	for _, p := range []string{"otlpHTTP", "otlpGRPC", "query", "queryGRPC", "health"} {
		ports[p] = FreePort(t)
	}
	cfg := filepath.Join(t.TempDir(), "jaeger.yaml")
	if err := os.WriteFile(cfg, []byte(jaegerConfig(ports)), 0o644); err != nil {
		t.Fatal(err)
	}
	c := StartService(t, "jaeger", bin, nil, "--config", cfg)
	health := fmt.Sprintf("http://127.0.0.1:%d/status", ports["health"])
	client := &http.Client{Timeout: 2 * time.Second}
	c.WaitReady(t, jaegerReadyTimeout, func() error {
		resp, err := client.Get(health)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: status %d", health, resp.StatusCode)
		}
		return nil
	})
	return &JaegerServer{
		OTLPEndpoint: fmt.Sprintf("http://127.0.0.1:%d", ports["otlpHTTP"]),
		QueryURL:     fmt.Sprintf("http://127.0.0.1:%d", ports["query"]),
	}
}

func jaegerBinary() (string, error) {
	if bin := os.Getenv("JAEGER_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("JAEGER_BIN: %w", err)
		}
		return bin, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, "goshop", "jaeger-"+JaegerVersion, "jaeger")
	if _, err := os.Stat(bin); err != nil {
		return "", errors.New(bin + " not found")
	}
	return bin, nil
}

func jaegerConfig(p map[string]int) string {
	return fmt.Sprintf(`service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memory_store:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memory_store
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:%d
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:%d
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
      http:
        endpoint: 127.0.0.1:%d
processors:
  batch:
    timeout: 500ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memory_store
`, p["query"], p["queryGRPC"], p["health"], p["otlpGRPC"], p["otlpHTTP"])
}
