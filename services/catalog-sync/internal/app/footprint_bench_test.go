package app_test

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/goshop-platform/shop/services/platform/benchreport"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// BenchmarkFootprint starts the catalog-sync binary against a real
// Directus and Postgres: start-to-ready, idle RSS, binary size.
func BenchmarkFootprint(b *testing.B) {
	e := newEnvB(b)
	bin := testenv.Binary(b, "../../cmd/catalog-sync")
	port := testenv.FreePort(b)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "SYNC_DATABASE_URL="+e.dbURL, "SYNC_DIRECTUS_URL="+e.d.URL,
		"SYNC_DIRECTUS_TOKEN="+e.d.AdminToken, fmt.Sprintf("SYNC_HTTP_ADDR=127.0.0.1:%d", port),
		"SYNC_RECONCILE_INTERVAL=0", "SYNC_TELEMETRY_LOG_LEVEL=warn")
	out := &testenv.LogBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	for b.Loop() {
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		ready, err := benchreport.WaitReady(fmt.Sprintf("http://127.0.0.1:%d/readyz", port), 20*time.Second)
		if err != nil {
			b.Fatalf("%v\n%s", err, out.String())
		}
		time.Sleep(2 * time.Second) // let start-up garbage be collected
		rss, err := benchreport.RSS(cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		anon, _ := benchreport.Anon(cmd.Process.Pid)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		size, _ := benchreport.FileMB(bin)
		record(b, benchreport.Row{Section: "footprint", Name: "catalog-sync start-to-ready (checks Directus)", Value: ready.Seconds(), Unit: "s", Target: "<= 1"})
		record(b, benchreport.Row{Section: "footprint", Name: "catalog-sync RSS idle", Value: rss, Unit: "MB", Target: "<= 25"})
		record(b, benchreport.Row{Section: "footprint", Name: "  of which private (heap, stacks, runtime)", Value: anon, Unit: "MB"})
		record(b, benchreport.Row{Section: "footprint", Name: "catalog-sync binary", Value: size, Unit: "MB"})
	}
}
