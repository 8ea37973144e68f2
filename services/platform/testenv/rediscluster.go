package testenv

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a Redis Cluster of local redis-server processes owned by
// one test, for tests of what the shop does when a master is lost
// (KillMaster) or a slot moves under load (MoveSlot). There is no Docker
// fallback: it needs the local redis-server and redis-cli. Its methods are
// for the test's goroutine; its clients may be used from any goroutine.
type RedisCluster struct {
	nodes []*clusterNode
	seeds []string // the masters' addresses at creation, for URL
}

// clusterNode is one redis-server of the cluster; srv.cmd is nil once the
// process is gone.
type clusterNode struct {
	srv  RedisServer
	addr string
	c    *redis.Client
}

// NewRedisCluster starts masters*2 redis-server processes on loopback (one
// replica per master), with cluster-enabled yes, cluster-node-timeout 1000
// (so a replica is promoted ~1-3 s after its master dies), appendonly yes /
// appendfsync everysec, save "", cluster-config-file in each node's own
// t.TempDir dir, repl-diskless-sync-delay 0; creates the cluster with
// `redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`
// (slots split evenly over masters, contiguous ranges in master order), and
// waits until every node reports cluster_state:ok, every replica's
// master_link_status is up, and a ClusterClient can SET/GET. Logs how long
// it took (t.Logf). All processes are killed at t.Cleanup. masters must be
// at least 3, as redis-cli demands.
func NewRedisCluster(t testing.TB, masters int) *RedisCluster {
	t.Helper()
	if masters < 3 {
		t.Fatalf("testenv: a Redis Cluster needs at least 3 masters, asked for %d", masters)
	}
	bin, err := redisServerBin()
	cli, cerr := exec.LookPath("redis-cli")
	if err = errors.Join(err, cerr); err != nil {
		t.Fatalf("testenv: a Redis Cluster needs the local redis-server and redis-cli (no Docker fallback): %v\nFix: apt-get install -y redis-server", err)
	}
	began := time.Now()
	dirs := make([]string, 2*masters)
	for i := range dirs {
		dirs[i] = t.TempDir()
	}
	c := &RedisCluster{}
	t.Cleanup(func() { // registered after TempDir: processes end before their dirs go
		for _, n := range c.nodes {
			n.end()
		}
	})
	for _, dir := range dirs {
		n, err := startClusterNode(bin, dir)
		if err != nil {
			t.Fatalf("testenv: start a redis cluster node: %v", err)
		}
		c.nodes = append(c.nodes, n)
	}
	c.create(t, cli)
	if err := waitFor(30*time.Second, c.healthy); err != nil {
		t.Fatalf("testenv: redis cluster of %d nodes: %v", len(c.nodes), err)
	}
	c.seeds = c.Masters(t)
	t.Logf("testenv: redis cluster of %d masters + %d replicas ready in %s", masters, masters, time.Since(began).Round(time.Millisecond))
	return c
}

// URL in go-redis ParseClusterURL form:
// redis://127.0.0.1:P1?addr=127.0.0.1:P2&addr=127.0.0.1:P3 (all masters'
// addresses as seeds).
func (c *RedisCluster) URL() string {
	u, sep := "redis://"+c.seeds[0], "?"
	for _, s := range c.seeds[1:] {
		u, sep = u+sep+"addr="+s, "&"
	}
	return u
}

// Client returns a new *redis.ClusterClient on the cluster, closed at
// t.Cleanup.
func (c *RedisCluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	opts, err := redis.ParseClusterURL(c.URL())
	if err != nil {
		t.Fatalf("testenv: cluster URL %q: %v", c.URL(), err)
	}
	cl := redis.NewClusterClient(opts)
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// Masters lists the current masters' addresses (127.0.0.1:port) that are
// alive, ordered by their first slot (masters without slots last).
func (c *RedisCluster) Masters(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, s := range c.slots(t) {
		if a := s.addr; !slices.Contains(out, a) && c.alive(a) {
			out = append(out, a)
		}
	}
	for _, n := range c.live() {
		if !slices.Contains(out, n.addr) && n.info("replication", "role") == "master" {
			out = append(out, n.addr)
		}
	}
	return out
}

// MasterOf returns the address of the live master currently serving slot.
func (c *RedisCluster) MasterOf(t testing.TB, slot int) string {
	t.Helper()
	for _, s := range c.slots(t) {
		if s.start <= slot && slot <= s.end {
			return c.node(t, s.addr).addr
		}
	}
	t.Fatalf("testenv: no master serves slot %d", slot)
	return ""
}

// KillMaster ends the master at addr with SIGKILL (as a machine loss) and
// waits (up to 30 s) until its replica has been promoted: the replica
// reports role master, and CLUSTER INFO on every surviving node says
// cluster_state:ok. Returns the new master's address.
func (c *RedisCluster) KillMaster(t testing.TB, addr string) string {
	t.Helper()
	m := c.node(t, addr)
	r := c.replicaOf(t, m)
	// A replica promoted before it learnt of a slot its master just got
	// (MoveSlot) would leave that slot to the dead node: wait for gossip.
	err := waitFor(10*time.Second, func() error {
		ms, err := m.slots()
		rs, rerr := r.slots()
		if err = errors.Join(err, rerr); err == nil && !slices.Equal(ms, rs) {
			err = fmt.Errorf("master sees slots %v, replica %v", ms, rs)
		}
		return err
	})
	if err != nil {
		t.Fatalf("testenv: replica %s does not know the slots of its master %s: %v", r.addr, addr, err)
	}
	began := time.Now()
	_ = m.srv.cmd.Process.Kill()
	_, _ = m.srv.cmd.Process.Wait()
	m.srv.cmd = nil
	err = waitFor(30*time.Second, func() error {
		if role := r.info("replication", "role"); role != "master" {
			return fmt.Errorf("replica %s still has role %q", r.addr, role)
		}
		return c.allOK()
	})
	if err != nil {
		t.Fatalf("testenv: after killing master %s, replica %s was not promoted: %v", addr, r.addr, err)
	}
	t.Logf("testenv: killed redis master %s; replica %s took over in %s", addr, r.addr, time.Since(began).Round(time.Millisecond))
	return r.addr
}

// MoveSlot migrates one hash slot with its keys from its current master to
// the master at toAddr, the way redis-cli --cluster reshard does it:
// CLUSTER SETSLOT <slot> IMPORTING on the target, MIGRATING on the source,
// then repeatedly CLUSTER GETKEYSINSLOT <slot> 10 + MIGRATE host port "" 0
// 5000 KEYS k1 k2... until none are left, then CLUSTER SETSLOT <slot> NODE
// <target-id> on target, source and every other master. It is safe to call
// while clients write to and read from that slot (clients then see
// ASK/TRYAGAIN/MOVED, which go-redis follows). pause, when > 0, is slept
// between MIGRATE batches so a test can make the migration window last.
// Returns how many keys moved.
func (c *RedisCluster) MoveSlot(t testing.TB, slot int, toAddr string, pause time.Duration) int {
	t.Helper()
	src, dst := c.node(t, c.MasterOf(t, slot)), c.node(t, toAddr)
	if src == dst {
		return 0
	}
	srcID, dstID := src.do(t, "cluster", "myid"), dst.do(t, "cluster", "myid")
	dst.do(t, "cluster", "setslot", slot, "importing", srcID)
	src.do(t, "cluster", "setslot", slot, "migrating", dstID)
	moved := migrateKeys(t, src, dst, slot, pause)
	dst.do(t, "cluster", "setslot", slot, "node", dstID)
	src.do(t, "cluster", "setslot", slot, "node", dstID)
	for _, a := range c.Masters(t) {
		if a != src.addr && a != dst.addr {
			c.node(t, a).do(t, "cluster", "setslot", slot, "node", dstID)
		}
	}
	return moved
}

func migrateKeys(t testing.TB, src, dst *clusterNode, slot int, pause time.Duration) int {
	t.Helper()
	ctx := context.Background()
	host, port, _ := strings.Cut(dst.addr, ":")
	moved := 0
	for {
		keys, err := src.c.ClusterGetKeysInSlot(ctx, slot, 10).Result()
		if err != nil {
			t.Fatalf("testenv: CLUSTER GETKEYSINSLOT %d on %s: %v", slot, src.addr, err)
		}
		if len(keys) == 0 {
			return moved
		}
		args := []any{"migrate", host, port, "", 0, 5000, "keys"}
		for _, k := range keys {
			args = append(args, k)
		}
		reply, err := src.c.Do(ctx, args...).Text()
		if err != nil {
			t.Fatalf("testenv: MIGRATE of slot %d from %s to %s: %v", slot, src.addr, dst.addr, err)
		}
		if reply != "NOKEY" { // NOKEY: deleted since GETKEYSINSLOT
			moved += len(keys)
		}
		if pause > 0 {
			time.Sleep(pause)
		}
	}
}

func startClusterNode(bin, dir string) (*clusterNode, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	bus, err := freePort() // not port+10000, the default, which may be out of range
	if err != nil || bus == port {
		return nil, fmt.Errorf("no free port for the cluster bus: %v", err)
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus), "--cluster-node-timeout", "1000",
		"--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--appendonly", "yes",
		"--appendfsync", "everysec", "--save", "", "--repl-diskless-sync-delay", "0",
		"--daemonize", "no", "--loglevel", "warning")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	n := &clusterNode{srv: RedisServer{bin: bin, port: port, dir: dir, cmd: cmd}, addr: addr,
		c: redis.NewClient(&redis.Options{Addr: addr, PoolSize: 2})}
	if err := waitFor(10*time.Second, func() error { return n.c.Ping(context.Background()).Err() }); err != nil {
		n.end()
		return nil, fmt.Errorf("redis-server on port %d: %w", port, err)
	}
	return n, nil
}

func (c *RedisCluster) create(t testing.TB, cli string) {
	t.Helper()
	args := []string{"--cluster", "create", "--cluster-replicas", "1", "--cluster-yes"}
	for _, n := range c.nodes {
		args = append(args, n.addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("testenv: redis-cli --cluster create: %v\n%s", err, out)
	}
}

// healthy succeeds once every node sees all nodes and all slots served,
// every replica's link is up, and a cluster client can write and read.
func (c *RedisCluster) healthy() error {
	if err := c.allOK(); err != nil {
		return err
	}
	for _, n := range c.nodes {
		if n.info("replication", "role") == "slave" && n.info("replication", "master_link_status") != "up" {
			return fmt.Errorf("replica %s: link to its master is not up", n.addr)
		}
	}
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.nodes[0].addr}})
	defer cl.Close()
	ctx, key := context.Background(), "testenv:cluster-ready"
	if err := cl.Set(ctx, key, "1", 0).Err(); err != nil {
		return err
	}
	if v, err := cl.GetDel(ctx, key).Result(); v != "1" {
		return fmt.Errorf("cluster client read %q (%v) after writing 1", v, err)
	}
	return nil
}

// allOK succeeds once every live node reports cluster_state:ok.
func (c *RedisCluster) allOK() error {
	for _, n := range c.live() {
		if s := n.info("cluster", "cluster_state"); s != "ok" {
			return fmt.Errorf("node %s reports cluster_state:%s", n.addr, s)
		}
	}
	return nil
}

// slotRange is a range of slots and the master that serves it.
type slotRange struct {
	start, end int
	id, addr   string
}

// slots is CLUSTER SHARDS as the first live master sees it.
func (c *RedisCluster) slots(t testing.TB) []slotRange {
	t.Helper()
	for _, n := range c.live() {
		if n.info("replication", "role") == "master" {
			s, err := n.slots()
			if err != nil {
				t.Fatalf("testenv: CLUSTER SHARDS on %s: %v", n.addr, err)
			}
			return s
		}
	}
	t.Fatalf("testenv: no live redis cluster master")
	return nil
}

func (c *RedisCluster) replicaOf(t testing.TB, m *clusterNode) *clusterNode {
	t.Helper()
	for _, n := range c.live() {
		if n.info("replication", "role") == "slave" && n.info("replication", "master_port") == strconv.Itoa(m.srv.port) {
			return n
		}
	}
	t.Fatalf("testenv: redis node %s is not a master with a live replica", m.addr)
	return nil
}

func (c *RedisCluster) live() []*clusterNode {
	var out []*clusterNode
	for _, n := range c.nodes {
		if n.srv.cmd != nil {
			out = append(out, n)
		}
	}
	return out
}

func (c *RedisCluster) alive(addr string) bool {
	return slices.ContainsFunc(c.live(), func(n *clusterNode) bool { return n.addr == addr })
}

func (c *RedisCluster) node(t testing.TB, addr string) *clusterNode {
	t.Helper()
	if i := slices.IndexFunc(c.live(), func(n *clusterNode) bool { return n.addr == addr }); i >= 0 {
		return c.live()[i]
	}
	t.Fatalf("testenv: no live redis cluster node at %s", addr)
	return nil
}

func (n *clusterNode) end() { _ = n.c.Close(); n.srv.kill() }

// info is one field of INFO <section> (CLUSTER INFO for "cluster"), "" when
// the node does not answer.
func (n *clusterNode) info(section, field string) string {
	ctx := context.Background()
	cmd := n.c.Info(ctx, section)
	if section == "cluster" {
		cmd = n.c.ClusterInfo(ctx)
	}
	for _, line := range strings.Split(cmd.Val(), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

// do runs a command on n and returns its reply as text.
func (n *clusterNode) do(t testing.TB, args ...any) string {
	t.Helper()
	reply, err := n.c.Do(context.Background(), args...).Text()
	if err != nil {
		t.Fatalf("testenv: %v on %s: %v", args, n.addr, err)
	}
	return reply
}

// slots lists who serves which slots as n sees it, in slot order.
func (n *clusterNode) slots() ([]slotRange, error) {
	shards, err := n.c.ClusterShards(context.Background()).Result()
	var out []slotRange
	for _, sh := range shards {
		i := slices.IndexFunc(sh.Nodes, func(m redis.Node) bool { return m.Role == "master" })
		if i < 0 {
			continue
		}
		m := sh.Nodes[i]
		for _, r := range sh.Slots {
			out = append(out, slotRange{int(r.Start), int(r.End), m.ID, fmt.Sprintf("%s:%d", m.IP, m.Port)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out, err
}
