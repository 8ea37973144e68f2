package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/benchreport"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// BenchmarkBacklogDrain measures how long 1, 2 and 4 order-worker processes
// take to decide a backlog of 50,000 orders (the scaling curve KEDA relies
// on), and the worker's footprint: start-to-ready, RSS idle and under load,
// binary size. Run with `make bench`.
func BenchmarkBacklogDrain(b *testing.B) {
	orders := benchreport.Pick(50_000, 2_000)
	footprint(b)
	var one float64
	for _, n := range benchreport.Pick([]int{1, 2, 4}, []int{1, 2}) {
		stocks := make([]int, 1000)
		for i := range stocks {
			stocks[i] = 1_000_000
		}
		s := newShop(b, schematest.MigratedDatabase(b), testenv.Redis(b), stocks...)
		s.backlog(orders)
		start := time.Now()
		var workers []*proc
		for range n {
			w := s.startWorker("WORKER_TELEMETRY_LOG_LEVEL=warn") // the defaults: 64 in flight, 4 transactions
			defer w.kill()
			workers = append(workers, w)
		}
		var peakRSS float64
		for i := 0; s.decided() < orders; i++ {
			if i%10 == 0 {
				for _, w := range workers {
					if mb, err := benchreport.RSS(w.cmd.Process.Pid); err == nil {
						peakRSS = max(peakRSS, mb)
					}
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		took := time.Since(start).Seconds()
		if n == 1 {
			one = took
		}
		row := benchreport.Row{Section: "drain", Name: fmt.Sprintf("%d-order backlog, %d worker process(es)", orders, n),
			Value: took, Unit: "s"}
		if n > 1 {
			row.Name += fmt.Sprintf(" (speed-up %.2fx)", one/took)
		}
		record(b, row)
		record(b, benchreport.Row{Section: "drain", Name: fmt.Sprintf("  orders/s with %d worker(s)", n), Value: float64(orders) / took, Unit: "orders/s"})
		if n == 2 {
			record(b, benchreport.Row{Section: "footprint", Name: "order-worker RSS under load (peak)", Value: peakRSS, Unit: "MB"})
		}
	}
}

// footprint starts one worker on an empty stream: start-to-ready, idle RSS
// and the size of the binary the tests built (same flags as make build).
func footprint(b *testing.B) {
	s := newShop(b, schematest.MigratedDatabase(b), testenv.Redis(b), 1)
	workerBinary(b) // build first: only the start is timed
	w := s.startWorker("WORKER_TELEMETRY_LOG_LEVEL=warn")
	defer w.kill()
	ready, err := benchreport.WaitReady(w.admin+"/readyz", 20*time.Second)
	if err != nil {
		b.Fatalf("%v\n%s", err, tail(w.out.String(), 2000))
	}
	time.Sleep(2 * time.Second) // let start-up garbage be collected
	rss, err := benchreport.RSS(w.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	anon, _ := benchreport.Anon(w.cmd.Process.Pid)
	size, err := benchreport.FileMB(workerBinary(b))
	if err != nil {
		b.Fatal(err)
	}
	record(b, benchreport.Row{Section: "footprint", Name: "order-worker start-to-ready", Value: ready.Seconds(), Unit: "s", Target: "<= 1"})
	record(b, benchreport.Row{Section: "footprint", Name: "order-worker RSS idle", Value: rss, Unit: "MB", Target: "<= 25"})
	record(b, benchreport.Row{Section: "footprint", Name: "  of which private (heap, stacks, runtime)", Value: anon, Unit: "MB"})
	record(b, benchreport.Row{Section: "footprint", Name: "order-worker binary", Value: size, Unit: "MB"})
}

// backlog puts n single-line orders over the catalogue on the stream, in
// pipelines of 1,000, before any worker runs.
func (s *shop) backlog(n int) {
	s.t.Helper()
	ids := make([]int64, 0, len(s.initial))
	for id := range s.initial {
		ids = append(ids, id)
	}
	r := rand.New(rand.NewPCG(7, 8))
	for done := 0; done < n; {
		pipe := s.rdb.Pipeline()
		for i := 0; i < 1000 && done < n; i, done = i+1, done+1 {
			m := s.randomOrder(r)
			m.Items = m.Items[:1]
			m.Items[0].ProductID = ids[r.IntN(len(ids))]
			pipe.XAdd(context.Background(), &redis.XAddArgs{Stream: orderstream.Stream, Values: m.Encode()})
		}
		if _, err := pipe.Exec(context.Background()); err != nil {
			s.t.Fatal(err)
		}
	}
}

func record(b *testing.B, r benchreport.Row) {
	b.Helper()
	if err := benchreport.Record(r); err != nil {
		b.Fatal(err)
	}
}
