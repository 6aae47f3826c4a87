package bench

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestSandboxMems measures real processes: two children of this test, one
// with a child of its own, the other stopped (a paused sandbox of the
// process kind).
func TestSandboxMems(t *testing.T) {
	if _, err := os.Stat("/proc/self/smaps_rollup"); err != nil {
		t.Skip("needs /proc/<pid>/smaps_rollup")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("needs sh")
	}
	tree := exec.Command(sh, "-c", "sleep 30 & wait")
	stopped := exec.Command(sh, "-c", "exec sleep 30")
	for _, c := range []*exec.Cmd{tree, stopped} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	}
	if err := stopped.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Skip("cannot stop a process here")
	}
	var mems []sandboxMem
	deadline := time.Now().Add(5 * time.Second)
	for {
		mems, err = sandboxMems("/proc", "/sys/fs/cgroup", os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		byPID := map[int]sandboxMem{}
		for _, m := range mems {
			byPID[m.pid] = m
		}
		a, b := byPID[tree.Process.Pid], byPID[stopped.Process.Pid]
		if a.procs == 2 && b.paused || time.Now().After(deadline) {
			if a.procs != 2 || a.pssKB <= 0 || a.paused {
				t.Errorf("sh with a child: %+v, want 2 running processes with their PSS", a)
			}
			if b.procs != 1 || b.pssKB <= 0 || !b.paused {
				t.Errorf("stopped sh: %+v, want 1 paused process with its PSS", b)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := memAvailableKB("/proc"); err != nil {
		t.Error(err)
	}
}
