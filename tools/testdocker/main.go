// Command testdocker runs the PostgreSQL and Redis servers of the Go tests as
// Docker containers through dockertest, for services/platform/testenv on a
// machine that has a Docker engine but neither the server binaries nor
// TEST_DATABASE_URL / TEST_REDIS_URL (docs/testing.md).
//
// It is a module of its own, outside go.work, like tools/jaeger: the Docker
// client that dockertest v3.12.0 pins carries advisories with no fixed
// version it can use, and they must reach neither the services' builds nor
// `make vulncheck`. testenv starts it with `go run` and talks to it over
// stdin and stdout, one JSON object a line:
//
//	← {"engine":"unix:///var/run/docker.sock"}   or {"error":"..."} and exit 1
//	→ {"op":"run","server":"postgres","durable":true}  ← {"id":"...","url":"postgres://..."}
//	→ {"op":"signal","id":"...","signal":"SIGQUIT"}    ← {} once the container has exited
//	→ {"op":"start","id":"..."}                        ← {} once the server answers again
//	→ {"op":"rm","id":"..."}                           ← {}
//
// A failed request answers {"error":"..."}. When stdin closes (the test
// binary ended, also when it was killed) or on SIGINT/SIGTERM it removes
// every container it started, with its volumes.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"
)

type request struct {
	Op      string `json:"op"`
	Server  string `json:"server,omitempty"`
	Durable bool   `json:"durable,omitempty"`
	ID      string `json:"id,omitempty"`
	Signal  string `json:"signal,omitempty"`
}

type reply struct {
	Engine string `json:"engine,omitempty"`
	ID     string `json:"id,omitempty"`
	URL    string `json:"url,omitempty"`
	Error  string `json:"error,omitempty"`
}

// label marks the containers, so that leftovers of a helper that was itself
// killed can be found: docker rm -f $(docker ps -aq --filter label=goshop.testenv)
const label = "goshop.testenv"

func main() {
	compose := flag.String("compose", "../../docker-compose.yml", "the compose file whose postgres and redis images the containers use")
	flag.Parse()
	out := json.NewEncoder(os.Stdout)
	h, err := newHelper(*compose)
	if err != nil {
		_ = out.Encode(reply{Error: err.Error()})
		os.Exit(1)
	}
	_ = out.Encode(reply{Engine: h.pool.Client.Endpoint()})

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sigs; h.removeAll(); os.Exit(1) }()

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var req request
		var rep reply
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			rep.Error = fmt.Sprintf("bad request %q: %v", in.Text(), err)
		} else if rep, err = h.handle(req); err != nil {
			rep = reply{Error: err.Error()}
		}
		_ = out.Encode(rep)
	}
	h.removeAll()
}

type helper struct {
	pool   *dockertest.Pool
	images map[string]string // server -> repository:tag

	mu         sync.Mutex
	containers map[string]*container
}

type container struct {
	res    *dockertest.Resource
	server string
	addr   string // 127.0.0.1:port on this machine
}

func newHelper(composeFile string) (*helper, error) {
	images, err := composeImages(composeFile, "postgres", "redis")
	if err != nil {
		return nil, err
	}
	pool, err := dockertest.NewPool("")
	if err != nil {
		return nil, fmt.Errorf("no Docker engine: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pool.Client.PingWithContext(ctx); err != nil {
		return nil, fmt.Errorf("no Docker engine answered at %s (DOCKER_HOST names another): %w", pool.Client.Endpoint(), err)
	}
	return &helper{pool: pool, images: images, containers: map[string]*container{}}, nil
}

// composeImages reads the image of each named service from the compose
// file, which pins the versions the shop runs with (compose and k8s/infra).
func composeImages(file string, services ...string) (map[string]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read the image pins: %w", err)
	}
	images := map[string]string{}
	for _, s := range services {
		// `  <service>:` followed, within its block, by `    image: <ref>`.
		re := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(s) + `:\n(?:    .*\n)*?    image: *(\S+)`)
		m := re.FindSubmatch(b)
		if m == nil {
			return nil, fmt.Errorf("%s: no image for service %q", file, s)
		}
		images[s] = string(m[1])
	}
	return images, nil
}

func (h *helper) handle(req request) (reply, error) {
	if req.Op == "run" {
		c, id, err := h.run(req.Server, req.Durable)
		if err != nil {
			return reply{}, err
		}
		return reply{ID: id, URL: c.url()}, nil
	}
	h.mu.Lock()
	c := h.containers[req.ID]
	h.mu.Unlock()
	if c == nil {
		return reply{}, fmt.Errorf("no container %q", req.ID)
	}
	switch req.Op {
	case "signal":
		return reply{}, h.signal(c, req.Signal)
	case "start":
		if err := h.pool.Client.StartContainer(c.res.Container.ID, nil); err != nil {
			return reply{}, fmt.Errorf("docker start: %w", err)
		}
		return reply{}, h.waitReady(c)
	case "rm":
		h.mu.Lock()
		delete(h.containers, req.ID)
		h.mu.Unlock()
		return reply{}, h.pool.Purge(c.res)
	}
	return reply{}, fmt.Errorf("unknown op %q", req.Op)
}

// run starts a container of server. Its port is published on 127.0.0.1
// only (the servers trust every client) and fixed, so that a restarted
// container answers on the same address.
func (h *helper) run(server string, durable bool) (*container, string, error) {
	ref, ok := h.images[server]
	if !ok {
		return nil, "", fmt.Errorf("unknown server %q", server)
	}
	repo, tag, _ := strings.Cut(ref, ":")
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	opts := &dockertest.RunOptions{Repository: repo, Tag: tag, Labels: map[string]string{label: strconv.Itoa(os.Getpid())}}
	var inner dc.Port
	switch server {
	case "postgres":
		inner = "5432/tcp"
		// The flags of testenv's local servers: fsync off (a test's crash is
		// a process crash, the page cache survives it), synchronous_commit
		// on only for a server a test stops.
		sync := "off"
		if durable {
			sync = "on"
		}
		opts.Env = []string{"POSTGRES_HOST_AUTH_METHOD=trust", "POSTGRES_INITDB_ARGS=-E UTF8 --locale=C"}
		opts.Cmd = []string{"postgres", "-c", "fsync=off", "-c", "synchronous_commit=" + sync, "-c", "full_page_writes=off",
			"-c", "max_connections=300", "-c", "shared_buffers=64MB"}
	case "redis":
		inner = "6379/tcp"
		opts.Cmd = []string{"redis-server", "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
			"--databases", "4096", "--protected-mode", "no", "--loglevel", "warning"}
	}
	opts.PortBindings = map[dc.Port][]dc.PortBinding{inner: {{HostIP: "127.0.0.1", HostPort: strconv.Itoa(port)}}}
	res, err := h.pool.RunWithOptions(opts, func(hc *dc.HostConfig) { hc.PublishAllPorts = false })
	if err != nil {
		return nil, "", fmt.Errorf("docker run %s: %w", ref, err)
	}
	c := &container{res: res, server: server, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	id := res.Container.ID[:12]
	h.mu.Lock()
	h.containers[id] = c
	h.mu.Unlock()
	if err := h.waitReady(c); err != nil {
		h.mu.Lock()
		delete(h.containers, id)
		h.mu.Unlock()
		_ = h.pool.Purge(res)
		return nil, "", err
	}
	return c, id, nil
}

func (c *container) url() string {
	if c.server == "postgres" {
		return "postgres://postgres@" + c.addr + "/postgres?sslmode=disable"
	}
	return "redis://" + c.addr + "/0"
}

var signals = map[string]dc.Signal{"SIGTERM": dc.SIGTERM, "SIGKILL": dc.SIGKILL, "SIGQUIT": dc.SIGQUIT}

// signal sends sig to the server (PID 1 of the container) and waits until
// the container has exited, as testenv waits for a local process.
func (h *helper) signal(c *container, name string) error {
	sig, ok := signals[name]
	if !ok {
		return fmt.Errorf("unsupported signal %q", name)
	}
	id := c.res.Container.ID
	if err := h.pool.Client.KillContainer(dc.KillContainerOptions{ID: id, Signal: sig}); err != nil {
		return fmt.Errorf("docker kill -s %s: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := h.pool.Client.WaitContainerWithContext(id, ctx); err != nil {
		return fmt.Errorf("docker wait after %s: %w", name, err)
	}
	return nil
}

// waitReady polls the server through the published port with its own
// protocol: Docker's port proxy accepts connections before anything listens,
// and the postgres image runs a socket-only server while it initialises.
func (h *helper) waitReady(c *container) error {
	probe := pingRedis
	if c.server == "postgres" {
		probe = pingPostgres
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := probe(c.addr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s container %s not ready on %s after 2m: %w\n%s", c.server, c.res.Container.ID[:12], c.addr, err, h.logs(c))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (h *helper) logs(c *container) string {
	var b strings.Builder
	_ = h.pool.Client.Logs(dc.LogsOptions{Container: c.res.Container.ID, OutputStream: &b, ErrorStream: &b,
		Stdout: true, Stderr: true, Tail: "30"})
	return b.String()
}

// pingPostgres sends an SSLRequest: a running server answers 'S' or 'N'.
func pingPostgres(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}); err != nil {
		return err
	}
	b := make([]byte, 1)
	if _, err := conn.Read(b); err != nil {
		return err
	}
	if b[0] != 'S' && b[0] != 'N' {
		return fmt.Errorf("unexpected answer %q to an SSLRequest", b[0])
	}
	return nil
}

func pingRedis(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

func (h *helper) removeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for id, c := range h.containers {
		errs = append(errs, h.pool.Purge(c.res))
		delete(h.containers, id)
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(os.Stderr, "testdocker: remove containers: %v\n", err)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
