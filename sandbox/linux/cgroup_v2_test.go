//go:build linux

package linux

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The cgroup v2 code path, run on a real cgroup2 file system: the pure v2
// mount of most hosts, or the hybrid /sys/fs/cgroup/unified of a v1 host.
// Where the mount's root does not enable memory, cpu and pids (a v1 host
// binds them to v1), the host is built with no controllers, and memory.max,
// memory.swap.max, memory.oom.group, cpu.weight, pids.max and memory.events
// go untested here; TestPureCgroupV2Host (guest_test.go) runs these tests
// again in a VM whose only hierarchy is cgroup2, where they are.

// counterLoop appends a byte to the file $1 every 10 ms, so that the
// file's size shows whether the loop (and its sleep children) runs.
const counterLoop = `while :; do printf x >>"$1"; sleep 0.01; done`

func TestCgroupV2Lifecycle(t *testing.T) {
	for _, set := range []struct {
		name string
		ctls []string
	}{
		{"no controllers", nil},
		{"memory cpu pids", v2Controllers},
	} {
		t.Run(set.name, func(t *testing.T) {
			h, mntRoot := newTestV2Host(t, set.ctls)
			for i, end := range cgroupEnds {
				t.Run(end.name, func(t *testing.T) {
					cg, err := h.create(fmt.Sprintf("sb-%d", i), 128, 64)
					if err != nil {
						t.Fatalf("create: %v", err)
					}
					dir := filepath.Join(h.v2, cg.rel)
					if !slices.Equal(cg.dirs, []string{dir}) || cg.pids != dir || cg.freezer != dir || cg.mem != dir {
						t.Fatalf("create made %v (pids %s, freezer %s, mem %s), want %s for all", cg.dirs, cg.pids, cg.freezer, cg.mem, dir)
					}
					checkLimits(t, cg, set.ctls, 128, 64)
					exerciseCgroup(t, cg, "", path.Join("/", mntRoot, cg.rel), end.end)
				})
			}
		})
	}
}

// cgroupEnds are the ways a sandbox's cgroup is emptied.
var cgroupEnds = []struct {
	name   string
	v2Only bool // a v1 frozen task dies only once thawed
	end    func(t *testing.T, cg *cgroup)
}{
	{"kill", false, func(t *testing.T, cg *cgroup) { cg.kill() }},
	{"kill each process", false, func(t *testing.T, cg *cgroup) { cg.killEach() }},
	{"kill while frozen", true, func(t *testing.T, cg *cgroup) {
		if err := cg.freeze(testCtx(t)); err != nil {
			t.Fatalf("freeze: %v", err)
		}
		cg.kill()
	}},
	{"remove kills what is left", false, func(t *testing.T, cg *cgroup) {
		if err := cg.remove(testCtx(t)); err != nil {
			t.Fatalf("remove of a live cgroup: %v", err)
		}
	}},
}

// exerciseCgroup starts counterLoop in cg, checks that /proc/<pid>/cgroup
// shows it in wantPath (in the v2 hierarchy for ctl "", else in the v1 one
// of ctl), that freeze stops the loop and thaw resumes it, that end kills
// it, and that remove then removes the cgroups.
func exerciseCgroup(t *testing.T, cg *cgroup, ctl, wantPath string, end func(*testing.T, *cgroup)) {
	t.Helper()
	counter := filepath.Join(t.TempDir(), "counter")
	p := startInCgroup(t, cg, counter)
	if got := procCgroup(t, p.cmd.Process.Pid, ctl); got != wantPath {
		t.Errorf("/proc/%d/cgroup has %q for %q, want %q", p.cmd.Process.Pid, got, ctl, wantPath)
	}
	if cg.empty() {
		t.Error("empty with a process in the cgroup")
	}
	waitAdvance(t, counter)

	if err := cg.freeze(testCtx(t)); err != nil {
		t.Fatalf("freeze: %v", err)
	}
	checkFrozen(t, cg, true)
	before := fileSize(t, counter)
	time.Sleep(100 * time.Millisecond) // ten turns of the loop, were it running
	if after := fileSize(t, counter); after != before {
		t.Errorf("the counter went from %d to %d while frozen", before, after)
	}
	if err := cg.freeze(testCtx(t)); err != nil {
		t.Errorf("freezing a frozen cgroup: %v", err)
	}
	if err := cg.thaw(testCtx(t)); err != nil {
		t.Fatalf("thaw: %v", err)
	}
	checkFrozen(t, cg, false)
	waitAdvance(t, counter)

	end(t, cg)
	if err := p.wait(t); !killed(err) {
		t.Errorf("the process ended with %v, want SIGKILL", err)
	}
	waitEmpty(t, cg)
	dirs := slices.Clone(cg.dirs)
	if err := cg.remove(testCtx(t)); err != nil {
		t.Fatalf("remove: %v", err)
	}
	for _, dir := range dirs {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after remove, stat %s: %v", dir, err)
		}
	}
	if len(cg.dirs) != 0 {
		t.Errorf("after remove, dirs = %v", cg.dirs)
	}
	if err := cg.remove(testCtx(t)); err != nil {
		t.Errorf("a second remove: %v", err)
	}
}

func TestCgroupV2Leftover(t *testing.T) {
	h, _ := newTestV2Host(t, nil)
	parent := filepath.Join(h.v2, h.parent)

	// A crashed run's empty cgroup is removed and made again: fresh, as
	// its settings show.
	left := filepath.Join(parent, "left")
	if err := os.Mkdir(left, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(left, "cgroup.max.descendants"), "3"); err != nil {
		t.Fatal(err)
	}
	cg, err := h.create("left", 128, 64)
	if err != nil {
		t.Fatalf("create over an empty leftover: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(left, "cgroup.max.descendants")); err != nil || strings.TrimSpace(string(b)) != "max" {
		t.Errorf("the reused cgroup's max.descendants is %q (%v), want a fresh cgroup's max", b, err)
	}

	// A cgroup with a live process in it is not taken over.
	p := startInCgroup(t, cg, filepath.Join(t.TempDir(), "counter"))
	if dup, err := h.create("left", 128, 64); err == nil {
		t.Fatalf("create over a live cgroup succeeded: %+v", dup)
	} else if !strings.Contains(err.Error(), "in use") || !errors.Is(err, unix.EBUSY) {
		t.Errorf("create over a live cgroup: %v, want in use (EBUSY)", err)
	}
	if _, err := os.Stat(left); err != nil {
		t.Errorf("the failed create touched the live cgroup: %v", err)
	}
	if err := syscall.Kill(p.cmd.Process.Pid, 0); err != nil {
		t.Errorf("the live cgroup's process: %v", err)
	}
	if err := cg.remove(testCtx(t)); err != nil {
		t.Fatalf("remove: %v", err)
	}
	p.wait(t)
}

func TestCgroupV2Parent(t *testing.T) {
	h, _ := newTestV2Host(t, nil)
	top := filepath.Join(h.v2, strings.Split(h.parent, "/")[0])
	if err := h.prepare(); err != nil {
		t.Fatalf("a second prepare: %v", err)
	}
	cg, err := h.create("busy", 128, 64)
	if err != nil {
		t.Fatal(err)
	}
	h.cleanup()
	if _, err := os.Stat(filepath.Join(h.v2, h.parent)); err != nil {
		t.Fatalf("cleanup removed a parent in use: %v", err)
	}
	if err := cg.remove(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	h.cleanup()
	if _, err := os.Stat(top); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after cleanup, stat %s: %v", top, err)
	}
	h.cleanup() // nothing left: harmless
}

// newTestV2Host returns a prepared v2 host on this machine's cgroup2 mount
// whose parent, two levels deep, is removed when the test ends, and the
// mount's root (what /proc/<pid>/cgroup paths start from). It skips
// without root or a cgroup2 mount, and when ctls are not all enabled at
// the mount's root: the test never changes the root's subtree_control.
func newTestV2Host(t *testing.T, ctls []string) (*cgroupHost, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("making cgroups needs root")
	}
	mnt := findCgroup2(t)
	if len(ctls) > 0 {
		b, err := os.ReadFile(filepath.Join(mnt, "cgroup.subtree_control"))
		if err != nil || !hasAll(strings.Fields(string(b)), ctls) {
			t.Skipf("the cgroup2 mount %s does not enable %s at its root (enabled: %q, %v): the v2 limits cannot be tested here",
				mnt, strings.Join(ctls, ", "), strings.TrimSpace(string(b)), err)
		}
	}
	top := fmt.Sprintf("gust-cgv2-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() {
		if err := removeCgroupTree(filepath.Join(mnt, top)); err != nil {
			t.Errorf("cleaning up: %v", err)
		}
	})
	h := newV2Host(mnt, top+"/sandboxes", ctls)
	if err := h.prepare(); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	for _, level := range []string{top, h.parent} {
		b, err := os.ReadFile(filepath.Join(mnt, level, "cgroup.subtree_control"))
		got, want := strings.Fields(string(b)), slices.Clone(ctls)
		slices.Sort(got)
		slices.Sort(want)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("prepare left %s's subtree_control %q (%v), want %v", level, b, err, ctls)
		}
	}
	return h, mountRoot(t, mnt)
}

// findCgroup2 returns the first cgroup2 mount point in
// /proc/self/mountinfo, or skips.
func findCgroup2(t *testing.T) string {
	t.Helper()
	for fields := range mounts(t) {
		if i := slices.Index(fields, "-"); i >= 5 && i+1 < len(fields) && fields[i+1] == "cgroup2" {
			return fields[4]
		}
	}
	t.Skip("no cgroup2 mount in /proc/self/mountinfo")
	return ""
}

// mountRoot returns the root of the mount at mnt: where the paths in
// /proc/<pid>/cgroup start from.
func mountRoot(t *testing.T, mnt string) string {
	t.Helper()
	for fields := range mounts(t) {
		if len(fields) > 4 && fields[4] == mnt {
			return fields[3]
		}
	}
	t.Fatalf("%s is not in /proc/self/mountinfo", mnt)
	return ""
}

// mounts yields the fields of each line of /proc/self/mountinfo.
func mounts(t *testing.T) iter.Seq[[]string] {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Skipf("no mountinfo: %v", err)
	}
	return func(yield func([]string) bool) {
		for line := range strings.Lines(string(b)) {
			if !yield(strings.Fields(line)) {
				return
			}
		}
	}
}

// removeCgroupTree kills every process below dir, a v2 or v1 cgroup, and
// removes its cgroups, deepest first, whatever a failed test left.
func removeCgroupTree(dir string) error {
	subs, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for _, e := range subs {
		if e.IsDir() {
			if err := removeCgroupTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	_ = writeFile(filepath.Join(dir, "cgroup.freeze"), "0")      // v2
	_ = writeFile(filepath.Join(dir, "freezer.state"), "THAWED") // v1
	// As a v1 cgroup, which remove empties with killEach: that works on
	// v2 too, and on v1 hierarchies other than pids.
	cg := &cgroup{host: &cgroupHost{}, pids: dir, freezer: dir, dirs: []string{dir}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return cg.remove(ctx)
}

// proc is a process started straight into a cgroup, and its end.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // cmd.Wait's, once done is closed
}

// startInCgroup starts counterLoop on counter in cg as the driver starts
// a sandbox's init: straight into the cgroup with CLONE_INTO_CGROUP on v2,
// attached right after the start on v1. The process is killed and reaped
// when the test ends.
func startInCgroup(t *testing.T, cg *cgroup, counter string) *proc {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", counterLoop, "sh", counter)
	if cg.host.v2 != "" {
		dir, err := cg.openDir()
		if err != nil {
			t.Fatalf("openDir: %v", err)
		}
		defer dir.Close()
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting a process into %s: %v", cg.pids, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = cg.thaw(ctx) // frozen v1 tasks die only once thawed
		_ = cmd.Process.Kill()
		p.wait(t)
	})
	if cg.host.v2 == "" {
		if err := cg.attach(cmd.Process.Pid); err != nil {
			t.Fatalf("attach: %v", err)
		}
	}
	return p
}

// wait returns how the process ended, failing the test if it does not
// within a few seconds.
func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(5 * time.Second):
		t.Fatalf("process %d did not end", p.cmd.Process.Pid)
		return nil
	}
}

func killed(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// procCgroup returns the path of pid's cgroup in /proc/<pid>/cgroup: the
// v2 one for ctl "", else the v1 hierarchy holding ctl.
func procCgroup(t *testing.T, pid int, ctl string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		// id:controllers:path; v2's is 0::path.
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if ctl == "" && parts[0] == "0" && parts[1] == "" || ctl != "" && slices.Contains(strings.Split(parts[1], ","), ctl) {
			return parts[2]
		}
	}
	return ""
}

func fileSize(t *testing.T, name string) int64 {
	t.Helper()
	fi, err := os.Stat(name)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// waitAdvance waits until the counter grows by two, or fails.
func waitAdvance(t *testing.T, counter string) {
	t.Helper()
	start := fileSize(t, counter)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if fileSize(t, counter) >= start+2 {
			return
		}
	}
	t.Fatalf("the counter stayed at %d for 5 s: the process does not run", fileSize(t, counter))
}

func waitEmpty(t *testing.T, cg *cgroup) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cg.empty() {
			return
		}
	}
	b, _ := os.ReadFile(filepath.Join(cg.pids, "cgroup.procs"))
	t.Fatalf("the cgroup still holds %q 5 s after the kill", b)
}

// checkFrozen checks the state the kernel reports: cgroup.events on v2,
// freezer.state on v1.
func checkFrozen(t *testing.T, cg *cgroup, frozen bool) {
	t.Helper()
	file, want := "cgroup.events", "frozen 0\n"
	if frozen {
		want = "frozen 1\n"
	}
	if cg.host.v2 == "" {
		file, want = "freezer.state", "THAWED\n"
		if frozen {
			want = "FROZEN\n"
		}
	}
	b, err := os.ReadFile(filepath.Join(cg.freezer, file))
	if err != nil || !strings.Contains(string(b), want) {
		t.Errorf("%s = %q (%v), want it to contain %q", file, b, err, want)
	}
}

// checkLimits checks the limit files of the controllers in ctls, and
// that those of the others are absent.
func checkLimits(t *testing.T, cg *cgroup, ctls []string, memMB, pidsMax int) {
	t.Helper()
	for _, l := range []struct{ ctl, file, want string }{
		{"memory", "memory.max", strconv.Itoa(memMB << 20)},
		{"memory", "memory.oom.group", "1"},
		{"cpu", "cpu.weight", strconv.Itoa(cpuWeight(memMB))},
		{"pids", "pids.max", strconv.Itoa(pidsMax)},
	} {
		b, err := os.ReadFile(filepath.Join(cg.mem, l.file))
		if !slices.Contains(ctls, l.ctl) {
			if !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s without the %s controller: %q, %v", l.file, l.ctl, b, err)
			}
			continue
		}
		if got := strings.TrimSpace(string(b)); err != nil || got != l.want {
			t.Errorf("%s = %q (%v), want %q", l.file, got, err, l.want)
		}
	}
	if slices.Contains(ctls, "memory") {
		if _, err := os.Stat(filepath.Join(cg.mem, "memory.events")); err != nil {
			t.Errorf("memory.events: %v", err)
		}
		if n := cg.oomKills(); n != 0 {
			t.Errorf("oomKills = %d in a new cgroup", n)
		}
	}
}

// testCtx bounds a cgroup operation in a test.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}
