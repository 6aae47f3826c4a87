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
	if gust <= 0 {
		return s
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return s
	}
	parent := map[int]int{}
	used := map[int]time.Duration{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, cpu, ok := procStat(pid)
		if !ok {
			continue
		}
		parent[pid], used[pid] = ppid, cpu
	}
	for pid, cpu := range used {
		switch {
		case pid == gust:
			s.gust += cpu
		case descends(pid, gust, parent):
			s.sandboxes += cpu
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

// procStat reads a process's parent and its user+system CPU time.
func procStat(pid int) (ppid int, cpu time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) state ppid ..." where comm may hold spaces and parens.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, 0, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	ut, err2 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err3 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, false
	}
	return ppid, time.Duration(ut+st) * clockTick, true
}
