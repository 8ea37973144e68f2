package benchreport

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcessTree is a set of processes and their children: the CPU time of a
// server whose children come and go (PostgreSQL's backends) or of a plain
// process (an api, a Redis node).
type ProcessTree struct{ Roots []int }

// CPU is the user+system time in seconds that the roots and every child
// of theirs used so far, children that ended included (the parent reaped
// them into its cutime/cstime). Take it before and after a measurement.
func (t ProcessTree) CPU() float64 {
	if len(t.Roots) == 0 {
		return 0
	}
	isRoot := map[int]bool{}
	for _, pid := range t.Roots {
		isRoot[pid] = true
	}
	var sum float64
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(dir))
		st, err := readStat(pid)
		if err != nil {
			continue
		}
		if isRoot[pid] || isRoot[st.ppid] {
			sum += st.own + st.reaped
		}
	}
	return sum
}

// clockTicks is USER_HZ, the unit of the times in /proc/<pid>/stat: 100
// on every Linux architecture Go supports.
const clockTicks = 100

type procStat struct {
	ppid        int
	own, reaped float64 // seconds: the process' utime+stime, its reaped children's cutime+cstime
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command (field 2) may hold spaces; fields after it start at state (3).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ticks := func(i int) float64 { v, _ := strconv.ParseFloat(f[i], 64); return v / clockTicks }
	ppid, _ := strconv.Atoi(f[1])
	return procStat{ppid: ppid, own: ticks(11) + ticks(12), reaped: ticks(13) + ticks(14)}, nil
}

// ParentOf is pid's parent process (0 when pid is gone).
func ParentOf(pid int) int {
	st, err := readStat(pid)
	if err != nil {
		return 0
	}
	return st.ppid
}

// Command is pid's command name ("postgres", "redis-server"; empty when gone).
func Command(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// RedisProcess is the local redis-server process whose INFO server section
// is info, or 0 when it is not a process of this machine (a container, a
// remote TEST_REDIS_URL).
func RedisProcess(info string) int {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			if pid, _ := strconv.Atoi(v); Command(pid) == "redis-server" {
				return pid
			}
		}
	}
	return 0
}

// CPUTimes is the first line of /proc/stat: time all cores spent busy and
// in total, in ticks.
type CPUTimes struct{ busy, total float64 }

// MachineCPU reads the machine's CPU times now.
func MachineCPU() CPUTimes {
	b, _ := os.ReadFile("/proc/stat")
	line, _, _ := strings.Cut(string(b), "\n")
	var t CPUTimes
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		if i >= 8 { // guest times are already counted in user and nice
			break
		}
		t.total += v
		if i != 3 && i != 4 { // idle, iowait
			t.busy += v
		}
	}
	return t
}

// BusySince is the share of all cores busy since before, in percent.
func (t CPUTimes) BusySince(before CPUTimes) float64 {
	if t.total == before.total {
		return 0
	}
	return 100 * (t.busy - before.busy) / (t.total - before.total)
}
