package bench

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSampleCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	// A parent that waits while its child spins: the time goes to the
	// descendants, not to the parent.
	cmd := exec.Command("/bin/sh", "-c", "sh -c 'while :; do :; done' & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group: both shells
		cmd.Wait()
	}()
	time.Sleep(100 * time.Millisecond)
	before := sampleCPU(cmd.Process.Pid)
	spin := time.Now()
	for time.Since(spin) < 200*time.Millisecond { // this process works too
	}
	time.Sleep(300 * time.Millisecond)
	use := sampleCPU(cmd.Process.Pid).sub(before)
	if !use.Server {
		t.Fatal("the server side was not measured")
	}
	// The machine may be busy: compare, do not expect full cores.
	if use.Sandboxes < 2*clockTick || use.Sandboxes <= use.Gust {
		t.Errorf("spinning descendant used %v, waiting parent %v", use.Sandboxes, use.Gust)
	}
	if use.Client <= 0 {
		t.Errorf("this process used %v while spinning", use.Client)
	}
	if s := sampleCPU(0); s.ok || s.self <= 0 {
		t.Errorf("sampleCPU(0) = %+v, want only self", s)
	}
}

func TestSampleCPUKeepsExitedChildren(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	// The spinning grandchild ends (killed by timeout) during the
	// measurement; its time must not vanish with it.
	cmd := exec.Command("/bin/sh", "-c", "timeout 0.4 sh -c 'while :; do :; done'; sleep 5")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	time.Sleep(100 * time.Millisecond)
	before := sampleCPU(cmd.Process.Pid)
	time.Sleep(700 * time.Millisecond)
	use := sampleCPU(cmd.Process.Pid).sub(before)
	if use.Sandboxes < 2*clockTick {
		t.Errorf("a descendant that spun, then exited, accounts for %v", use.Sandboxes)
	}
}

func TestSampleCPUKeepsNamespaceReapedTime(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	// The spinning grandchild lives in a pid namespace whose init is
	// killed during the measurement: the kernel reaps it without charging
	// anyone, as it does a destroyed sandbox's processes.
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--pid", "--fork",
		"sh", "-c", "sh -c 'while :; do :; done' & wait")
	if err := cmd.Start(); err != nil {
		t.Skipf("unshare: %v", err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	time.Sleep(100 * time.Millisecond)
	children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
	init, _ := strconv.Atoi(strings.TrimSpace(string(children)))
	if err != nil || init <= 0 {
		t.Skipf("no namespace init below unshare (%q, %v): user namespaces unavailable?", children, err)
	}
	before := sampleCPU(cmd.Process.Pid)
	time.Sleep(400 * time.Millisecond)
	syscall.Kill(init, syscall.SIGKILL)
	time.Sleep(100 * time.Millisecond)
	use := sampleCPU(cmd.Process.Pid).sub(before)
	if use.Sandboxes < 10*clockTick {
		t.Errorf("a namespace's process spun for 400 ms, then was reaped by the kernel: sandboxes %v, other %v", use.Sandboxes, use.Other)
	}
}
