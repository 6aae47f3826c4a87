package linux

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gust-faas/gust/sandbox"
)

// ReadyShells counts d's shells ready to be taken.
func ReadyShells(d *Driver) int { ready, _ := d.shells.counts(); return ready }

// ReadyNetShells counts d's networked shells ready to be taken.
func ReadyNetShells(d *Driver) int { ready, _ := d.netShells.counts(); return ready }

// BuildingShells counts d's shells being built.
func BuildingShells(d *Driver) int { _, building := d.shells.counts(); return building }

// counts tells how many of p's shells are ready and how many being built.
func (p *shellPool) counts() (ready, building int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ready), p.filling
}

// HostVeth names the host end of sb's veth pair, "" without a network.
func HostVeth(sb sandbox.Sandbox) string {
	if n := sb.(*Sandbox).net; n != nil {
		return n.host
	}
	return ""
}

// SetShellRefillDelay sets how long after a take the shells are refilled
// and returns a func that restores it.
func SetShellRefillDelay(delay time.Duration) (restore func()) {
	old := shellRefillDelay
	shellRefillDelay = delay
	return func() { shellRefillDelay = old }
}

// KillShells kills the init of every ready shell, leaving them listed, and
// waits until they are gone.
func KillShells(ctx context.Context, d *Driver) {
	d.shells.mu.Lock()
	ready := append([]*Sandbox(nil), d.shells.ready...)
	d.shells.mu.Unlock()
	for _, s := range ready {
		s.kill()
		select {
		case <-s.done:
		case <-ctx.Done():
		}
	}
}

// Limits reads the limits in sb's cgroups: the memory limit, the
// memory+swap limit (v1, where the kernel accounts swap), the CPU share or
// weight and the pids limit, by file name.
func Limits(sb sandbox.Sandbox) map[string]string {
	cg := sb.(*Sandbox).cg
	out := map[string]string{}
	for _, f := range []string{
		filepath.Join(cg.mem, "memory.limit_in_bytes"), filepath.Join(cg.mem, "memory.memsw.limit_in_bytes"),
		filepath.Join(cg.mem, "memory.max"), filepath.Join(cg.cpu, "cpu.shares"), filepath.Join(cg.cpu, "cpu.weight"),
		filepath.Join(cg.pids, "pids.max"),
	} {
		if b, err := os.ReadFile(f); err == nil {
			out[filepath.Base(f)] = strings.TrimSpace(string(b))
		}
	}
	return out
}

// Procs lists the processes in sb's cgroup.
func Procs(sb sandbox.Sandbox) []int {
	b, _ := os.ReadFile(filepath.Join(sb.(*Sandbox).cg.pids, "cgroup.procs"))
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
