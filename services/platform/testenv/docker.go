package testenv

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// The Docker fallback: tools/testdocker, run with `go run`, starts the
// servers as containers through dockertest. It is a separate module so
// that the Docker client's dependencies (and their advisories) stay out of
// this module and every service that imports testenv; the price is one
// build of it (~1 min) the first time a machine uses it.

// forceDocker (TEST_DOCKER=1) takes containers even where the local server
// binaries are installed: how a machine with both checks this path.
func forceDocker() bool { return os.Getenv("TEST_DOCKER") == "1" }

// dockerFix is the remedy the "no server" failures name for Docker.
const dockerFix = "start a Docker engine (testenv then runs the image docker-compose.yml pins, through tools/testdocker)"

var (
	dockerOnce sync.Once
	docker     *dockerHelper
	dockerErr  error
)

type dockerHelper struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	logs *LogBuffer
	// broken is set once a reply failed to come: the reader may still be
	// blocked on the pipe, and a second reader must not race it.
	broken error
}

type dockerRequest struct {
	Op      string `json:"op"`
	Server  string `json:"server,omitempty"`
	Durable bool   `json:"durable,omitempty"`
	ID      string `json:"id,omitempty"`
	Signal  string `json:"signal,omitempty"`
}

type dockerReply struct {
	Engine string `json:"engine"`
	ID     string `json:"id"`
	URL    string `json:"url"`
	Error  string `json:"error"`
}

// container is a server in a container that tools/testdocker started.
type container struct{ id, url string }

// dockerRun starts a container of server ("postgres" or "redis") and waits
// until it answers; durable as for a local PostgreSQL.
func dockerRun(server string, durable bool) (*container, error) {
	d, err := dockerEngine()
	if err != nil {
		return nil, err
	}
	r, err := d.call(dockerRequest{Op: "run", Server: server, Durable: durable})
	if err != nil {
		return nil, err
	}
	return &container{id: r.ID, url: r.URL}, nil
}

// signal sends sig (SIGTERM, SIGKILL, SIGQUIT) to the server and waits
// until its container has exited.
func (c *container) signal(sig string) error {
	_, err := docker.call(dockerRequest{Op: "signal", ID: c.id, Signal: sig})
	return err
}

// start starts the stopped container again, same port and data.
func (c *container) start() error {
	_, err := docker.call(dockerRequest{Op: "start", ID: c.id})
	return err
}

func (c *container) remove() { _, _ = docker.call(dockerRequest{Op: "rm", ID: c.id}) }

// dockerEngine starts tools/testdocker once per test binary. It removes
// its containers when its stdin closes: at the end of Main, or when this
// process dies however it dies.
func dockerEngine() (*dockerHelper, error) {
	dockerOnce.Do(func() { docker, dockerErr = startDockerHelper() })
	return docker, dockerErr
}

// testdockerDir finds tools/testdocker above the test's folder (go test
// runs each package's tests in its folder; not runtime.Caller, since
// builds are -trimpath).
func testdockerDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tools", "testdocker", "go.mod")); err == nil {
			return filepath.Join(dir, "tools", "testdocker"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("tools/testdocker not found above the test's folder: run the tests inside the repository")
		}
		dir = parent
	}
}

func startDockerHelper() (*dockerHelper, error) {
	dir, err := testdockerDir()
	if err != nil {
		return nil, err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("the Docker fallback builds tools/testdocker with the go command: %w", err)
	}
	d := &dockerHelper{logs: &LogBuffer{}}
	d.cmd = exec.Command(goBin, "run", ".")
	d.cmd.Dir = dir
	d.cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
	d.cmd.Stderr = d.logs
	if d.in, err = d.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	d.out = bufio.NewScanner(stdout)
	d.out.Buffer(make([]byte, 64<<10), 1<<20)
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("go run tools/testdocker: %w", err)
	}
	// The first run compiles the Docker client: minutes on a cold cache.
	hello, err := d.read(10 * time.Minute)
	if err == nil && hello.Error != "" {
		err = errors.New(hello.Error)
	}
	if err != nil {
		_ = d.in.Close()
		_ = d.cmd.Wait()
		return nil, fmt.Errorf("tools/testdocker: %w%s", err, indentLog(d.logs.String()))
	}
	atExit(func() {
		_ = d.in.Close()
		done := make(chan struct{})
		go func() { _ = d.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Minute):
			fmt.Fprintf(os.Stderr, "testenv: tools/testdocker did not remove its containers within a minute; leftovers: docker ps -a --filter label=goshop.testenv\n")
		}
	})
	return d, nil
}

func (d *dockerHelper) call(req dockerRequest) (dockerReply, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.broken != nil {
		return dockerReply{}, d.broken
	}
	b, _ := json.Marshal(req)
	if _, err := d.in.Write(append(b, '\n')); err != nil {
		return dockerReply{}, fmt.Errorf("tools/testdocker: %w%s", err, indentLog(d.logs.String()))
	}
	r, err := d.read(5 * time.Minute) // a first "run" pulls the image
	if err != nil {
		d.broken = fmt.Errorf("tools/testdocker: %w%s", err, indentLog(d.logs.String()))
		return dockerReply{}, d.broken
	}
	if r.Error != "" {
		err = errors.New(r.Error)
	}
	if err != nil {
		return dockerReply{}, fmt.Errorf("tools/testdocker %s %s: %w", req.Op, req.Server+req.ID, err)
	}
	return r, nil
}

// read returns the next reply, or an error when the helper exits or stays
// silent for timeout.
func (d *dockerHelper) read(timeout time.Duration) (dockerReply, error) {
	type result struct {
		r   dockerReply
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var res result
		if !d.out.Scan() {
			res.err = fmt.Errorf("exited without an answer (%v)", d.out.Err())
		} else {
			res.err = json.Unmarshal(d.out.Bytes(), &res.r)
		}
		ch <- res
	}()
	select {
	case res := <-ch:
		return res.r, res.err
	case <-time.After(timeout):
		return dockerReply{}, fmt.Errorf("no answer within %s", timeout)
	}
}

// indentLog is the end of the helper's stderr, without the "exit status
// N" that go run adds.
func indentLog(s string) string {
	s = strings.TrimSpace(exitStatus.ReplaceAllString(s, ""))
	if s == "" {
		return ""
	}
	return "\n" + lastLines(s, 30)
}

var exitStatus = regexp.MustCompile(`(?m)^exit status \d+$`)
