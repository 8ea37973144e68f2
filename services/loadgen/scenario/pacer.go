package scenario

import (
	"math/rand/v2"
	"time"
)

// closedPacer paces a vegeta attack as a closed model: a fixed population
// of users, each sending its next request only after the answer to its
// previous one plus a think time (uniform in [think/2, 3·think/2]). A hit
// is released when some user is ready; vegeta's workers (one per user) do
// the sending.
type closedPacer struct {
	ready chan struct{}
	think time.Duration
	du    time.Duration
	stop  <-chan struct{}
}

func newClosedPacer(users int, think, du time.Duration, stop <-chan struct{}) *closedPacer {
	p := &closedPacer{ready: make(chan struct{}, users), think: think, du: du, stop: stop}
	for range users {
		p.ready <- struct{}{}
	}
	return p
}

// Pace blocks until a user is ready, the duration is over or the run stops.
func (p *closedPacer) Pace(elapsed time.Duration, _ uint64) (time.Duration, bool) {
	left := time.NewTimer(p.du - elapsed)
	defer left.Stop()
	select {
	case <-p.ready:
		return 0, false
	case <-left.C:
		return 0, true
	case <-p.stop:
		return 0, true
	}
}

// Rate is not fixed in a closed model.
func (p *closedPacer) Rate(time.Duration) float64 { return 0 }

// answered tells the pacer that one user got its answer: it thinks, then
// is ready again.
func (p *closedPacer) answered() {
	if p.think <= 0 {
		p.ready <- struct{}{}
		return
	}
	d := p.think/2 + rand.N(p.think)
	time.AfterFunc(d, func() { p.ready <- struct{}{} })
}
