package app_test

import (
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/goshop-platform/shop/services/platform/benchreport"
)

// share is one target's part of an interleaved measurement.
type share struct {
	m    vegeta.Metrics
	busy time.Duration // the length of its slices
	cpu  float64       // CPU seconds of its server during its slices
	rds  float64       // and of Redis
	gen  float64       // and of the load generator (this process)
}

// throughput is the successful requests per second of its slices.
func (s *share) throughput() float64 { return float64(s.m.Requests) * s.m.Success / s.busy.Seconds() }

// perOrder is CPU µs per successful request.
func (s *share) perOrder(cpu float64) float64 {
	return cpu * 1e6 / (float64(s.m.Requests) * s.m.Success)
}

type target struct {
	url string
	pid int
}

// interleave attacks the targets in turn, rounds slices of slice each (who
// goes first alternating), so that a change in the machine's other load
// during the measurement — large on these shared VMs: the same handler's
// throughput varied 1.8× between runs minutes apart — falls on all of them
// alike, instead of on whichever ran while it lasted.
func interleave(targets []target, redisPID int, hdr http.Header, body []byte, rate vegeta.Rate, rounds int, slice time.Duration, workers uint64) []*share {
	out := make([]*share, len(targets))
	for i := range out {
		out[i] = &share{}
	}
	for r := range rounds {
		for j := range targets {
			i := (r + j) % len(targets)
			server, rds := benchreport.ProcessTree{Roots: []int{targets[i].pid}}, benchreport.ProcessTree{Roots: []int{redisPID}}
			cpu0, rds0, gen0, start := server.CPU(), rds.CPU(), ownCPU(), time.Now()
			attackInto(&out[i].m, targets[i].url, hdr, body, rate, slice, workers)
			out[i].busy += time.Since(start)
			out[i].cpu += server.CPU() - cpu0
			out[i].gen += ownCPU() - gen0
			if redisPID != 0 {
				out[i].rds += rds.CPU() - rds0
			}
		}
	}
	for _, s := range out {
		s.m.Close()
	}
	return out
}

// attackInto sends POST /api/v1/orders to base for dur, at rate (zero: as
// fast as workers allow), adding the results to m.
func attackInto(m *vegeta.Metrics, base string, hdr http.Header, body []byte, rate vegeta.Rate, dur time.Duration, workers uint64) {
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: "POST", URL: base + "/api/v1/orders", Body: body, Header: hdr})
	opts := []func(*vegeta.Attacker){vegeta.Workers(workers), vegeta.KeepAlive(true), vegeta.Timeout(10 * time.Second)}
	if rate.Freq == 0 {
		opts = append(opts, vegeta.MaxWorkers(workers))
	}
	for res := range vegeta.NewAttacker(opts...).Attack(tr, rate, dur, "intake") {
		m.Add(res)
	}
}
