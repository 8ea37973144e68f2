package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresPair is a primary and a standby that streams the primary's WAL,
// both local server processes owned by one test, so that a test can crash
// the primary and promote the standby the way a failover manager
// (CloudNativePG, Patroni, a managed service) does.
type PostgresPair struct {
	primary, standby *pgProcess
}

// NewPostgresPair starts a primary whose database "shop" prepare made
// ready, and a standby cloned from it with pg_basebackup that streams its
// WAL through a replication slot. With synchronous, the primary
// acknowledges a commit only after the standby flushed it
// (synchronous_standby_names '*' with synchronous_commit on), so no commit a
// client saw is lost at failover; otherwise replication is asynchronous,
// PostgreSQL's default. It needs the server binaries (initdb, postgres,
// pg_basebackup, pg_ctl): containers are not used for pairs.
func NewPostgresPair(t testing.TB, prepare Prepare, synchronous bool) *PostgresPair {
	t.Helper()
	bin, err := postgresBinDir()
	if err == nil {
		for _, tool := range []string{"pg_basebackup", "pg_ctl"} {
			if _, err = os.Stat(filepath.Join(bin, tool)); err != nil {
				break
			}
		}
	}
	if err != nil {
		t.Fatalf("testenv: a primary/standby pair needs the local PostgreSQL server binaries: %v\n"+
			"Fix: apt-get install -y postgresql (or set PG_BIN to a folder holding initdb, postgres, pg_basebackup and pg_ctl).", err)
	}
	p := &PostgresPair{}
	if p.primary, err = newPGProcess(bin, true); err != nil {
		t.Fatalf("testenv: start the primary: %v", err)
	}
	t.Cleanup(func() { p.primary.stop(); _ = os.RemoveAll(p.primary.dir) })
	if err := adminExec(p.primary.adminURL(), "CREATE DATABASE shop"); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	ctx, cancel := ctxTimeout()
	defer cancel()
	if err := prepare(ctx, p.PrimaryURL()); err != nil {
		t.Fatalf("testenv: prepare the primary's database: %v", err)
	}
	if p.standby, err = cloneStandby(p.primary); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { p.standby.stop(); _ = os.RemoveAll(p.standby.dir) })
	if synchronous {
		// Set after the clone, so the standby's copy of postgresql.auto.conf
		// does not hold it: promoted, it must not wait for a standby of its
		// own that does not exist (every commit would hang).
		for _, stmt := range []string{"ALTER SYSTEM SET synchronous_standby_names = '*'", "SELECT pg_reload_conf()"} {
			if err := adminExec(p.primary.adminURL(), stmt); err != nil {
				t.Fatalf("testenv: %s: %v", stmt, err)
			}
		}
	}
	want := "async"
	if synchronous {
		want = "sync"
	}
	err = waitFor(30*time.Second, func() error {
		var state string
		if err := p.queryPrimary("SELECT coalesce((SELECT sync_state FROM pg_stat_replication WHERE state = 'streaming' LIMIT 1), 'none')", &state); err != nil {
			return err
		}
		if state != want {
			return fmt.Errorf("standby replication state %q, want %q", state, want)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("testenv: the standby does not stream: %v\n%s", err, p.standby.log())
	}
	return p
}

// cloneStandby copies primary with pg_basebackup (which writes
// standby.signal and primary_conninfo, -R) and starts the copy on a port of
// its own.
func cloneStandby(primary *pgProcess) (*pgProcess, error) {
	dir, err := os.MkdirTemp("", "shop-testpg-standby-")
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// --checkpoint=fast: the default spread checkpoint can take minutes.
	backup := exec.Command(filepath.Join(primary.bin, "pg_basebackup"), "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port), "-U", "postgres",
		"-D", filepath.Join(dir, "data"), "-R", "-X", "stream", "-C", "-S", "standby", "--checkpoint=fast", "--no-sync")
	backup.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := backup.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_basebackup: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s := &pgProcess{bin: primary.bin, dir: dir, port: port, cred: cred, durable: true}
	if err := s.start(); err != nil {
		s.stop()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start the standby: %w", err)
	}
	return s, nil
}

// URL of database "shop" on whichever of the two accepts writes: both
// hosts, primary first, with target_session_attrs=read-write, as the
// services are configured against a replicated database.
func (p *PostgresPair) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/shop?sslmode=disable&target_session_attrs=read-write",
		p.primary.port, p.standby.port)
}

// PrimaryURL is database "shop" on the (first) primary alone.
func (p *PostgresPair) PrimaryURL() string { return withDatabase(p.primary.adminURL(), "shop") }

// StandbyURL is database "shop" on the standby alone (read-only until Promote).
func (p *PostgresPair) StandbyURL() string { return withDatabase(p.standby.adminURL(), "shop") }

// StopPrimary shuts the primary down at once (SIGQUIT: immediate shutdown,
// no checkpoint, clients cut off, like a crash) and waits for it to exit.
func (p *PostgresPair) StopPrimary(t testing.TB) {
	t.Helper()
	p.primary.stop()
}

// PartitionPrimary cuts the standby off the primary's WAL, as a network
// partition or a saturated link does: the primary's walsenders are frozen
// (SIGSTOP), so nothing more reaches the standby. With synchronous
// replication commits now wait; with asynchronous replication the primary
// goes on acknowledging commits the standby will never receive. Follow it
// with KillPrimary (a frozen walsender would hold up an immediate shutdown).
func (p *PostgresPair) PartitionPrimary(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.primary.adminURL())
	if err != nil {
		t.Fatalf("testenv: connect to the primary: %v", err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, "SELECT pid FROM pg_stat_replication")
	if err != nil {
		t.Fatalf("testenv: find the walsenders: %v", err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || len(pids) == 0 {
		t.Fatalf("testenv: find the walsenders: %d found (err %v)", len(pids), err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(int(pid), syscall.SIGSTOP); err != nil {
			t.Fatalf("testenv: freeze walsender %d: %v", pid, err)
		}
		// KillPrimary kills it; should the test end before, a thawed
		// walsender sees its postmaster gone (or stopping) and exits.
		t.Cleanup(func() { _ = syscall.Kill(int(pid), syscall.SIGCONT) })
	}
}

// FreezePrimary stops every process of the primary (SIGSTOP), as a frozen
// VM or a machine gone behind a switch: its sockets stay open and nothing
// answers, so only the clients' own deadlines end their waits. The
// primary is killed at the end of the test (or by KillPrimary).
func (p *PostgresPair) FreezePrimary(t testing.TB) {
	t.Helper()
	if p.primary.cmd != nil {
		p.primary.freeze()
		t.Cleanup(func() { p.KillPrimary(t) })
	}
}

// freeze SIGSTOPs the postmaster, then its children, and returns them all.
// PostgreSQL puts every child in a session of its own (setsid), so the
// server is the postmaster and its children, not one process group; the
// postmaster goes first, before it can fork again.
func (pg *pgProcess) freeze() []int {
	pm := pg.cmd.Process.Pid
	_ = syscall.Kill(pm, syscall.SIGSTOP)
	procs := append(childrenOf(pm), pm)
	for _, pid := range procs {
		_ = syscall.Kill(pid, syscall.SIGSTOP)
	}
	return procs
}

// KillPrimary kills every process of the primary at once, as losing its
// machine does: unlike StopPrimary's immediate shutdown, no process gets to
// act on the end of another (finish a commit, send what it holds).
func (p *PostgresPair) KillPrimary(t testing.TB) {
	t.Helper()
	if p.primary.cmd == nil {
		return
	}
	procs := p.primary.freeze() // frozen first, then killed
	for _, pid := range procs {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_, _ = p.primary.cmd.Process.Wait()
	p.primary.cmd = nil
}

// childrenOf lists the processes whose parent is pid (from /proc).
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var kids []int
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // exited meanwhile
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			kid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			kids = append(kids, kid)
		}
	}
	return kids
}

// Promote makes the standby the primary (pg_ctl promote) and returns once
// it accepts writes.
func (p *PostgresPair) Promote(t testing.TB) {
	t.Helper()
	cmd := exec.Command(filepath.Join(p.standby.bin, "pg_ctl"), "promote", "-D", filepath.Join(p.standby.dir, "data"), "-w", "-t", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.standby.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: pg_ctl promote: %v: %s\n%s", err, out, p.standby.log())
	}
	err := waitFor(30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, p.StandbyURL()+"&target_session_attrs=read-write")
		if err != nil {
			return err
		}
		return c.Close(ctx)
	})
	if err != nil {
		t.Fatalf("testenv: the promoted standby does not accept writes: %v", err)
	}
}

// WaitReplayed waits until the standby has replayed everything the primary
// had written when it was called (for asynchronous pairs, before a test
// starts the part whose losses it counts).
func (p *PostgresPair) WaitReplayed(t testing.TB) {
	t.Helper()
	var lsn string
	if err := p.queryPrimary("SELECT pg_current_wal_lsn()::text", &lsn); err != nil {
		t.Fatalf("testenv: read the primary's WAL position: %v", err)
	}
	err := waitFor(30*time.Second, func() error {
		var behind bool
		if err := p.queryPrimary("SELECT coalesce((SELECT replay_lsn < $1::pg_lsn FROM pg_stat_replication LIMIT 1), true)", &behind, lsn); err != nil {
			return err
		}
		if behind {
			return fmt.Errorf("standby has not replayed up to %s", lsn)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

func (p *PostgresPair) queryPrimary(sql string, dst any, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.primary.adminURL())
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	return c.QueryRow(ctx, sql, args...).Scan(dst)
}

// log is the end of the server's log, for failure messages.
func (p *pgProcess) log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "postgres.log"))
	s := string(b)
	if i := strings.LastIndex(s[:max(0, len(s)-3000)], "\n"); i >= 0 {
		s = s[i+1:]
	}
	return s
}
