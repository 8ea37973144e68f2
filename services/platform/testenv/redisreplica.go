package testenv

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisReplica is a local redis-server replicating a RedisServer
// (--replicaof), for tests of what the shop does when a replica
// acknowledges writes, is gone (Stop) or hangs with its connection open
// (Pause). It needs the redis-server binary even when the primary is a
// container (the replica then connects to the container's published port).
type RedisReplica struct {
	srv     RedisServer    // the replica's own process; its kill is reused
	primary *redis.Options // how to reach the primary
}

// NewRedisReplica starts a replica of primary for t and waits until its
// link to the primary is up (the initial sync done). The primary's
// diskless-sync delay (5 s by default) is set to 0 so that a (re)start
// syncs at once.
func NewRedisReplica(t testing.TB, primary *RedisServer) *RedisReplica {
	t.Helper()
	bin, err := redisServerBin()
	if err != nil {
		t.Fatalf("testenv: a Redis replica needs the local redis-server binary: %v\nFix: apt-get install -y redis-server", err)
	}
	opts, err := redis.ParseURL(primary.URL())
	if err != nil {
		t.Fatalf("testenv: primary URL %q: %v", primary.URL(), err)
	}
	pc := redis.NewClient(opts)
	defer pc.Close()
	if err := pc.ConfigSet(context.Background(), "repl-diskless-sync-delay", "0").Err(); err != nil {
		t.Fatalf("testenv: configure the primary for fast replica syncs: %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("testenv: find a free port: %v", err)
	}
	opts.PoolSize = 1
	r := &RedisReplica{srv: RedisServer{bin: bin, port: port, dir: t.TempDir()}, primary: opts}
	t.Cleanup(r.end)
	r.Start(t)
	return r
}

// URL is the replica's redis:// URL (database 0); it serves reads only.
func (r *RedisReplica) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.srv.port) }

// Start starts the replica (again, after Stop) and waits until it is in
// sync with the primary and acknowledges its writes.
func (r *RedisReplica) Start(t testing.TB) {
	t.Helper()
	if err := r.start(); err != nil {
		t.Fatalf("testenv: start a redis replica of %s: %v", r.primary.Addr, err)
	}
}

// Stop shuts the replica down (SIGTERM) and waits for it to exit; the
// primary sees its connection close.
func (r *RedisReplica) Stop(t testing.TB) {
	t.Helper()
	r.srv.kill()
}

// Pause freezes the replica (SIGSTOP): its connection stays open, so the
// primary still counts it as connected, but it acknowledges nothing — a
// replica that lags.
func (r *RedisReplica) Pause(t testing.TB) { t.Helper(); r.signal(t, syscall.SIGSTOP) }

// Resume lets a paused replica run on (SIGCONT).
func (r *RedisReplica) Resume(t testing.TB) { t.Helper(); r.signal(t, syscall.SIGCONT) }

func (r *RedisReplica) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if r.srv.cmd == nil || r.srv.cmd.Process == nil {
		t.Fatalf("testenv: redis replica is not running")
	}
	if err := r.srv.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("testenv: signal redis replica: %v", err)
	}
}

// end stops the replica at the end of the test, paused or not.
func (r *RedisReplica) end() {
	if r.srv.cmd != nil && r.srv.cmd.Process != nil {
		_ = r.srv.cmd.Process.Signal(syscall.SIGCONT)
	}
	r.srv.kill()
}

func (r *RedisReplica) start() error {
	host, port, _ := strings.Cut(r.primary.Addr, ":")
	cmd := exec.Command(r.srv.bin, "--port", strconv.Itoa(r.srv.port), "--bind", "127.0.0.1", "--dir", r.srv.dir,
		"--replicaof", host, port, "--appendonly", "no", "--save", "", "--databases", strconv.Itoa(localRedisDatabases),
		"--daemonize", "no", "--loglevel", "warning")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	r.srv.cmd = cmd
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.srv.port)})
	defer c.Close()
	p := redis.NewClient(r.primary)
	defer p.Close()
	err := waitFor(15*time.Second, func() error {
		if err := linkUp(c); err != nil {
			return err
		}
		return acknowledges(p)
	})
	if err != nil {
		r.srv.kill()
	}
	return err
}

// acknowledges succeeds once a replica acknowledges a write of the
// primary. A replica reports its link up as soon as it has loaded the
// primary's data, but acknowledgements of the command stream may start
// later (seen: up to a second with Redis 7.0); a replica paused in between
// would hold nothing written meanwhile, and stay behind for up to a second
// after it resumes. PUBLISH is replicated (so WAIT covers it) but changes
// no data.
func acknowledges(primary *redis.Client) error {
	var acked *redis.Cmd
	ctx := context.Background()
	_, err := primary.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Publish(ctx, "testenv:replica-sync", "1")
		acked = p.Do(ctx, "wait", 1, 100)
		return nil
	})
	if err != nil {
		return err
	}
	if n, _ := acked.Int(); n < 1 {
		return errors.New("the replica does not acknowledge the primary's writes yet")
	}
	return nil
}

// linkUp succeeds once the replica reports its link to the primary up,
// which it does after loading the primary's data.
func linkUp(c *redis.Client) error {
	info, err := c.Info(context.Background(), "replication").Result()
	if err != nil {
		return err
	}
	if !strings.Contains(info, "master_link_status:up") {
		return errors.New("replica link to the primary is not up")
	}
	return nil
}
