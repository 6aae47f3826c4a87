package controller

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gust-faas/gust/internal/bus"
)

// Invoker states reported by Invokers.
const (
	StateUp   = "up"
	StateDown = "down"
)

// InvokerStatus is one invoker as the controller sees it, for the ops
// endpoint and the CLI.
type InvokerStatus struct {
	ID    string `json:"id"`
	State string `json:"state"` // StateUp or StateDown
	// MemoryMB and FreeMB are as the last heartbeat advertised them.
	MemoryMB int `json:"memoryMB"`
	FreeMB   int `json:"freeMB"`
	// InFlightMB is the memory of activations this controller sent to the
	// invoker and has not seen answered.
	InFlightMB int `json:"inFlightMB"`
	// Warm counts the action revisions with an idle warm sandbox.
	Warm     int       `json:"warm"`
	LastSeen time.Time `json:"lastSeen"`
}

// warmKey identifies an action revision, as bus.WarmKey does, without
// building a string on the hot path.
type warmKey struct{ ns, name, rev string }

// parseWarmKey splits bus.WarmKey's "<namespace>/<name>@<rev>". Names may
// contain '@' but not '/'; revisions contain neither.
func parseWarmKey(s string) (warmKey, bool) {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return warmKey{}, false
	}
	slash := strings.LastIndexByte(s[:at], '/')
	if slash <= 0 || slash == at-1 {
		return warmKey{}, false
	}
	return warmKey{ns: s[:slash], name: s[slash+1 : at], rev: s[at+1:]}, true
}

// invoker is one registry entry. id and subject never change; the rest is
// written by the heartbeat handler and read by picks, without a lock.
type invoker struct {
	id      string
	subject string // Subjects.Invoke(id), built once

	lastSeen atomic.Int64 // controller mono ns of the last heartbeat; 0: none
	lastWall atomic.Int64 // wall clock of the same, unix ns, for status
	up       atomic.Bool  // last reported state, for logging transitions

	memoryMB atomic.Int64 // advertised budget
	freeMB   atomic.Int64 // advertised free memory
	othersMB atomic.Int64 // busy memory not placed by this controller
	inflight atomic.Int64 // MB sent by this controller, not yet answered

	warm atomic.Pointer[map[warmKey]struct{}] // idle warm revisions, nil when none
}

// alive compares readings of the controller's clock: lastSeen is 0 until
// the first heartbeat and after the invoker is forgotten, and may be
// negative once backdated by markGone.
func (inv *invoker) alive(now, deadAfter int64) bool {
	ls := inv.lastSeen.Load()
	return ls != 0 && now-ls < deadAfter
}

// load is the busy memory as the controller estimates it.
func (inv *invoker) load() int64 { return inv.othersMB.Load() + inv.inflight.Load() }

// tryAcquire books cost MB when it fits in the invoker's budget.
func (inv *invoker) tryAcquire(cost int64) bool {
	limit := inv.memoryMB.Load() - inv.othersMB.Load()
	for {
		cur := inv.inflight.Load()
		if cur+cost > limit {
			return false
		}
		if inv.inflight.CompareAndSwap(cur, cur+cost) {
			return true
		}
	}
}

func (inv *invoker) release(cost int64) { inv.inflight.Add(-cost) }

func (inv *invoker) isWarm(k *warmKey) bool {
	m := inv.warm.Load()
	if m == nil {
		return false
	}
	_, ok := (*m)[*k]
	return ok
}

// snapshot is an immutable view of the registry's members, sorted by id so
// that every controller computes the same home invoker for an action.
type snapshot struct {
	invs  []*invoker
	steps []int // probe steps coprime to len(invs)
}

func newSnapshot(invs []*invoker) *snapshot {
	slices.SortFunc(invs, func(a, b *invoker) int { return strings.Compare(a.id, b.id) })
	return &snapshot{invs: invs, steps: coprimeSteps(len(invs))}
}

// coprimeSteps lists the steps in [1, n] coprime to n: probing home,
// home+step, ... modulo n with any of them visits every invoker once.
func coprimeSteps(n int) []int {
	steps := []int{1}
	for s := 2; s < n; s++ {
		if gcd(s, n) == 1 {
			steps = append(steps, s)
		}
	}
	return steps
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// registry holds the invokers known from heartbeats.
type registry struct {
	subj bus.Subjects

	mu   sync.Mutex // guards byID and snapshot replacement
	byID map[string]*invoker
	snap atomic.Pointer[snapshot]

	aff affinity
}

func newRegistry(subj bus.Subjects) *registry {
	r := &registry{subj: subj, byID: map[string]*invoker{}}
	r.snap.Store(newSnapshot(nil))
	r.aff.m = map[warmKey]*placement{}
	return r
}

// upsert returns the invoker with id, adding it when new.
func (r *registry) upsert(id string) (inv *invoker, added bool) {
	if inv := r.find(id); inv != nil {
		return inv, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if inv := r.byID[id]; inv != nil {
		return inv, false
	}
	inv = &invoker{id: id, subject: r.subj.Invoke(id)}
	r.byID[id] = inv
	r.publishLocked()
	return inv, true
}

// find looks id up in the current snapshot.
func (r *registry) find(id string) *invoker {
	s := r.snap.Load()
	i, ok := slices.BinarySearchFunc(s.invs, id, func(inv *invoker, id string) int { return strings.Compare(inv.id, id) })
	if !ok {
		return nil
	}
	return s.invs[i]
}

// forget removes invokers silent since before cutoff and returns their ids.
func (r *registry) forget(cutoff int64) []string {
	var gone []string
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, inv := range r.byID {
		if inv.lastSeen.Load() < cutoff {
			delete(r.byID, id)
			inv.lastSeen.Store(0) // never alive again, should a placement memory point at it
			gone = append(gone, id)
		}
	}
	if gone != nil {
		r.publishLocked()
	}
	return gone
}

func (r *registry) publishLocked() {
	invs := make([]*invoker, 0, len(r.byID))
	for _, inv := range r.byID {
		invs = append(invs, inv)
	}
	r.snap.Store(newSnapshot(invs))
}

// heartbeat applies hb, received at now (controller mono ns).
func (r *registry) heartbeat(hb *bus.Heartbeat, now int64, wall time.Time) (inv *invoker, added bool) {
	inv, added = r.upsert(hb.ID)
	mem := int64(max(hb.MemoryMB, 0))
	free := min(max(int64(hb.FreeMB), 0), mem)
	inv.memoryMB.Store(mem)
	inv.freeMB.Store(free)
	// What is busy at the invoker beyond what this controller has in flight
	// belongs to others; this controller's own count is fresher than the
	// heartbeat, so it is kept as is.
	inv.othersMB.Store(max(mem-free-inv.inflight.Load(), 0))
	if len(hb.Warm) == 0 {
		inv.warm.Store(nil)
	} else {
		m := make(map[warmKey]struct{}, len(hb.Warm))
		for _, w := range hb.Warm {
			if k, ok := parseWarmKey(w); ok {
				m[k] = struct{}{}
			}
		}
		inv.warm.Store(&m)
	}
	inv.lastWall.Store(wall.UnixNano())
	inv.lastSeen.Store(now)
	return inv, added
}

// statuses reports every registered invoker, sorted by id.
func (r *registry) statuses(now, deadAfter int64) []InvokerStatus {
	s := r.snap.Load()
	out := make([]InvokerStatus, 0, len(s.invs))
	for _, inv := range s.invs {
		st := InvokerStatus{
			ID:         inv.id,
			State:      StateDown,
			MemoryMB:   int(inv.memoryMB.Load()),
			FreeMB:     int(inv.freeMB.Load()),
			InFlightMB: int(inv.inflight.Load()),
			LastSeen:   time.Unix(0, inv.lastWall.Load()),
		}
		if inv.alive(now, deadAfter) {
			st.State = StateUp
		}
		if m := inv.warm.Load(); m != nil {
			st.Warm = len(*m)
		}
		out = append(out, st)
	}
	return out
}

// placement remembers where this controller last sent an action revision.
type placement struct {
	inv  atomic.Pointer[invoker]
	used atomic.Int64 // controller mono ns
}

// affinity maps action revisions to their last placement. Reads take the
// read lock; the write lock is taken only for a revision's first placement
// and by the sweeper.
type affinity struct {
	mu sync.RWMutex
	m  map[warmKey]*placement
}

func (a *affinity) get(k *warmKey) *placement {
	a.mu.RLock()
	p := a.m[*k]
	a.mu.RUnlock()
	return p
}

// remember records inv for k; p is get's answer, nil when none.
func (a *affinity) remember(p *placement, k *warmKey, inv *invoker, now int64) {
	if p != nil {
		if p.inv.Load() != inv {
			p.inv.Store(inv)
		}
		// Refresh the age at most once a second: the store would bounce the
		// cache line between cores on every call of a hot action.
		if now-p.used.Load() > int64(time.Second) {
			p.used.Store(now)
		}
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if p = a.m[*k]; p == nil {
		p = &placement{}
		a.m[*k] = p
	}
	p.inv.Store(inv)
	p.used.Store(now)
}

// sweep forgets placements unused since before cutoff.
func (a *affinity) sweep(cutoff int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, p := range a.m {
		if p.used.Load() < cutoff {
			delete(a.m, k)
		}
	}
}
