package linux_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/sandbox/linux"
	"github.com/gust-faas/gust/sandbox/sandboxtest"
)

// TestSpawnerDies: the sandboxes a spawner started outlive it, and their
// end is still seen (through their pidfds, with no exit status); the next
// Create starts another spawner.
func TestSpawnerDies(t *testing.T) {
	d, _ := newDriver(t, linux.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := func(id string) sandbox.Sandbox {
		t.Helper()
		sb, err := d.Create(ctx, sandbox.Spec{ID: id, Kind: "python:3", MemoryMB: 128})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sb.Destroy(context.Background()) })
		if err := sb.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return sb
	}
	answers := func(sb sandbox.Sandbox) bool {
		c := sandboxtest.Client(sb)
		defer c.CloseIdleConnections()
		resp, err := c.Get("http://sandbox/env")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	first := start("spawner-a")
	spawners := spawnerPids(t)
	if len(spawners) != 1 {
		t.Fatalf("spawner processes = %v, want one", spawners)
	}
	if err := syscall.Kill(spawners[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if pids := spawnerPids(t); len(pids) == 0 || pids[0] != spawners[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed spawner is still there")
		}
	}
	if !answers(first) {
		t.Fatal("a sandbox did not outlive its spawner")
	}
	second := start("spawner-b")
	if !answers(second) {
		t.Fatal("no sandbox after the spawner's death")
	}
	if err := first.Stop(ctx); err != nil {
		t.Fatalf("Stop of an orphaned sandbox: %v", err)
	}
	select {
	case <-first.Done():
	default:
		t.Fatal("Stop returned before Done closed")
	}
	if r := first.(sandbox.ExitReporter).ExitReason(); !strings.Contains(r, "unknown") {
		t.Errorf("ExitReason() = %q, want it to say the status is unknown", r)
	}
}

// spawnerPids lists this process's spawner children.
func spawnerPids(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 2 || f[0] == "Z" || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if strings.HasPrefix(string(cmdline), "gust-sandbox-spawner\x00") {
			pids = append(pids, pid)
		}
	}
	return pids
}
