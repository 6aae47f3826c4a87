package linux_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/sandbox/linux"
	"github.com/gust-faas/gust/sandbox/sandboxtest"
)

// orphanEntry is a driver process that starts one sandbox, says so, and
// waits to be killed.
const orphanEntry = "linux-test-orphan-driver"

func init() {
	reexec.Register(orphanEntry, func() {
		d, err := linux.New(linux.Config{
			RunDir:       os.Getenv("ORPHAN_RUN_DIR"),
			CgroupParent: os.Getenv("ORPHAN_CGROUP_PARENT"),
			ProxyEntry:   sandboxtest.StandInEntry,
		})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		ctx := context.Background()
		sb, err := d.Create(ctx, sandbox.Spec{ID: "orphan", Kind: "python:3", MemoryMB: 128})
		if err == nil {
			err = sb.Start(ctx)
		}
		if err == nil && os.Getenv("ORPHAN_PAUSE") != "" {
			err = sb.(sandbox.Pauser).Pause(ctx)
		}
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("started")
		time.Sleep(time.Hour)
	})
}

// TestSandboxDiesWithDriver: when the process that drives a sandbox dies
// without destroying it (SIGKILL, a panic), the sandbox's processes die
// too instead of living on as orphans. A paused (frozen) sandbox cannot
// notice: the next driver with the same run directory ends it.
func TestSandboxDiesWithDriver(t *testing.T) {
	if err := linux.Available(); err != nil {
		t.Skipf("linux sandboxes unavailable: %v", err)
	}
	for _, paused := range []bool{false, true} {
		t.Run(map[bool]string{false: "running", true: "paused"}[paused], func(t *testing.T) {
			dir := t.TempDir()
			runDir := filepath.Join(dir, "run")
			parent := filepath.Join("gust-test", filepath.Base(filepath.Dir(dir))+"-orphan")
			cmd := reexec.Command(orphanEntry)
			cmd.Env = append(cmd.Env, "ORPHAN_RUN_DIR="+runDir, "ORPHAN_CGROUP_PARENT="+parent)
			if paused {
				cmd.Env = append(cmd.Env, "ORPHAN_PAUSE=1")
			}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(out).ReadString('\n')
			if strings.TrimSpace(line) != "started" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("driver process: %q", line)
			}
			procs := sandboxProcs(t, parent, "orphan")
			if len(procs) == 0 {
				t.Fatal("no process in the sandbox's cgroup")
			}
			t.Cleanup(func() { removeOrphan(parent) })
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			sweep := func() {
				d, err := linux.New(linux.Config{RunDir: runDir, CgroupParent: parent, ProxyEntry: sandboxtest.StandInEntry})
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if _, err := os.Stat(filepath.Join(runDir, "orphan")); !os.IsNotExist(err) {
					t.Errorf("the sandbox's directory is still there after New: %v", err)
				}
				if err := d.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}
			if paused {
				time.Sleep(300 * time.Millisecond)
				if len(sandboxProcs(t, parent, "orphan")) == 0 {
					t.Fatal("the frozen sandbox died with its driver: nothing left to sweep")
				}
				sweep()
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(procs) > 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				procs = sandboxProcs(t, parent, "orphan")
			}
			if len(procs) > 0 {
				t.Errorf("processes %v outlived their driver by 10 s", procs)
			}
			if !paused {
				sweep() // the cgroups of the dead sandbox and shells
			}
			// The next driver removed every cgroup the dead one made,
			// shells' included, and its Close the parent itself.
			if left := parentDirs(parent); len(left) > 0 {
				t.Errorf("cgroups left after the sweep: %v", left)
			}
		})
	}
}

// parentDirs lists the cgroup directories of the test's parent.
func parentDirs(parent string) []string {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
	v2, _ := filepath.Glob("/sys/fs/cgroup/" + parent)
	return append(dirs, v2...)
}

// orphanDirs lists the orphan sandbox's cgroup directories.
func orphanDirs(parent string) []string {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent + "/orphan")
	v2, _ := filepath.Glob("/sys/fs/cgroup/" + parent + "/orphan")
	return append(dirs, v2...)
}

// removeOrphan kills and removes what a failed test left.
func removeOrphan(parent string) {
	for _, d := range orphanDirs(parent) {
		os.WriteFile(filepath.Join(d, "freezer.state"), []byte("THAWED"), 0o644)
		if b, err := os.ReadFile(filepath.Join(d, "cgroup.procs")); err == nil {
			for _, f := range strings.Fields(string(b)) {
				var pid int
				if _, err := fmt.Sscan(f, &pid); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	}
	time.Sleep(50 * time.Millisecond)
	for _, d := range orphanDirs(parent) {
		os.Remove(d)
		os.Remove(filepath.Dir(d))
	}
}

// sandboxProcs lists the pids in sandbox id's cgroups under parent.
func sandboxProcs(t *testing.T, parent, id string) []int {
	t.Helper()
	files, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent + "/" + id + "/cgroup.procs")
	v2, _ := filepath.Glob("/sys/fs/cgroup/" + parent + "/" + id + "/cgroup.procs")
	seen := map[int]bool{}
	var pids []int
	for _, f := range append(files, v2...) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			var pid int
			if _, err := fmt.Sscan(s, &pid); err == nil && !seen[pid] {
				seen[pid] = true
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
