package linux

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupHost is where this host keeps the controllers the driver uses: one
// cgroup2 mount holding memory, cpu and pids (pure v2), or one v1 hierarchy
// per controller (memory, cpu, pids, freezer). A hybrid layout whose v2
// mount holds none of them (like hugetlb-only /sys/fs/cgroup/unified) counts
// as v1.
type cgroupHost struct {
	v2 string // the cgroup2 mount point, "" on v1
	// ctls are the v2 controllers enabled down to the sandboxes' cgroups;
	// create writes only the limit files of these. Detection sets
	// v2Controllers, all of them, or fails; only tests build a host with
	// fewer (newV2Host), on a cgroup2 mount that lacks them.
	ctls   []string
	v1     map[string]string // controller -> v1 mount point
	parent string            // relative path of the driver's parent cgroup
}

// v1Controllers are the v1 hierarchies a sandbox joins.
var v1Controllers = []string{"memory", "cpu", "pids", "freezer"}

// v2Controllers must be enabled down to a sandbox's cgroup.
var v2Controllers = []string{"memory", "cpu", "pids"}

// newV2Host returns a v2 host whose sandboxes' cgroups are made under
// parent, relative to the cgroup2 mount mnt, with the controllers ctls.
func newV2Host(mnt, parent string, ctls []string) *cgroupHost {
	return &cgroupHost{v2: mnt, ctls: ctls, parent: parent}
}

// detectCgroups reads /proc/self/mountinfo.
func detectCgroups(parent string) (*cgroupHost, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoCgroups, err)
	}
	defer f.Close()
	return parseCgroups(f, func(mnt string) ([]byte, error) {
		return os.ReadFile(filepath.Join(mnt, "cgroup.controllers"))
	}, parent)
}

// parseCgroups finds the hierarchies in a mountinfo; controllers reads a
// cgroup2 mount's cgroup.controllers.
func parseCgroups(mountinfo io.Reader, controllers func(mnt string) ([]byte, error), parent string) (*cgroupHost, error) {
	h := &cgroupHost{v1: map[string]string{}, parent: parent}
	var v2mounts []string
	sc := bufio.NewScanner(mountinfo)
	for sc.Scan() {
		// id parent maj:min root mountpoint options [optional...] - fstype source superoptions
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || sep+3 > len(fields) {
			continue
		}
		mnt, fstype, super := fields[4], fields[sep+1], fields[sep+3]
		switch fstype {
		case "cgroup2":
			v2mounts = append(v2mounts, mnt)
		case "cgroup":
			for _, opt := range strings.Split(super, ",") {
				for _, c := range v1Controllers {
					if opt == c {
						if _, dup := h.v1[c]; !dup {
							h.v1[c] = mnt
						}
					}
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: reading mountinfo: %w", ErrNoCgroups, err)
	}
	if _, ok := h.v1["memory"]; !ok {
		for _, mnt := range v2mounts {
			b, err := controllers(mnt)
			if err != nil {
				continue
			}
			if hasAll(strings.Fields(string(b)), v2Controllers) {
				return newV2Host(mnt, parent, v2Controllers), nil
			}
		}
	}
	var missing []string
	for _, c := range v1Controllers {
		if _, ok := h.v1[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: no cgroup v2 mount with memory, cpu and pids, and no v1 hierarchy for %s", ErrNoCgroups, strings.Join(missing, ", "))
	}
	return h, nil
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// version is 1 or 2.
func (h *cgroupHost) version() int {
	if h.v2 != "" {
		return 2
	}
	return 1
}

// prepare makes the parent cgroups and, on v2, enables the controllers on
// the way down to them.
func (h *cgroupHost) prepare() error {
	if h.v2 == "" {
		for _, c := range v1Controllers {
			if err := os.MkdirAll(filepath.Join(h.v1[c], h.parent), 0o755); err != nil {
				return fmt.Errorf("%w: %w", ErrNoCgroups, err)
			}
		}
		return nil
	}
	dir := h.v2
	var enable string
	if len(h.ctls) > 0 {
		enable = "+" + strings.Join(h.ctls, " +")
	}
	for _, part := range append([]string{""}, strings.Split(h.parent, "/")...) {
		if part != "" {
			dir = filepath.Join(dir, part)
			if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return fmt.Errorf("%w: %w", ErrNoCgroups, err)
			}
		}
		if enable == "" {
			continue
		}
		if err := writeFile(filepath.Join(dir, "cgroup.subtree_control"), enable); err != nil {
			if errors.Is(err, unix.EBUSY) {
				// v2 hands controllers down only from a cgroup without
				// processes (the real root is exempt, a cgroup
				// namespace's root is not).
				return fmt.Errorf("%w: enabling %s in %s: it holds processes; move them into a child cgroup (deploy/docker-entrypoint.sh does in a container): %w", ErrNoCgroups, enable, dir, err)
			}
			return fmt.Errorf("%w: enabling %s in %s: %w", ErrNoCgroups, enable, dir, err)
		}
	}
	return nil
}

// cleanup removes the parent cgroups if no sandbox uses them.
func (h *cgroupHost) cleanup() {
	for _, root := range h.roots() {
		// Remove the parent path bottom-up; a busy or shared level stays.
		for p := h.parent; p != "." && p != "/" && p != ""; p = filepath.Dir(p) {
			if unix.Rmdir(filepath.Join(root, p)) != nil {
				break
			}
		}
	}
}

// leftovers lists the sandbox cgroups under the parent, in any hierarchy.
func (h *cgroupHost) leftovers() []string {
	seen := map[string]bool{}
	for _, root := range h.roots() {
		ents, _ := os.ReadDir(filepath.Join(root, h.parent))
		for _, e := range ents {
			if e.IsDir() {
				seen[e.Name()] = true
			}
		}
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// existing is the cgroup of sandbox id as create made it, from the
// directories that are there, without changing anything.
func (h *cgroupHost) existing(id string) *cgroup {
	cg := &cgroup{host: h, rel: filepath.Join(h.parent, id)}
	add := func(dir string) bool {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return false
		}
		cg.dirs = append(cg.dirs, dir)
		return true
	}
	if h.v2 != "" {
		if dir := filepath.Join(h.v2, cg.rel); add(dir) {
			cg.mem, cg.cpu, cg.pids, cg.freezer = dir, dir, dir, dir
		}
		return cg
	}
	for _, c := range v1Controllers {
		dir := filepath.Join(h.v1[c], cg.rel)
		if !add(dir) {
			continue
		}
		switch c {
		case "memory":
			cg.mem = dir
		case "cpu":
			cg.cpu = dir
		case "pids":
			cg.pids = dir
		case "freezer":
			cg.freezer = dir
		}
	}
	if cg.pids == "" && len(cg.dirs) > 0 {
		cg.pids = cg.dirs[0] // every v1 hierarchy lists the same processes
	}
	return cg
}

func (h *cgroupHost) roots() []string {
	if h.v2 != "" {
		return []string{h.v2}
	}
	out := make([]string, 0, len(v1Controllers))
	for _, c := range v1Controllers {
		out = append(out, h.v1[c])
	}
	return out
}

// cgroup is one sandbox's cgroups.
type cgroup struct {
	host    *cgroupHost
	rel     string   // parent/id
	dirs    []string // every directory made, one per hierarchy
	mem     string   // directory holding the memory files
	cpu     string   // directory holding the cpu files
	pids    string   // directory whose cgroup.procs lists every process
	freezer string   // directory holding the freezer files
}

// create makes the sandbox's cgroups and sets their limits. A leftover
// empty cgroup of the same name (from a crashed run) is reused.
func (h *cgroupHost) create(id string, memMB, pidsMax int) (_ *cgroup, err error) {
	cg := &cgroup{host: h, rel: filepath.Join(h.parent, id)}
	defer func() {
		if err != nil {
			cg.rmdirs()
		}
	}()
	mkdir := func(dir string) error {
		if err := os.Mkdir(dir, 0o755); err != nil {
			if !errors.Is(err, os.ErrExist) {
				return err
			}
			if err := unix.Rmdir(dir); err != nil { // busy: in use by a live sandbox
				return fmt.Errorf("cgroup %s already exists and is in use: %w", dir, err)
			}
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
		}
		cg.dirs = append(cg.dirs, dir)
		return nil
	}
	if h.v2 != "" {
		dir := filepath.Join(h.v2, cg.rel)
		if err := mkdir(dir); err != nil {
			return nil, err
		}
		cg.mem, cg.cpu, cg.pids, cg.freezer = dir, dir, dir, dir
		if slices.Contains(h.ctls, "memory") {
			// No swap (the file is missing without swap accounting), and an
			// OOM kill takes the whole sandbox.
			if err := writeFile(filepath.Join(dir, "memory.swap.max"), "0"); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
			if err := writeFile(filepath.Join(dir, "memory.oom.group"), "1"); err != nil {
				return nil, err
			}
		}
		return cg, cg.setLimits(memMB, pidsMax)
	}
	for _, c := range v1Controllers {
		dir := filepath.Join(h.v1[c], cg.rel)
		if err := mkdir(dir); err != nil {
			return nil, err
		}
		switch c {
		case "memory":
			cg.mem = dir
			_ = writeFile(filepath.Join(dir, "memory.swappiness"), "0") // best effort: refused on some kernels
		case "cpu":
			cg.cpu = dir
		case "pids":
			cg.pids = dir
		case "freezer":
			cg.freezer = dir
		}
	}
	return cg, cg.setLimits(memMB, pidsMax)
}

// setLimits sets the memory limit (swap off), the CPU share that follows
// it and the pids limit. It may change them while processes run: the
// driver's shells get their sandbox's limits when they are taken.
func (cg *cgroup) setLimits(memMB, pidsMax int) error {
	limit := strconv.FormatInt(int64(memMB)<<20, 10)
	if cg.host.v2 != "" {
		for _, w := range []struct{ ctl, file, value string }{
			{"memory", "memory.max", limit},
			{"cpu", "cpu.weight", strconv.Itoa(cpuWeight(memMB))},
			{"pids", "pids.max", strconv.Itoa(pidsMax)},
		} {
			if slices.Contains(cg.host.ctls, w.ctl) {
				if err := writeFile(filepath.Join(cg.mem, w.file), w.value); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// Swap off: memory+swap may not exceed memory, and never be below it.
	// Raising memory past memory+swap fails until memory+swap is raised;
	// the file is missing when the kernel does not account swap.
	mem, memsw := filepath.Join(cg.mem, "memory.limit_in_bytes"), filepath.Join(cg.mem, "memory.memsw.limit_in_bytes")
	if err := writeFile(mem, limit); err != nil {
		if writeFile(memsw, limit) != nil {
			return err
		}
		if err := writeFile(mem, limit); err != nil {
			return err
		}
	}
	if err := writeFile(memsw, limit); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := writeFile(filepath.Join(cg.cpu, "cpu.shares"), strconv.Itoa(cpuShares(memMB))); err != nil {
		return err
	}
	return writeFile(filepath.Join(cg.pids, "pids.max"), strconv.Itoa(pidsMax))
}

// cpuShares gives 1024 (the default share) to 256 MB, proportionally.
func cpuShares(memMB int) int { return max(2, min(262144, memMB*4)) }

// cpuWeight gives 100 (the default weight) to 256 MB, proportionally.
func cpuWeight(memMB int) int { return max(1, min(10000, memMB*100/256)) }

// attach moves pid into every v1 cgroup (v2 sandboxes are cloned into
// theirs). Moving a process write-locks the kernel's global
// cgroup_threadgroup_rwsem, which waits for an RCU grace period (~5-10 ms
// here) unless another attach happened within the last one (or the
// cgroup2 root has favordynmods on; then ~0.2 ms). Launch overlaps it with
// the init's mounts (~5 ms), which is why turning favordynmods on gained
// nothing measurable (BenchmarkColdStartRuntime, 2026-11-22).
func (cg *cgroup) attach(pid int) error {
	p := strconv.Itoa(pid)
	for _, dir := range cg.dirs {
		if err := writeFile(filepath.Join(dir, "cgroup.procs"), p); err != nil {
			return fmt.Errorf("attaching to %s: %w", dir, err)
		}
	}
	return nil
}

// openDir opens the v2 cgroup directory for CLONE_INTO_CGROUP (which
// refuses O_PATH descriptors).
func (cg *cgroup) openDir() (*os.File, error) {
	return os.OpenFile(cg.pids, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// freeze stops every process and waits until the kernel reports them
// frozen; thaw reverses it.
func (cg *cgroup) freeze(ctx context.Context) error { return cg.setFrozen(ctx, true) }
func (cg *cgroup) thaw(ctx context.Context) error   { return cg.setFrozen(ctx, false) }

func (cg *cgroup) setFrozen(ctx context.Context, frozen bool) error {
	var file, value, stateFile string
	var want []byte
	if cg.host.v2 != "" {
		file, stateFile = "cgroup.freeze", "cgroup.events"
		value, want = "0", []byte("frozen 0")
		if frozen {
			value, want = "1", []byte("frozen 1")
		}
	} else {
		file, stateFile = "freezer.state", "freezer.state"
		value, want = "THAWED", []byte("THAWED")
		if frozen {
			value, want = "FROZEN", []byte("FROZEN")
		}
	}
	if err := writeFile(filepath.Join(cg.freezer, file), value); err != nil {
		return err
	}
	path := filepath.Join(cg.freezer, stateFile)
	var buf [256]byte
	delay := 20 * time.Microsecond
	for {
		n, err := readInto(path, buf[:])
		if err != nil {
			return err
		}
		if bytes.Contains(buf[:n], want) {
			return nil
		}
		if frozen && cg.host.v2 == "" && bytes.HasPrefix(buf[:n], []byte("THAWED")) {
			// A v1 freeze that met a task it could not freeze falls back
			// to THAWED; ask again.
			if err := writeFile(filepath.Join(cg.freezer, file), value); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Millisecond)
	}
}

// oomKills is how many processes the kernel's OOM killer killed in the
// sandbox's memory cgroup.
func (cg *cgroup) oomKills() int {
	file := "memory.oom_control"
	if cg.host.v2 != "" {
		file = "memory.events"
	}
	b, err := os.ReadFile(filepath.Join(cg.mem, file))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// kill sends SIGKILL to every process in the cgroup: through cgroup.kill
// on v2, else (v1, and v2 before Linux 5.14) to each process it lists.
func (cg *cgroup) kill() {
	if cg.host.v2 != "" && writeFile(filepath.Join(cg.pids, "cgroup.kill"), "1") == nil {
		return
	}
	cg.killEach()
}

// killEach sends SIGKILL to each process in cgroup.procs through a pidfd,
// and only if its pid is still listed once the pidfd is open, so that a
// recycled pid is never hit: the pidfd reaches its process only while it
// lives, and a live process whose pid is listed is in the cgroup. (Unlike
// matching /proc/<pid>/cgroup, this holds whatever the mount's root and
// the cgroup namespace.) Processes that appear meanwhile are left to the
// next call: remove calls it until the cgroup is empty.
func (cg *cgroup) killEach() {
	procs := filepath.Join(cg.pids, "cgroup.procs")
	b, err := os.ReadFile(procs)
	if err != nil {
		return
	}
	pidfds := map[int]int{} // pid -> pidfd
	defer func() {
		for _, fd := range pidfds {
			unix.Close(fd)
		}
	}()
	for f := range strings.FieldsSeq(string(b)) {
		pid, err := strconv.Atoi(f)
		if _, dup := pidfds[pid]; err != nil || dup { // v1 may list a pid twice
			continue
		}
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			pidfds[pid] = fd
		}
	}
	if len(pidfds) == 0 {
		return
	}
	if b, err = os.ReadFile(procs); err != nil {
		return
	}
	for f := range strings.FieldsSeq(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			continue
		}
		if fd, ok := pidfds[pid]; ok {
			_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		}
	}
}

// empty reports whether no process is left in the cgroup.
func (cg *cgroup) empty() bool {
	b, err := os.ReadFile(filepath.Join(cg.pids, "cgroup.procs"))
	return err != nil || len(bytes.TrimSpace(b)) == 0
}

// remove kills what is left and removes the cgroups. Dying processes keep
// a cgroup busy for a moment, so it retries until ctx ends.
func (cg *cgroup) remove(ctx context.Context) error {
	delay := 100 * time.Microsecond
	for {
		if !cg.empty() {
			cg.kill()
		}
		err := cg.rmdirs()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("removing cgroup %s: %w (%w)", cg.rel, err, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 20*time.Millisecond)
	}
}

// rmdirs removes the directories still there; it returns the first error.
func (cg *cgroup) rmdirs() error {
	var first error
	kept := cg.dirs[:0]
	for _, dir := range cg.dirs {
		if err := unix.Rmdir(dir); err != nil && err != unix.ENOENT {
			if first == nil {
				first = fmt.Errorf("%s: %w", dir, err)
			}
			kept = append(kept, dir)
		}
	}
	cg.dirs = kept
	return first
}

// writeFile writes value to an existing (cgroup) file.
func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q to %s: %w", value, path, err)
	}
	return nil
}

// readInto reads a small file into buf without allocating.
func readInto(path string, buf []byte) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return 0, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return n, nil
}
