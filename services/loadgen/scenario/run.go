package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Run prepares the customers and the catalogue, sends the traffic cfg
// describes, waits up to cfg.Drain for the followed orders to be decided
// and returns the summary. Start from Defaults() and change what you need.
// Cancelling ctx ends the run early; the summary then covers what was sent.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	setup := newAPI(cfg.APIURL, cfg.Timeout)
	customers, products, err := prepare(ctx, cfg, setup)
	if err != nil {
		return nil, err
	}
	return attack(ctx, cfg, customers, products), nil
}

func newAPI(base string, timeout time.Duration) api {
	if timeout == 0 {
		timeout = Defaults().Timeout
	}
	return api{base: base, client: &http.Client{Timeout: timeout}}
}

func prepare(ctx context.Context, cfg Config, a api) ([]*customer, []int64, error) {
	accounts := cfg.Accounts
	if cfg.Customers > 0 {
		registered, err := a.register(ctx, cfg.Customers)
		if err != nil {
			return nil, nil, err
		}
		accounts = append(accounts, registered...)
	}
	var customers []*customer
	if cfg.needsCustomers() {
		var err error
		if customers, err = a.login(ctx, accounts); err != nil {
			return nil, nil, err
		}
	}
	products := cfg.Products
	if len(products) == 0 && cfg.Mix.weight(Checkout) > 0 {
		var err error
		if products, err = a.catalogue(ctx); err != nil {
			return nil, nil, err
		}
	} else if len(products) == 0 && cfg.Mix.weight(Browse) > 0 {
		// Only sizes the range of catalogue pages browsed: not needed.
		products, _ = a.catalogue(ctx)
	}
	return customers, products, nil
}

// run is the state of one attack.
type run struct {
	cfg       Config
	rec       *recorder
	customers []*customer
	follow    *follower
	followCtx context.Context
	// stopFollowing ends the followers when the drain time is over.
	stopFollowing context.CancelFunc
}

func attack(ctx context.Context, cfg Config, customers []*customer, products []int64) *Summary {
	followCtx, stopFollowing := context.WithCancel(ctx)
	defer stopFollowing()
	r := &run{cfg: cfg, rec: newRecorder(), customers: customers, followCtx: followCtx, stopFollowing: stopFollowing}
	r.follow = &follower{mode: cfg.Follow, interval: cfg.PollInterval, timeout: cfg.Timeout,
		api: api{base: cfg.APIURL, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}, rec: r.rec}

	opts := []func(*vegeta.Attacker){vegeta.KeepAlive(true), vegeta.Timeout(cfg.Timeout), vegeta.MaxBody(1 << 20)}
	var pacer vegeta.Pacer = cfg.Rate
	var closed *closedPacer
	model := fmt.Sprintf("open %d/%s", cfg.Rate.Freq, cfg.Rate.Per)
	if cfg.Users > 0 {
		closed = newClosedPacer(cfg.Users, cfg.Think, cfg.Duration, ctx.Done())
		pacer = closed
		n := uint64(cfg.Users)
		opts = append(opts, vegeta.Workers(n), vegeta.MaxWorkers(n), vegeta.Connections(cfg.Users))
		model = fmt.Sprintf("closed %d users, think %s", cfg.Users, cfg.Think)
	} else {
		opts = append(opts, vegeta.Workers(max(1, cfg.Workers)), vegeta.MaxWorkers(max(1, cfg.MaxWorkers)))
	}
	attacker := vegeta.NewAttacker(opts...)
	attackDone := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			attacker.Stop()
		case <-attackDone:
		}
	}()
	began := time.Now()
	stopProgress := r.progress(began)
	t := newTargeter(cfg, customers, products)
	for res := range attacker.Attack(t.next, pacer, cfg.Duration, "loadgen") {
		r.handle(res)
		if closed != nil {
			closed.answered()
		}
	}
	close(attackDone)
	elapsed := time.Since(began)
	r.drain()
	stopProgress()
	s := r.rec.summary(elapsed, cfg.Follow)
	s.Model, s.Mix = model, cfg.Mix.String()
	return s
}

// handle records one result and acts on what it says: an accepted order is
// remembered (and followed), a login's token replaces the customer's.
func (r *run) handle(res *vegeta.Result) {
	kind, n := tagOf(res.URL)
	r.rec.add(kind, int(res.Code), res.Latency, res.Error)
	switch {
	case kind == Checkout && res.Code == http.StatusAccepted:
		var accepted struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(res.Body, &accepted) != nil || accepted.ID == "" {
			return
		}
		c := r.customers[n]
		c.addOrder(accepted.ID)
		r.rec.accepted.Add(1)
		if r.cfg.Follow != FollowNone {
			r.follow.start(r.followCtx, accepted.ID, c, res.End())
		}
	case kind == Login && res.Code == http.StatusOK:
		if token, err := accessToken(res.Body); err == nil {
			r.customers[n].setToken(token)
		}
	}
}

// drain waits for the followers, at most cfg.Drain.
func (r *run) drain() {
	done := make(chan struct{})
	go func() { r.follow.wait(); close(done) }()
	timer := time.NewTimer(r.cfg.Drain)
	defer timer.Stop()
	select {
	case <-done:
		return
	case <-timer.C:
	case <-r.followCtx.Done():
	}
	r.stopFollowing()
	<-done
}

// progress writes one line a second until the returned stop is called.
func (r *run) progress(began time.Time) (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var last int64
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			n := r.rec.requests.Load()
			fmt.Fprintf(r.cfg.Progress, "loadgen %5.0fs %7d req/s  requests %d  errors %d  orders accepted %d decided %d\n",
				time.Since(began).Seconds(), n-last, n, r.rec.errors.Load(), r.rec.accepted.Load(), r.rec.final.Load())
			last = n
		}
	}()
	return func() { close(quit); <-done }
}
