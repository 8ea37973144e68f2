package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	redisOnce   sync.Once
	redisBase   string // redis://host:port of the shared server
	redisMaxDB  int
	redisErr    error
	redisNextDB int
	redisDBMu   sync.Mutex
)

// localRedisDatabases is how many logical databases the local server
// offers, so each test gets one of its own.
const localRedisDatabases = 4096

// Redis returns the URL of a flushed Redis logical database for t alone.
func Redis(t testing.TB) string {
	t.Helper()
	redisOnce.Do(func() {
		if u := os.Getenv("TEST_REDIS_URL"); u != "" {
			redisBase, redisMaxDB = u, 16
			return
		}
		redisMaxDB = localRedisDatabases
		bin, err := redisServerBin()
		if err == nil && !forceDocker() {
			var s *RedisServer
			s, redisErr = startLocalRedis(bin, 0, "")
			if s != nil {
				redisBase = s.URL()
				atExit(s.kill)
			}
			return
		}
		c, derr := dockerRun("redis", false)
		if derr != nil {
			redisErr = errors.Join(err, derr)
			return
		}
		redisBase = c.url
	})
	if redisErr != nil {
		t.Fatalf("testenv: no Redis for tests: %v\nFix: install it (apt-get install -y redis-server), set TEST_REDIS_URL, or %s.", redisErr, dockerFix)
	}
	redisDBMu.Lock()
	redisNextDB = redisNextDB%(redisMaxDB-1) + 1 // db 0 is left to humans
	db := redisNextDB
	redisDBMu.Unlock()
	u, err := url.Parse(redisBase)
	if err != nil {
		t.Fatalf("testenv: TEST_REDIS_URL %q: %v", redisBase, err)
	}
	u.Path = "/" + strconv.Itoa(db)
	opts, _ := redis.ParseURL(u.String())
	c := redis.NewClient(opts)
	defer c.Close()
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("testenv: flush redis db %d: %v", db, err)
	}
	return u.String()
}

// RedisServer is a Redis server owned by one test, which the test may stop
// and start again (to prove behaviour while Redis is down or restarting).
// Data survives a restart through the append-only file. It is a local
// redis-server, or a container (c) where the binary is missing.
type RedisServer struct {
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
	c    *container
}

// NewRedisServer starts a dedicated redis-server for t.
func NewRedisServer(t testing.TB) *RedisServer {
	t.Helper()
	bin, err := redisServerBin()
	if err != nil || forceDocker() {
		c, derr := dockerRun("redis", true)
		if derr != nil {
			t.Fatalf("testenv: no dedicated redis-server: %v\nFix: install it (apt-get install -y redis-server) or %s.", errors.Join(err, derr), dockerFix)
		}
		t.Cleanup(c.remove)
		return &RedisServer{c: c}
	}
	s, err := startLocalRedis(bin, 0, t.TempDir())
	if err != nil {
		t.Fatalf("testenv: start a dedicated redis-server: %v", err)
	}
	t.Cleanup(s.kill)
	return s
}

// URL is the server's redis:// URL (database 0).
func (s *RedisServer) URL() string {
	if s.c != nil {
		return s.c.url
	}
	return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port)
}

// Stop shuts the server down and waits for it to exit.
func (s *RedisServer) Stop(t testing.TB) {
	t.Helper()
	if s.c != nil {
		s.signalContainer(t, "SIGTERM")
		return
	}
	s.kill()
}

// Kill ends the server with SIGKILL, as a crash would; what it acknowledged
// is in the append-only file (written before each reply), so a restart
// recovers it.
func (s *RedisServer) Kill(t testing.TB) {
	t.Helper()
	if s.c != nil {
		s.signalContainer(t, "SIGKILL")
		return
	}
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_, _ = s.cmd.Process.Wait()
		s.cmd = nil
	}
}

func (s *RedisServer) signalContainer(t testing.TB, sig string) {
	t.Helper()
	if err := s.c.signal(sig); err != nil {
		t.Fatalf("testenv: stop redis-server: %v", err)
	}
}

// Start restarts a stopped server on the same port and data directory.
func (s *RedisServer) Start(t testing.TB) {
	t.Helper()
	if s.c != nil {
		if err := s.c.start(); err != nil {
			t.Fatalf("testenv: restart redis-server: %v", err)
		}
		return
	}
	n, err := startLocalRedis(s.bin, s.port, s.dir)
	if err != nil {
		t.Fatalf("testenv: restart redis-server: %v", err)
	}
	s.cmd = n.cmd
}

func (s *RedisServer) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _, _ = s.cmd.Process.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

func redisServerBin() (string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", errors.New("redis-server not found in PATH")
	}
	return bin, nil
}

func startLocalRedis(bin string, port int, dir string) (*RedisServer, error) {
	var err error
	if dir == "" {
		if dir, err = os.MkdirTemp("", "shop-testredis-"); err != nil {
			return nil, err
		}
	}
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--databases", strconv.Itoa(localRedisDatabases),
		"--daemonize", "no", "--loglevel", "warning")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	s := &RedisServer{bin: bin, port: port, dir: dir, cmd: cmd}
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer c.Close()
	err = waitFor(10*time.Second, func() error { return c.Ping(context.Background()).Err() })
	if err != nil {
		s.kill()
		return nil, fmt.Errorf("redis-server on port %d: %w", port, err)
	}
	return s, nil
}
