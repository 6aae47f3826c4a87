package linux

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gust-faas/gust/sandbox"
)

// Shells are sandboxes built before their action is known: the init
// spawned in its namespaces, moved into its cgroups and done with the root
// file system, waiting for the go-ahead. Create takes one when the spec
// allows, sets its cgroups' limits and names it after the spec; the cold
// start that follows pays for the runtime only. What a shell saves is the
// spawn, the init's exec (a Go binary's start), the first cgroup attach (a
// RCU grace period on v1: 7-11 ms on a HZ=250 kernel), the mounts and the
// proxy's exec.
//
// A taken shell is replaced shellRefillDelay later, once the cold start
// that took it is done with the CPU it needs: built beside it, the
// replacement (a spawn, two execs of the sandbox binary, the mounts, the
// cgroup attach) took the second core from the cold start's own hand-offs,
// and Python's /init grew from about 12 to 15-17 ms. When the last shell is
// taken the pool refills at once: cold starts that come one after another
// would otherwise run out of shells and build their sandboxes themselves.
//
// A shell's own directory and cgroups keep its name; only the Sandbox's ID
// is the spec's. Shells have the /tmp size of the default memory size.
// A driver keeps two pools: shells without a network, and shells with one
// (a veth pair, its address and route, as Spec.Network gets), which a
// networked spec takes. Network namespaces with a veth are the slowest
// part of a sandbox to build; the networked pool starts filling at the
// first networked Create, so that a host whose actions never ask for a
// network holds none.
type shellPool struct {
	name    string // of its shells: <name>-<seq>
	network bool   // its shells have Spec.Network
	max     int    // shells to keep built once used

	mu      sync.Mutex
	want    int // shells to keep built: max, or 0 until first used
	ready   []*Sandbox
	filling int         // shells being built
	seq     uint64      // names shells
	later   *time.Timer // a refill to come, or nil
	wg      sync.WaitGroup
	ctx     context.Context // ends with the driver
	cancel  context.CancelFunc
}

// shellMemoryMB is the memory size shells are built with, which fixes the
// size of their /tmp.
const shellMemoryMB = defaultMemoryMB

// shellBuild bounds the build of one shell.
const shellBuild = 30 * time.Second

// shellRefillDelay is how long after a take the pool refills, unless it ran
// empty: longer than a cold start (Node.js's is 40-60 ms here).
var shellRefillDelay = 100 * time.Millisecond

// maxNetShells caps the networked pool: fewer actions ask for a network.
const maxNetShells = 2

// newShellPool makes a pool of up to n shells. The networked one waits for
// its first use (see use) before it builds any.
func newShellPool(name string, network bool, n int) *shellPool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &shellPool{name: name, network: network, max: max(n, 0), ctx: ctx, cancel: cancel}
	if !network {
		p.want = p.max
	}
	return p
}

// shellsFor returns the pool whose shells can become a sandbox of spec
// with memMB of memory, or nil.
func (d *Driver) shellsFor(spec sandbox.Spec, memMB int) *shellPool {
	p := d.shells
	if spec.Network {
		p = d.netShells
	}
	if p.max == 0 || min(d.cfg.TmpMB, memMB) != min(d.cfg.TmpMB, shellMemoryMB) {
		return nil
	}
	return p
}

// use starts filling a pool that waited for its first use.
func (p *shellPool) use(d *Driver) {
	p.mu.Lock()
	first := p.want == 0
	p.want = p.max
	p.mu.Unlock()
	if first {
		p.refill(d)
	}
}

// takeShell returns a shell made into the sandbox of spec, or nil when none
// is ready. A shell whose init died, or whose cgroups refuse the limits, is
// destroyed and the next one tried. The sandbox's ID is reserved as a link
// <RunDir>/<id> to the shell's directory: an ID in use is refused, as
// Create refuses it when it builds the sandbox.
func (d *Driver) takeShell(p *shellPool, spec sandbox.Spec, memMB int) (*Sandbox, error) {
	p.use(d)
	defer p.refillAfterTake(d)
	for {
		p.mu.Lock()
		n := len(p.ready)
		if n == 0 {
			p.mu.Unlock()
			return nil, nil
		}
		s := p.ready[n-1]
		p.ready = p.ready[:n-1]
		p.mu.Unlock()
		link := filepath.Join(d.cfg.RunDir, spec.ID)
		if err := os.Symlink(filepath.Base(s.dir), link); err != nil {
			p.put(s)
			return nil, fmt.Errorf("linux sandbox %s: %w", spec.ID, err)
		}
		err := s.cg.setLimits(memMB, d.cfg.PidsMax)
		select {
		case <-s.done:
			err = fmt.Errorf("its init exited: %s", s.ExitReason())
		default:
		}
		if err != nil {
			os.Remove(link)
			d.log.Warn("discarding a sandbox shell", "shell", s.spec.ID, "err", err)
			p.destroy(s)
			continue
		}
		// Nothing else sees the shell yet but its owner goroutine, which
		// reads the spec under mu when the init exits.
		s.memMB.Store(int32(memMB))
		s.mu.Lock()
		s.spec, s.link = spec, link
		s.mu.Unlock()
		return s, nil
	}
}

// put returns an unused shell to the ready ones.
func (p *shellPool) put(s *Sandbox) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ready = append(p.ready, s)
}

// refillAfterTake refills the pool shellRefillDelay from now, or at once
// when no shell is ready.
func (p *shellPool) refillAfterTake(d *Driver) {
	p.mu.Lock()
	empty := len(p.ready) == 0
	if !empty && p.later == nil && p.ctx.Err() == nil {
		p.later = time.AfterFunc(shellRefillDelay, func() {
			p.mu.Lock()
			p.later = nil
			p.mu.Unlock()
			p.refill(d)
		})
	}
	p.mu.Unlock()
	if empty {
		p.refill(d)
	}
}

// refill builds shells up to the wanted number.
func (p *shellPool) refill(d *Driver) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.ready)+p.filling < p.want && p.ctx.Err() == nil {
		p.filling++
		p.seq++
		id := fmt.Sprintf("%s-%d", p.name, p.seq)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.build(d, id)
		}()
	}
}

// build makes one shell and adds it to the ready ones.
func (p *shellPool) build(d *Driver, id string) {
	ctx, cancel := context.WithTimeout(p.ctx, shellBuild)
	s, err := d.create(ctx, sandbox.Spec{ID: id, MemoryMB: shellMemoryMB, Network: p.network}, shellMemoryMB)
	cancel()
	p.mu.Lock()
	p.filling--
	keep := err == nil && p.ctx.Err() == nil
	if keep {
		p.ready = append(p.ready, s)
	}
	p.mu.Unlock()
	switch {
	case keep:
		d.log.Debug("sandbox shell ready", "shell", id)
	case s != nil:
		p.destroy(s) // the driver closed meanwhile
	case p.ctx.Err() == nil:
		d.log.Warn("cannot build a sandbox shell; cold starts build their sandbox", "shell", id, "err", err)
	}
}

// destroy ends a shell that no sandbox will use.
func (p *shellPool) destroy(s *Sandbox) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Destroy(ctx); err != nil {
		s.d.log.Warn("cannot destroy a sandbox shell", "shell", s.spec.ID, "err", err)
	}
}

// close stops building shells, waits for those being built and destroys
// every one left.
func (p *shellPool) close() {
	// Under mu, so that a refill either has added its builds to wg before
	// Wait or sees the pool closed.
	p.mu.Lock()
	p.cancel()
	if p.later != nil {
		p.later.Stop()
		p.later = nil
	}
	p.mu.Unlock()
	p.wg.Wait()
	p.mu.Lock()
	ready := p.ready
	p.ready = nil
	p.mu.Unlock()
	for _, s := range ready {
		p.destroy(s)
	}
}
