package bench

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// sampleCPU reads the CPU time used so far by this process, by the process
// gust (if > 0) and by all of gust's descendants (its sandboxes).
func sampleCPU(gust int) cpuSample {
	var s cpuSample
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	s.machine = machineBusy()
	if gust <= 0 {
		return s
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return s
	}
	// A process's own time, plus the time of its children that exited and
	// were waited for (cutime, cstime): a sandbox that ends during the
	// measurement moves its time into its parent's children time instead
	// of losing it. Sandboxes are everything below gust, alive or reaped.
	type times struct{ own, children time.Duration }
	parent := map[int]int{}
	used := map[int]times{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, own, children, ok := procStat(pid)
		if !ok {
			continue
		}
		parent[pid], used[pid] = ppid, times{own, children}
	}
	g, ok := used[gust]
	if !ok {
		return s
	}
	s.gust, s.sandboxes = g.own, g.children
	self := os.Getpid()
	for pid, t := range used {
		switch {
		case pid == gust || pid == self:
		case descends(pid, gust, parent):
			s.sandboxes += t.own + t.children
		default:
			s.outside += t.own + t.children
		}
	}
	s.ok = true
	return s
}

// descends reports whether pid is a descendant of root.
func descends(pid, root int, parent map[int]int) bool {
	for i := 0; i < 64 && pid > 1; i++ {
		pid = parent[pid]
		if pid == root {
			return true
		}
	}
	return false
}

// procStat reads a process's parent, its own user+system CPU time and that
// of its waited-for children.
func procStat(pid int) (ppid int, own, children time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	// "pid (comm) state ppid ... utime stime cutime cstime ..." where comm
	// may hold spaces and parens; utime is the 14th field.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 15 {
		return 0, 0, 0, false
	}
	var n [5]int64
	for j, k := range []int{1, 11, 12, 13, 14} {
		if n[j], err = strconv.ParseInt(string(f[k]), 10, 64); err != nil {
			return 0, 0, 0, false
		}
	}
	return int(n[0]), time.Duration(n[1]+n[2]) * clockTick, time.Duration(n[3]+n[4]) * clockTick, true
}

// machineBusy is the CPU time all processors spent busy since boot, from
// the first line of /proc/stat: "cpu user nice system idle iowait irq
// softirq steal ...". Steal counts as busy: another guest had the core.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0
		}
		busy += n
	}
	return time.Duration(busy) * clockTick
}
