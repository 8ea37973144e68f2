package testenv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"

	"github.com/goshop-platform/shop/services/platform/testenv"
)

// Prometheus returns only after both targets were scraped, with their job
// labels, and their samples are queryable at once.
func TestPrometheusScrapesEveryTargetBeforeReturning(t *testing.T) {
	var addrs []string
	for _, v := range []string{"1", "2"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "# TYPE testenv_value gauge\ntestenv_value %s\n", v)
		}))
		t.Cleanup(srv.Close)
		addrs = append(addrs, strings.TrimPrefix(srv.URL, "http://"))
	}
	base := testenv.Prometheus(t, testenv.ScrapeTarget{Job: "one", Addr: addrs[0]}, testenv.ScrapeTarget{Job: "two", Addr: addrs[1]})
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape("sum by (job) (testenv_value)"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, r := range body.Data.Result {
		got[r.Metric["job"]] = r.Value[1]
	}
	if len(got) != 2 || got["one"] != "1" || got["two"] != "2" {
		t.Fatalf("sum by (job) (testenv_value) = %v, want one=1 two=2", got)
	}
}

// A span exported over OTLP/HTTP to Jaeger's endpoint is found through its
// query API by service name.
func TestJaegerReceivesOTLPAndAnswersQueries(t *testing.T) {
	j := testenv.Jaeger(t)
	ctx := context.Background()
	u, _ := url.Parse(j.OTLPEndpoint)
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName("testenv-probe"))))
	_, span := tp.Tracer("testenv").Start(ctx, "probe-span")
	span.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export to %s: %v", j.OTLPEndpoint, err)
	}
	var last string
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(j.QueryURL + "/api/traces?service=testenv-probe")
		if err == nil {
			var body struct {
				Data []struct {
					Spans []struct {
						OperationName string `json:"operationName"`
					} `json:"spans"`
				} `json:"data"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if len(body.Data) == 1 && len(body.Data[0].Spans) == 1 && body.Data[0].Spans[0].OperationName == "probe-span" {
				return
			}
			last = fmt.Sprintf("status %d, %+v", resp.StatusCode, body.Data)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("Jaeger never listed the probe span; last answer: %s", last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
