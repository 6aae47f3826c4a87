package bench

import (
	"os/exec"
	"runtime"
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
