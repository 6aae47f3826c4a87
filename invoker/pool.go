package invoker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/whisk"
)

// poolKey identifies the warm sandboxes of one action revision for one
// invoking namespace. Plain strings, so a lookup hashes without allocating.
type poolKey struct {
	ns       string // invoking namespace
	actionNS string // the action's namespace (with its package)
	name     string
	rev      string
}

// keyPool holds the containers of one key.
type keyPool struct {
	free    clist // ready with room for an activation (or shared and still initializing)
	paused  clist
	n       int // containers of the key not dead
	warmKey string
	// holdNS is a moving average of how long a warm activation holds a
	// container of the key (acquire to release); queue holds the
	// activations waiting for one to come free rather than taking an idle
	// one or starting a new sandbox (see queueMinBusy).
	holdNS int64
	queue  []*waiter
	busy   int // containers of the key (maxConc 1) held by an activation
	// starting counts the containers of the key between their adoption for
	// a cold or prewarmed start and the end of their /init: a scale-out on
	// its way, which queued activations wait for rather than start another.
	starting int
	// startNS is a moving average of how long the key's starts took, from
	// their grant to the end of their /init: what one more would cost a
	// queued activation (see patienceLocked).
	startNS int64
	// releasedNS is when an activation of the key last let go of a
	// container (unix nanoseconds; see stalledLocked).
	releasedNS int64
}

// Queueing for a warm sandbox (as OpenWhisk's FPC scheduler does, the
// sandboxes of an action follow its load, not each request). Once
// queueMinBusy sandboxes of a key (concurrency 1) are busy, a new activation
// of it waits for one of them to come free, even when an idle one exists,
// as long as the expected wait (average hold time × queue position ÷ busy
// sandboxes) is at most queueWarmBudget; past the budget, or when the wait
// runs out (see waitWarm), it takes an idle sandbox or starts one. A slow
// action (held longer than the budget) never queues and scales out as
// before; a fast one stays on a few hot sandboxes, instead of spreading
// over one runtime proxy and one node process per client, all competing
// for the same CPUs. Measured with gust bench (32 clients, one no-op nodejs
// action, 2 cores): the sandboxes' CPU per answer went from 330-500 µs
// with 34 busy sandboxes to 180-270 µs.
//
// The same holds when the busy sandboxes are other actions': once
// queueMinBusy sandboxes of the whole invoker are busy, the CPUs are taken,
// and a fast action's activation that finds its only sandboxes busy (and
// none of them idle) queues for one instead of paying a cold start (tens of
// milliseconds of CPU) that would run no sooner. With 100 no-op actions
// round robin (gust bench's many, 8 clients), two clients meeting on one
// action started a second sandbox of it several times a second.
var queueMinBusy = max(2, 2*runtime.NumCPU())

// scaleOutStarts is how many containers of a fast key may start at once
// (see scaleOutLocked).
var scaleOutStarts = max(1, runtime.NumCPU()/2)

const (
	queueWarmBudget = 10 * time.Millisecond
	startAvgShift   = 1 // moving average of start times, weight 1/2
	holdAvgShift    = 3 // moving average of hold times, weight 1/8
	holdClamp       = 4 // a hold time counts for at most this many times the average
)

// prewarmKey groups interchangeable stem cells.
type prewarmKey struct {
	kind string
	mem  int
}

// prewarmGroup is the stem cells of one (kind, memory) and their
// adaptation counters.
type prewarmGroup struct {
	stems            clist
	starting         int
	target, min, max int
	cold, used       int  // cold starts and stems taken in the current window
	failed           bool // a start failed: do not retry until the next window
}

// demand is what an activation asks of the pool.
type demand struct {
	key     poolKey
	kind    string
	mem     int
	conc    int
	network bool          // outbound network (whisk.AnnNetwork): never a stem cell
	action  *whisk.Action // for the heartbeat's warm key
}

// grant is a pool decision: the container to use and how it was found.
// victims are idle containers evicted to make room; their memory already
// counts for c, and the acquirer destroys them before creating c.
type grant struct {
	c       *container
	start   startKind
	victims []*container
	ready   chan struct{} // wait for a shared container's /init
}

type waiter struct {
	d  demand
	ch chan grant // buffered 1; written under pool.mu
}

// release outcomes.
type relKind uint8

const (
	relOK     relKind = iota // reusable
	relRetire                // never reuse; destroy when the last activation leaves
	relKill                  // destroy now (timeout, crash)
)

// poolConfig is what the pool takes from Config.
type poolConfig struct {
	memoryMB      int
	idleGrace     time.Duration
	idleTimeout   time.Duration
	prewarm       []PrewarmConfig
	prewarmWindow time.Duration
	queueTimeout  time.Duration
	maxLogLine    int
	idPrefix      string
}

// pool owns every sandbox of the invoker. See the package documentation for
// the policy, the lock order and the goroutines.
type pool struct {
	cfg       poolConfig
	drv       sandbox.Driver
	log       *slog.Logger
	newClient func(sandbox.Sandbox, *logCollector) runtimeClient
	seq       atomic.Uint64

	mu      sync.Mutex
	keys    map[poolKey]*keyPool
	lru     clist // fully idle containers (ready, pausing, paused), newest first
	prewarm map[prewarmKey]*prewarmGroup
	all     map[*container]struct{}
	used    int // MB of every container whose memory is still accounted
	busy    int // containers (maxConc 1) held by an activation, all keys: see shouldQueueLocked
	idleMB  int // MB of the containers on lru
	stemMB  int // MB of started stem cells
	waiters []*waiter
	closed  bool

	starts [4]atomic.Uint64 // activations by start kind

	closing chan struct{} // closed by close: wakes waiters
	kick    chan struct{} // wakes the janitor to refill stem cells
	avail   chan struct{} // capacity may have grown (for the async fetch loop)
	wg      sync.WaitGroup
}

func newPool(cfg poolConfig, drv sandbox.Driver, log *slog.Logger, newClient func(sandbox.Sandbox, *logCollector) runtimeClient) *pool {
	p := &pool{
		cfg:       cfg,
		drv:       drv,
		log:       log,
		newClient: newClient,
		keys:      map[poolKey]*keyPool{},
		lru:       clist{slot: slotLRU},
		prewarm:   map[prewarmKey]*prewarmGroup{},
		all:       map[*container]struct{}{},
		closing:   make(chan struct{}),
		kick:      make(chan struct{}, 1),
		avail:     make(chan struct{}, 1),
	}
	for _, pc := range cfg.prewarm {
		p.prewarm[prewarmKey{pc.Kind, pc.MemoryMB}] = &prewarmGroup{
			stems: clist{slot: slotPool}, target: pc.Count, min: pc.Min, max: pc.Max,
		}
	}
	return p
}

// acquire finds or makes a container for d, following the pool policy:
// warm idle, paused (resume), stem cell (prewarmed), new, new after evicting
// idle containers, else wait (FIFO) up to QueueTimeout for memory. A cold
// or prewarmed container comes back started but not initialized
// (start.needsInit()); the caller must then call initialized or release.
func (p *pool) acquire(ctx context.Context, d *demand) (*container, startKind, error) {
	if d.mem > p.cfg.memoryMB {
		return nil, 0, fmt.Errorf("%w: the action needs %d MB, the invoker has %d MB", ErrTooBig, d.mem, p.cfg.memoryMB)
	}
	queued := false // waited for a warm container already: do not again
	for attempt := 0; ; attempt++ {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, 0, ErrShuttingDown
		}
		var g grant
		ok := false
		if !queued {
			if kp, wait := p.shouldQueueLocked(d); wait > 0 {
				queued = true
				w := &waiter{ch: make(chan grant, 1)}
				kp.queue = append(kp.queue, w)
				p.mu.Unlock()
				if g, ok = p.waitWarm(ctx, kp, w, wait); !ok {
					if err := ctx.Err(); err != nil {
						return nil, 0, err
					}
					continue // not served in time: start one (or wait for memory)
				}
				p.mu.Lock()
			}
		}
		if !ok {
			g, ok = p.tryWarmLocked(d)
		}
		if !ok && len(p.waiters) == 0 {
			g, ok = p.tryNewLocked(d)
		}
		if ok {
			p.mu.Unlock()
		} else {
			w := &waiter{d: *d, ch: make(chan grant, 1)}
			p.waiters = append(p.waiters, w)
			p.mu.Unlock()
			var err error
			if g, err = p.wait(ctx, w); err != nil {
				return nil, 0, err
			}
		}
		c, err := p.fulfil(ctx, g)
		if errors.Is(err, errStale) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		p.starts[g.start].Add(1)
		return c, g.start, nil
	}
}

// errStale means the granted container turned out unusable (it died, or
// would not resume): try again.
var errStale = errors.New("stale container")

// errStartFailed tells the activations sharing a container that its sandbox
// did not start; they try again elsewhere.
var errStartFailed = errors.New("the sandbox failed to start")

// initError carries the failure of a shared container's /init to the
// activations that waited for it.
type initError struct{ err error }

func (e *initError) Error() string { return e.err.Error() }
func (e *initError) Unwrap() error { return e.err }

// fulfil turns a grant into a usable container: destroy the victims and
// start a cold one, resume a paused one, or wait for a shared one's /init.
func (p *pool) fulfil(ctx context.Context, g grant) (*container, error) {
	c := g.c
	switch g.start {
	case startCold:
		for _, v := range g.victims {
			p.destroyNow(v)
		}
		if err := p.startSandbox(ctx, c); err != nil {
			p.failStart(c)
			return nil, fmt.Errorf("%w: %w", ErrSandbox, err)
		}
		p.mu.Lock()
		if c.state == cStarting {
			c.state = cInit
		}
		p.mu.Unlock()
	case startResumed:
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.pauser.Resume(rctx)
		cancel()
		if err != nil {
			p.log.Warn("resume failed; destroying the sandbox", "sandbox", c.id, "err", err)
			p.release(c, relKill)
			return nil, errStale
		}
		p.mu.Lock()
		if c.state == cResuming {
			c.state = cReady
			if c.active < c.maxConc && c.on[slotPool] == nil {
				c.kp.free.pushFront(c)
			}
		}
		p.mu.Unlock()
	case startWarm:
		if g.ready != nil {
			select {
			case <-g.ready:
			case <-ctx.Done():
				p.release(c, relOK)
				return nil, ctx.Err()
			}
			if errors.Is(c.initFail, errStartFailed) {
				p.release(c, relOK)
				return nil, errStale
			}
			if c.initFail != nil {
				p.release(c, relOK)
				return nil, &initError{c.initFail}
			}
		}
	}
	return c, nil
}

// wait blocks a waiter until it is granted a container, QueueTimeout
// passes, ctx ends or the pool closes.
func (p *pool) wait(ctx context.Context, w *waiter) (grant, error) {
	t := time.NewTimer(p.cfg.queueTimeout)
	defer t.Stop()
	var err error
	select {
	case g := <-w.ch:
		return g, nil
	case <-t.C:
		err = fmt.Errorf("%w: no memory came free for %v (budget %d MB)", ErrNoCapacity, p.cfg.queueTimeout, p.cfg.memoryMB)
	case <-ctx.Done():
		err = ctx.Err()
	case <-p.closing:
		err = ErrShuttingDown
	}
	p.mu.Lock()
	for i, x := range p.waiters {
		if x == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			p.mu.Unlock()
			return grant{}, err
		}
	}
	p.mu.Unlock()
	// Granted while we gave up: take it; the caller's run fails on its own
	// if ctx has ended, and releases it.
	return <-w.ch, nil
}

// tryWarmLocked takes a warm container of d's key with room, or a paused one.
func (p *pool) tryWarmLocked(d *demand) (grant, bool) {
	kp := p.keys[d.key]
	if kp == nil {
		return grant{}, false
	}
	for c := kp.free.front(); c != nil; {
		next := kp.free.next(c)
		if c.state == cReady && c.done() {
			p.dropLocked(c)
			p.destroyLater(c)
			c = next
			continue
		}
		c.active++
		if c.maxConc == 1 {
			p.addBusyLocked(kp, 1)
		}
		if c.active >= c.maxConc {
			kp.free.remove(c)
		}
		if c.active == 1 && c.on[slotLRU] != nil {
			p.lru.remove(c)
			p.idleMB -= c.mem
		}
		if c.maxConc == 1 {
			c.heldSince = time.Now().UnixNano()
		}
		return grant{c: c, start: startWarm, ready: c.ready}, true
	}
	for c := kp.paused.front(); c != nil; c = kp.paused.front() {
		p.dropLocked(c) // off the paused list and the LRU, then back in
		if c.done() {
			p.destroyLater(c)
			continue
		}
		p.adoptLocked(c, d, cResuming)
		return grant{c: c, start: startResumed}, true
	}
	return grant{}, false
}

// tryNewLocked takes a stem cell, or reserves memory (evicting idle
// containers if needed) for a cold start.
func (p *pool) tryNewLocked(d *demand) (grant, bool) {
	pk := prewarmKey{d.kind, d.mem}
	pg := p.prewarm[pk]
	if d.network {
		pg = nil // stem cells have no network, and none are kept for one
	}
	if pg != nil {
		for c := pg.stems.front(); c != nil; c = pg.stems.front() {
			p.dropLocked(c)
			if c.done() {
				p.destroyLater(c)
				continue
			}
			pg.used++
			p.adoptLocked(c, d, cInit)
			c.refill = true
			c.startedAt = time.Now().UnixNano()
			return grant{c: c, start: startPrewarmed, ready: nil}, true
		}
	}
	victims, ok := p.reserveLocked(d.mem)
	if !ok {
		return grant{}, false
	}
	if pg == nil && d.kind != whisk.KindBlackbox && !d.network {
		pg = &prewarmGroup{stems: clist{slot: slotPool}, max: DefaultAdaptiveMax}
		p.prewarm[pk] = pg
	}
	if pg != nil {
		pg.cold++
	}
	c := &container{id: p.nextID(), kind: d.kind, mem: d.mem, network: d.network, state: cStarting, startedAt: time.Now().UnixNano()}
	p.all[c] = struct{}{}
	p.adoptLocked(c, d, cStarting)
	return grant{c: c, start: startCold, victims: victims}, true
}

// adoptLocked makes c a container of d's key, held by one activation.
// A shared container (maxConc > 1) goes on the free list at once, so that
// concurrent activations join it while it initializes.
func (p *pool) adoptLocked(c *container, d *demand, st cstate) {
	kp := p.keys[d.key]
	if kp == nil {
		kp = &keyPool{free: clist{slot: slotPool}, paused: clist{slot: slotPool}, warmKey: bus.WarmKey(d.action)}
		p.keys[d.key] = kp
	}
	kp.n++
	if st == cStarting || st == cInit {
		kp.starting++
	}
	c.key, c.kp, c.state = d.key, kp, st
	c.maxConc, c.active = max(d.conc, 1), 1
	if c.maxConc == 1 {
		p.addBusyLocked(kp, 1)
	}
	if st != cResuming && c.maxConc > 1 {
		c.ready = make(chan struct{})
		kp.free.pushFront(c)
	}
}

// reserveLocked accounts mem MB for a new container, evicting least
// recently used idle containers, then stem cells, when the budget is full.
// It evicts nothing unless that makes enough room.
func (p *pool) reserveLocked(mem int) ([]*container, bool) {
	need := p.used + mem - p.cfg.memoryMB
	if need <= 0 {
		p.used += mem
		return nil, true
	}
	evictable := func(c *container) bool { return c.state == cReady || c.state == cPaused }
	free := 0
	for c := p.lru.back(); c != nil && free < need; c = p.lru.prev(c) {
		if evictable(c) {
			free += c.mem
		}
	}
	for _, pg := range p.prewarm {
		for c := pg.stems.back(); c != nil && free < need; c = pg.stems.prev(c) {
			free += c.mem
		}
	}
	if free < need {
		return nil, false
	}
	var victims []*container
	for c := p.lru.back(); c != nil && need > 0; {
		prev := p.lru.prev(c)
		if evictable(c) {
			victims = append(victims, c)
			need -= c.mem
		}
		c = prev
	}
	for _, pg := range p.prewarm {
		for c := pg.stems.back(); c != nil && need > 0; c = pg.stems.back() {
			victims = append(victims, c)
			need -= c.mem
			p.dropLocked(c)
		}
	}
	for _, v := range victims {
		p.dropLocked(v)
		v.freed, v.destroyer = true, true
		p.used -= v.mem
		delete(p.all, v)
	}
	p.used += mem
	return victims, true
}

// dropLocked takes c off every list; it stays accounted until destroyed.
// A dropped container that is not being resumed or handed over is dead.
func (p *pool) dropLocked(c *container) {
	if l := c.on[slotLRU]; l != nil {
		l.remove(c)
		p.idleMB -= c.mem
	}
	if l := c.on[slotPool]; l != nil {
		l.remove(c)
		if c.state == cStem {
			p.stemMB -= c.mem
		}
	}
	if c.kp != nil {
		if c.active > 0 && c.maxConc == 1 {
			p.addBusyLocked(c.kp, -1)
		}
		if c.state == cStarting || c.state == cInit {
			c.kp.starting--
		}
		c.kp.n--
		if c.kp.n == 0 && p.keys[c.key] == c.kp {
			delete(p.keys, c.key)
		}
		c.kp = nil
	}
	c.state = cDead
}

// initialized marks a container that passed /init ready for more work.
func (p *pool) initialized(c *container) {
	p.mu.Lock()
	if c.state == cInit {
		c.state = cReady
		c.kp.starting--
	}
	if c.startedAt != 0 && c.kp != nil {
		c.kp.startNS = movingAvg(c.kp.startNS, time.Now().UnixNano()-c.startedAt, startAvgShift)
		c.startedAt = 0
	}
	if c.ready != nil {
		close(c.ready)
		c.ready = nil
	}
	p.mu.Unlock()
}

// initFailed records a shared container's /init failure for the
// activations waiting on it and releases the caller's hold.
func (p *pool) initFailed(c *container, err error) {
	p.mu.Lock()
	if c.ready != nil {
		c.initFail = err
		close(c.ready)
		c.ready = nil
	}
	p.mu.Unlock()
	p.release(c, relKill)
}

// release ends one activation's hold on c. relOK returns it to the warm
// pool; relRetire and relKill take it out, relKill destroying it at once
// (in the caller's goroutine: the sandbox is gone when release returns),
// relRetire when the last activation leaves.
func (p *pool) release(c *container, how relKind) {
	p.mu.Lock()
	if c.refill {
		// Its replacement starts now that the stem cell's first activation
		// is over: started at once, it took a core from that /init and
		// /run (the janitor's sweep refills anyway if this one runs long).
		c.refill = false
		p.poke(p.kick)
	}
	c.active--
	if c.active == 0 && c.maxConc == 1 && c.kp != nil {
		p.addBusyLocked(c.kp, -1)
	}
	if how == relOK && c.state != cDead && !c.retired && !p.closed {
		if c.maxConc == 1 && c.state == cReady && p.handOverLocked(c) {
			p.mu.Unlock()
			return
		}
		if c.state == cReady || c.state == cInit || c.state == cStarting {
			// cInit/cStarting: a shared container's joiner left early.
			if c.active < c.maxConc && c.on[slotPool] == nil {
				c.kp.free.pushFront(c)
			}
			if c.active == 0 && c.state == cReady {
				c.idleSince = time.Now()
				p.lru.pushFront(c)
				p.idleMB += c.mem
				p.poke(p.avail)
			}
		}
		if len(p.waiters) > 0 {
			p.serveWaitersLocked()
		}
		p.mu.Unlock()
		return
	}
	if how == relRetire {
		c.retired = true
	}
	if c.state != cDead {
		p.dropLocked(c)
	}
	destroy := !c.destroyer && (how == relKill || c.active <= 0 || p.closed)
	if destroy {
		c.destroyer = true
	}
	p.mu.Unlock()
	if destroy {
		p.destroyNow(c)
	}
}

// addBusyLocked counts n more (or fewer) containers of kp held by an
// activation.
func (p *pool) addBusyLocked(kp *keyPool, n int) {
	kp.busy += n
	p.busy += n
}

// shouldQueueLocked says whether d should wait for a busy warm container of
// its key, and for how long at most: the rule is described at queueMinBusy.
func (p *pool) shouldQueueLocked(d *demand) (*keyPool, time.Duration) {
	if d.conc != 1 || len(p.waiters) > 0 {
		return nil, 0
	}
	kp := p.keys[d.key]
	if kp == nil || kp.busy == 0 {
		return nil, 0
	}
	if kp.busy < queueMinBusy && (p.busy < queueMinBusy || kp.free.len() > 0) {
		return nil, 0 // room on the CPUs, or an idle sandbox of its own
	}
	if kp.holdNS > 0 && time.Duration(kp.holdNS*int64(len(kp.queue)+1)/int64(kp.busy)) <= queueWarmBudget {
		return kp, queueWarmBudget // the expected wait for a busy one is short
	}
	if p.scaleOutLocked(kp) {
		return kp, queueWarmBudget
	}
	return nil, 0
}

// stalledLocked says whether an activation of kp queued since since (unix
// nanoseconds) should wait on at now because the key's sandboxes have all
// stopped answering, none released for queueWarmBudget: the host stalls.
// A fast action's runs are then held far past their average: with 100
// no-op Node.js actions round robin (gust bench's many), hundreds of runs a
// minute were held 8 to 108 ms, in bursts of a few seconds. An activation
// queued behind them started a sandbox when its wait ran out, and that
// cold start, made on a loaded host, answered it a few hundred
// milliseconds later. It waits on for patienceLocked at most. When the
// key's sandboxes do answer and the queue still does not reach it, the
// key needs more sandboxes, and it starts one as before.
func stalledLocked(kp *keyPool, since, now int64) bool {
	return now-kp.releasedNS >= int64(queueWarmBudget) && now-since < int64(patienceLocked(kp))
}

// patienceLocked is how long a queued activation of a stalled key waits
// for a busy sandbox: as long as a start of the key takes, and
// queueWarmBudget at least. Waiting up to the price of the alternative and
// then paying it costs at most twice the better choice made in hindsight
// (the ski-rental rule).
func patienceLocked(kp *keyPool) time.Duration {
	return max(queueWarmBudget, time.Duration(kp.startNS))
}

// scaleOutLocked says whether a key has as many sandboxes starting as it
// may at once: then its activations queue for them, or for a release, even
// past the budget, instead of each starting one more. A fast key (held at
// most queueWarmBudget) starts scaleOutStarts at a time, its busy sandboxes
// serving the queue meanwhile; any other, queueMinBusy. Starts are
// CPU-bound, so more at once bring none sooner: gust bench's burst (64
// clients at once on a new no-op action, 2 cores) started 64 sandboxes and
// had its first answers after 0.9-1.7 s (p50); throughput-c32 (one action,
// 32 clients) made 22-26 cold starts in 2 of 12 runs, with a max latency of
// 0.5-1 s, when every queued activation whose wait ran out started its own.
func (p *pool) scaleOutLocked(kp *keyPool) bool {
	limit := queueMinBusy
	if kp.holdNS > 0 && kp.holdNS <= int64(queueWarmBudget) {
		limit = scaleOutStarts
	}
	return kp.starting >= limit
}

// waitWarm waits up to limit for release to hand w a container of kp, and
// for as long again each time limit passes while the key's scale-out is
// under way (see scaleOutLocked) or its sandboxes stall (stalledLocked).
// false: not served (time out, ctx ended, pool closing); the caller goes on
// to start one, and hears of a closed pool or ended ctx there.
func (p *pool) waitWarm(ctx context.Context, kp *keyPool, w *waiter, limit time.Duration) (grant, bool) {
	t := time.NewTimer(limit)
	defer t.Stop()
	since := time.Now().UnixNano()
	for wait := true; wait; {
		select {
		case g := <-w.ch:
			return g, true
		case <-t.C:
			p.mu.Lock()
			wait = p.scaleOutLocked(kp) || stalledLocked(kp, since, time.Now().UnixNano())
			p.mu.Unlock()
			t.Reset(limit)
		case <-ctx.Done():
			wait = false
		case <-p.closing:
			wait = false
		}
	}
	p.mu.Lock()
	for i, x := range kp.queue {
		if x == w {
			kp.queue = append(kp.queue[:i], kp.queue[i+1:]...)
			p.mu.Unlock()
			return grant{}, false
		}
	}
	p.mu.Unlock()
	return <-w.ch, true // handed over while giving up: take it
}

// handOverLocked ends a warm activation's hold on c (maxConc 1, ready,
// active already decremented): it updates the key's hold time and gives c
// straight to the first activation queued for the key, if any.
func (p *pool) handOverLocked(c *container) bool {
	kp := c.kp
	now := time.Now().UnixNano()
	kp.releasedNS = now
	if c.heldSince > 0 {
		held := now - c.heldSince
		if kp.holdNS > 0 {
			// One sample moves the average up by at most 3/8: a stall of
			// the host (a GC, a slow phase of a VM) holding one activation
			// for 70 ms made a 2 ms action look slow (hold > queueWarmBudget)
			// and every queued activation started a sandbox. An action
			// that did become slow still crosses the budget within a few
			// dozen activations.
			held = min(held, holdClamp*kp.holdNS)
		}
		kp.holdNS = movingAvg(kp.holdNS, held, holdAvgShift)
		c.heldSince = 0
	}
	if len(kp.queue) == 0 {
		return false
	}
	w := kp.queue[0]
	kp.queue[0] = nil
	kp.queue = kp.queue[1:]
	c.active++
	p.addBusyLocked(kp, 1)
	c.heldSince = now
	w.ch <- grant{c: c, start: startWarm}
	return true
}

// movingAvg adds sample x to avg, an exponential moving average of weight
// 1/2^shift; the first sample (avg 0) becomes the average.
func movingAvg(avg, x int64, shift uint) int64 {
	if avg == 0 {
		return x
	}
	return avg + (x-avg)>>shift
}

// destroyNow destroys c in the calling goroutine, then returns its memory
// to the budget and serves waiters.
func (p *pool) destroyNow(c *container) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := c.destroy(ctx)
	cancel()
	if err != nil {
		p.log.Warn("destroying a sandbox failed", "sandbox", c.id, "err", err)
	}
	p.mu.Lock()
	if !c.freed {
		c.freed = true
		p.used -= c.mem
		delete(p.all, c)
	}
	if len(p.waiters) > 0 {
		p.serveWaitersLocked()
	}
	p.mu.Unlock()
	p.poke(p.avail)
	p.poke(p.kick)
}

// destroyLater destroys a dead container on a pool goroutine. p.mu is held.
func (p *pool) destroyLater(c *container) {
	if c.destroyer {
		return
	}
	c.destroyer = true
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.destroyNow(c)
	}()
}

// serveWaitersLocked grants what it can to the waiters: a warm container of
// its key to any waiter, memory strictly in arrival order (a small
// activation does not overtake a large one that waits for memory).
func (p *pool) serveWaitersLocked() {
	if p.closed {
		return // the waiters leave with ErrShuttingDown
	}
	memBlocked := false
	kept := p.waiters[:0]
	for _, w := range p.waiters {
		g, ok := p.tryWarmLocked(&w.d)
		if !ok && !memBlocked {
			if g, ok = p.tryNewLocked(&w.d); !ok {
				memBlocked = true
			}
		}
		if ok {
			w.ch <- g
			continue
		}
		kept = append(kept, w)
	}
	clear(p.waiters[len(kept):])
	p.waiters = kept
}

// startSandbox creates and starts c's sandbox with its log pipes.
func (p *pool) startSandbox(ctx context.Context, c *container) error {
	logs, err := newLogCollector(p.cfg.maxLogLine)
	if err != nil {
		return err
	}
	out, errw := logs.writers()
	sb, err := p.drv.Create(ctx, sandbox.Spec{ID: c.id, Kind: c.kind, MemoryMB: c.mem, Network: c.network, Stdout: out, Stderr: errw})
	if err != nil {
		logs.close(time.Second)
		return err
	}
	if err := sb.Start(ctx); err != nil {
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if derr := sb.Destroy(dctx); derr != nil {
			p.log.Warn("destroying a sandbox that failed to start", "sandbox", c.id, "err", derr)
		}
		cancel()
		logs.close(time.Second)
		return err
	}
	c.sb, c.logs = sb, logs
	c.pauser, _ = sb.(sandbox.Pauser)
	c.rt = p.newClient(sb, logs)
	return nil
}

// failStart takes a container whose sandbox did not start out of the pool.
func (p *pool) failStart(c *container) {
	p.mu.Lock()
	if c.ready != nil {
		c.initFail = errStartFailed
		close(c.ready)
		c.ready = nil
	}
	p.dropLocked(c)
	c.destroyer = true
	if !c.freed {
		c.freed = true
		p.used -= c.mem
		delete(p.all, c)
	}
	if len(p.waiters) > 0 {
		p.serveWaitersLocked()
	}
	p.mu.Unlock()
}

func (p *pool) nextID() string {
	return p.cfg.idPrefix + strconv.FormatUint(p.seq.Add(1), 10)
}

// poke signals ch without blocking.
func (p *pool) poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// freeMB is the memory not held by busy containers: idle and stem cells
// count as free, since they can be evicted.
func (p *pool) freeMB() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg.memoryMB - p.used + p.idleMB + p.stemMB
}

// Stats is a snapshot of the sandbox pool.
type Stats struct {
	MemoryMB int `json:"memoryMB"` // the budget
	UsedMB   int `json:"usedMB"`   // held by all sandboxes
	FreeMB   int `json:"freeMB"`   // not held by busy sandboxes
	// Sandboxes by state.
	Starting  int `json:"starting"`
	Busy      int `json:"busy"`
	Idle      int `json:"idle"`
	Paused    int `json:"paused"`
	Prewarmed int `json:"prewarmed"`
	// Waiting activations queued for memory.
	Waiting int `json:"waiting"`
	// Activations by start kind since the invoker started.
	WarmStarts    uint64 `json:"warmStarts"`
	ResumedStarts uint64 `json:"resumedStarts"`
	PrewarmStarts uint64 `json:"prewarmStarts"`
	ColdStarts    uint64 `json:"coldStarts"`
	// WarmKeys are the heartbeat's warm action revisions.
	WarmKeys []string `json:"warmKeys,omitempty"`
}

func (p *pool) stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{
		MemoryMB: p.cfg.memoryMB, UsedMB: p.used, FreeMB: p.cfg.memoryMB - p.used + p.idleMB + p.stemMB,
		Waiting:    len(p.waiters),
		WarmStarts: p.starts[startWarm].Load(), ResumedStarts: p.starts[startResumed].Load(),
		PrewarmStarts: p.starts[startPrewarmed].Load(), ColdStarts: p.starts[startCold].Load(),
	}
	for c := range p.all {
		switch c.state {
		case cStarting:
			s.Starting++
		case cStem:
			s.Prewarmed++
		case cPaused, cPausing:
			s.Paused++
		case cReady:
			if c.active == 0 {
				s.Idle++
			} else {
				s.Busy++
			}
		default:
			s.Busy++
		}
	}
	for _, kp := range p.keys {
		if kp.free.len() > 0 || kp.paused.len() > 0 {
			s.WarmKeys = append(s.WarmKeys, kp.warmKey)
		}
	}
	return s
}

// idPrefix makes sandbox ids "<invoker id>-<random>-<n>" from the characters
// drivers accept, unique across restarts of the invoker.
func idPrefix(invokerID string) string {
	b := make([]byte, 0, 40)
	for i := 0; i < len(invokerID) && len(b) < 24; i++ {
		c := invokerID[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	return fmt.Sprintf("%s-%04x-", b, rand.Uint32()&0xffff)
}
