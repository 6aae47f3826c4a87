package bench

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// sandboxMem is the memory of one sandbox: the sum of the proportional set
// sizes (PSS, from /proc/<pid>/smaps_rollup) of every process in it.
type sandboxMem struct {
	pid     int   // the sandbox's first process: a child of the gust process
	procs   int   // processes in the sandbox (its subtree)
	members []int // their pids
	pssKB   int64 // their PSS summed
	paused  bool  // its first process is frozen (cgroup freezer) or stopped
}

// procInfo is what the density scenario reads of one process.
type procInfo struct {
	ppid  int
	state byte // R, S, D, T...
}

// parseStat reads the parent pid and state from /proc/<pid>/stat: "pid
// (comm) S ppid ...", where comm may hold spaces and parentheses.
func parseStat(b []byte) (procInfo, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procInfo{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 || len(f[0]) != 1 {
		return procInfo{}, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procInfo{}, false
	}
	return procInfo{ppid: ppid, state: f[0][0]}, true
}

// parseKB finds "<key>: <n> kB" in a /proc file (smaps_rollup, meminfo).
func parseKB(b []byte, key string) (int64, bool) {
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			return 0, false
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		return n, err == nil
	}
	return 0, false
}

// memAvailableKB is the host's MemAvailable.
func memAvailableKB(proc string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(proc, "meminfo"))
	if err != nil {
		return 0, err
	}
	n, ok := parseKB(b, "MemAvailable")
	if !ok {
		return 0, errors.New("no MemAvailable in " + filepath.Join(proc, "meminfo"))
	}
	return n, nil
}

// readProcs reads the parent and state of every process under proc.
func readProcs(proc string) (map[int]procInfo, error) {
	ents, err := os.ReadDir(proc)
	if err != nil {
		return nil, err
	}
	out := make(map[int]procInfo, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(proc, e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		if pi, ok := parseStat(b); ok {
			out[pid] = pi
		}
	}
	return out, nil
}

// subtrees groups the descendants of parent by the child of parent they
// descend from: each child of a gust process that runs sandboxes is one
// sandbox (its init, or the proxy itself in the process driver), and its
// subtree is every process of that sandbox. A child that is a spawner (the
// linux driver's, which forks the inits) is not a sandbox: its children
// are. Children and their members come sorted by pid.
func subtrees(procs map[int]procInfo, parent int, spawner func(pid int) bool) map[int][]int {
	children := map[int][]int{}
	for pid, pi := range procs {
		children[pi.ppid] = append(children[pi.ppid], pid)
	}
	var tops []int
	for _, pid := range children[parent] {
		if spawner(pid) {
			tops = append(tops, children[pid]...)
		} else {
			tops = append(tops, pid)
		}
	}
	out := map[int][]int{}
	for _, top := range tops {
		stack := []int{top}
		var members []int
		for len(stack) > 0 {
			pid := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			members = append(members, pid)
			stack = append(stack, children[pid]...)
		}
		slices.Sort(members)
		out[top] = members
	}
	return out
}

// isSpawner reports whether pid is a linux driver's sandbox spawner, by the
// name it runs under (sandbox/linux, reexec entry "sandbox-spawner").
func isSpawner(proc string, pid int) bool {
	b, _ := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "cmdline"))
	return bytes.HasPrefix(b, []byte("gust-sandbox-spawner\x00"))
}

// frozen reports whether pid is paused: in a frozen cgroup (v1 freezer
// or v2 cgroup.freeze), or stopped (state T).
func frozen(proc, cgroupRoot string, pid int, state byte) bool {
	if state == 'T' {
		return true
	}
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return false
	}
	var v2 string
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if slices.Contains(strings.Split(parts[1], ","), "freezer") {
			st, err := os.ReadFile(filepath.Join(cgroupRoot, "freezer", parts[2], "freezer.state"))
			return err == nil && strings.TrimSpace(string(st)) == "FROZEN"
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
		}
	}
	if v2 == "" {
		return false
	}
	ev, err := os.ReadFile(filepath.Join(cgroupRoot, v2, "cgroup.events"))
	return err == nil && strings.Contains(string(ev), "frozen 1")
}

// sandboxMems measures every sandbox of the gust process parent, sorted
// by pid.
func sandboxMems(proc, cgroupRoot string, parent int) ([]sandboxMem, error) {
	procs, err := readProcs(proc)
	if err != nil {
		return nil, err
	}
	var out []sandboxMem
	for top, members := range subtrees(procs, parent, func(pid int) bool { return isSpawner(proc, pid) }) {
		m := sandboxMem{pid: top, paused: frozen(proc, cgroupRoot, top, procs[top].state)}
		for _, pid := range members {
			b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "smaps_rollup"))
			if err != nil {
				continue // exited meanwhile, or a kernel thread
			}
			if kb, ok := parseKB(b, "Pss"); ok {
				m.pssKB += kb
				m.procs++
				m.members = append(m.members, pid)
			}
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b sandboxMem) int { return a.pid - b.pid })
	return out, nil
}
