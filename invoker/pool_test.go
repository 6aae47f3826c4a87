package invoker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/whisk"
)

func testPool(t *testing.T, drv *fakeDriver, mutate func(*poolConfig)) *pool {
	t.Helper()
	cfg := poolConfig{
		memoryMB:      1024,
		idleGrace:     time.Hour,
		idleTimeout:   2 * time.Hour,
		prewarmWindow: time.Hour,
		queueTimeout:  5 * time.Second,
		maxLogLine:    1024,
		idPrefix:      "t-",
	}
	if mutate != nil {
		mutate(&cfg)
	}
	p := newPool(cfg, drv, discardLogger(), func(sandbox.Sandbox, *logCollector) runtimeClient { return nopClient{} })
	t.Cleanup(p.close)
	return p
}

func dem(name string, mem int) *demand {
	a := &whisk.Action{Namespace: "guest", Name: name, Rev: "1"}
	return &demand{key: poolKey{ns: "guest", actionNS: "guest", name: name, rev: "1"}, kind: whisk.KindNode, mem: mem, conc: 1, action: a}
}

// take acquires for d and marks a fresh container initialized, as an
// activation does; it fails the test on error.
func take(t *testing.T, p *pool, d *demand, want startKind) *container {
	t.Helper()
	c, start, err := p.acquire(context.Background(), d)
	if err != nil {
		t.Fatalf("acquire %s: %v", d.key.name, err)
	}
	if start != want {
		t.Fatalf("acquire %s: start = %v, want %v", d.key.name, start, want)
	}
	if start.needsInit() {
		p.initialized(c)
	}
	return c
}

func fakeOf(c *container) *fakeSandbox {
	switch s := c.sb.(type) {
	case *fakeSandbox:
		return s
	case *fakePausable:
		return s.fakeSandbox
	}
	panic("not a fake sandbox")
}

// eventually polls cond for up to 5 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestPoolWarmReuse(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, nil)
	a := dem("a", 256)
	c1 := take(t, p, a, startCold)
	p.release(c1, relOK)
	c2 := take(t, p, a, startWarm)
	if c1 != c2 {
		t.Fatalf("warm acquire returned another container")
	}
	// A second concurrent activation of the same action needs its own.
	c3 := take(t, p, a, startCold)
	if c3 == c1 {
		t.Fatalf("a busy container was handed out twice")
	}
	// Another invoking namespace never shares the sandbox.
	other := dem("a", 256)
	other.key.ns = "other"
	p.release(c2, relOK)
	take(t, p, other, startCold)
	if got := len(drv.sandboxes()); got != 3 {
		t.Fatalf("sandboxes created = %d, want 3", got)
	}
	s := p.stats()
	if s.UsedMB != 768 || s.Busy != 2 || s.Idle != 1 {
		t.Fatalf("stats = %+v, want 768 MB used, 2 busy, 1 idle", s)
	}
	if s.FreeMB != 1024-512 {
		t.Fatalf("FreeMB = %d, want %d (idle counts as free)", s.FreeMB, 1024-512)
	}
}

func TestPoolEvictsLRU(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, func(c *poolConfig) { c.memoryMB = 768 })
	ca := take(t, p, dem("a", 256), startCold)
	cb := take(t, p, dem("b", 256), startCold)
	cc := take(t, p, dem("c", 256), startCold)
	p.release(ca, relOK) // a is the least recently used
	p.release(cc, relOK)
	p.release(cb, relOK)
	// d needs 512 MB: a and c (the two oldest idle) must go, b stays.
	cd := take(t, p, dem("d", 512), startCold)
	if !fakeOf(ca).destroyed.Load() || !fakeOf(cc).destroyed.Load() {
		t.Fatalf("the least recently used sandboxes were not evicted")
	}
	if fakeOf(cb).destroyed.Load() {
		t.Fatalf("the most recently used sandbox was evicted")
	}
	if s := p.stats(); s.UsedMB != 768 {
		t.Fatalf("UsedMB = %d, want 768", s.UsedMB)
	}
	// b is still warm.
	if got := take(t, p, dem("b", 256), startWarm); got != cb {
		t.Fatalf("b is not warm any more")
	}
	p.release(cd, relOK)
}

func TestPoolNoEvictionOfBusy(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, func(c *poolConfig) { c.memoryMB = 512; c.queueTimeout = 50 * time.Millisecond })
	ca := take(t, p, dem("a", 256), startCold)
	cb := take(t, p, dem("b", 256), startCold)
	p.release(cb, relOK)
	// 512 MB wanted, 256 idle + 0 free: evicting b would not be enough,
	// so nothing is evicted and the activation waits, then fails.
	_, _, err := p.acquire(context.Background(), dem("c", 512))
	if !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("err = %v, want ErrNoCapacity", err)
	}
	if fakeOf(cb).destroyed.Load() || fakeOf(ca).destroyed.Load() {
		t.Fatalf("a sandbox was evicted for nothing")
	}
	if _, _, err := p.acquire(context.Background(), dem("huge", 1024)); !errors.Is(err, ErrTooBig) {
		t.Fatalf("err = %v, want ErrTooBig", err)
	}
}

func TestPoolIdlePauseAndDestroy(t *testing.T) {
	drv := &fakeDriver{pausable: true}
	p := testPool(t, drv, func(c *poolConfig) {
		c.idleGrace = 20 * time.Millisecond
		c.idleTimeout = 300 * time.Millisecond
	})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { p.janitor(stop); close(done) }()
	defer func() { close(stop); <-done }()

	a := dem("a", 256)
	c := take(t, p, a, startCold)
	p.release(c, relOK)
	fs := fakeOf(c)
	eventually(t, "pause", func() bool { return fs.paused.Load() })
	if s := p.stats(); s.Paused != 1 || len(s.WarmKeys) != 1 {
		t.Fatalf("stats = %+v, want 1 paused and its warm key", s)
	}
	c2 := take(t, p, a, startResumed)
	if c2 != c || fs.resumes.Load() != 1 || fs.paused.Load() {
		t.Fatalf("the paused sandbox was not resumed and reused")
	}
	p.release(c2, relOK)
	eventually(t, "pause again", func() bool { return fs.pauses.Load() == 2 })
	eventually(t, "scale to zero", func() bool {
		s := p.stats()
		return fs.destroyed.Load() && s.UsedMB == 0 && s.Paused+s.Idle+s.Busy == 0 && len(s.WarmKeys) == 0
	})
	take(t, p, a, startCold)
}

func TestPoolDeadSandboxNeverReused(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, nil)
	a := dem("a", 256)
	c := take(t, p, a, startCold)
	p.release(c, relOK)
	fakeOf(c).die() // crashed while idle
	c2 := take(t, p, a, startCold)
	if c2 == c {
		t.Fatalf("a dead sandbox was reused")
	}
	eventually(t, "the dead sandbox destroyed", func() bool { return fakeOf(c).destroyed.Load() })

	// A developer error retires the sandbox.
	p.release(c2, relRetire)
	if !fakeOf(c2).destroyed.Load() {
		t.Fatalf("a retired sandbox was not destroyed")
	}
	c3 := take(t, p, a, startCold)
	// A kill (timeout) destroys it before release returns.
	p.release(c3, relKill)
	if !fakeOf(c3).destroyed.Load() {
		t.Fatalf("a killed sandbox was not destroyed")
	}
	eventually(t, "memory returned", func() bool { return p.stats().UsedMB == 0 })
}

// stemPool is a pool of 4 GB keeping nodejs 256 MB stem cells (one, at
// least minStems, at most 2), with its first one started; stems counts them.
func stemPool(t *testing.T, minStems int) (p *pool, stems func() int) {
	t.Helper()
	p = testPool(t, &fakeDriver{}, func(c *poolConfig) {
		c.memoryMB = 4096
		c.prewarm = []PrewarmConfig{{Kind: whisk.KindNode, MemoryMB: 256, Count: 1, Min: minStems, Max: 2}}
	})
	stems = func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.prewarm[prewarmKey{whisk.KindNode, 256}].stems.len()
	}
	p.refill()
	eventually(t, "one stem cell", func() bool { return stems() == 1 })
	return p, stems
}

func TestPoolPrewarmUseAndAdapt(t *testing.T) {
	p, stems := stemPool(t, 0)

	ca := take(t, p, dem("a", 256), startPrewarmed)
	if ca.kind != whisk.KindNode || ca.mem != 256 {
		t.Fatalf("stem cell of %s %d MB", ca.kind, ca.mem)
	}
	// No stem left (refill has not run): a cold start, counted.
	take(t, p, dem("b", 256), startCold)
	// Another memory size does not match the stem cells.
	p.refill()
	eventually(t, "refilled", func() bool { return stems() == 1 })
	take(t, p, dem("c", 512), startCold)

	p.adapt() // cold starts in the window: grow to 2
	p.refill()
	eventually(t, "grown to two stem cells", func() bool { return stems() == 2 })
	// (nodejs, 512) is not configured but saw a cold start: it got an
	// adaptive group, now with one stem cell.
	p.mu.Lock()
	g := p.prewarm[prewarmKey{whisk.KindNode, 512}]
	p.mu.Unlock()
	if g == nil {
		t.Fatalf("no adaptive group for nodejs 512 MB")
	}
	eventually(t, "adaptive stem", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return g.stems.len() == 1 && g.target == 1
	})
	take(t, p, dem("d", 512), startPrewarmed)

	p.adapt() // unused window: shrink to 1
	p.refill()
	eventually(t, "shrunk to one", func() bool { return stems() == 1 })
	p.adapt()
	p.refill()
	eventually(t, "shrunk to zero", func() bool { return stems() == 0 })
	p.adapt()
	p.refill()
	if n := stems(); n != 0 {
		t.Fatalf("stems = %d below Min 0", n)
	}
}

// TestPoolNetworkNeverStemCell: an action that opts in to the network gets
// a sandbox built with one, never a stem cell (which has none), and its
// cold starts grow no stem cells.
func TestPoolNetworkNeverStemCell(t *testing.T) {
	p, stems := stemPool(t, 1)

	for _, mem := range []int{256, 512} {
		d := dem(fmt.Sprintf("net-%d", mem), mem)
		d.network = true
		c := take(t, p, d, startCold)
		if !fakeOf(c).spec.Network {
			t.Errorf("%d MB: the sandbox was created without Spec.Network", mem)
		}
	}
	if n := stems(); n != 1 {
		t.Fatalf("%d stem cells after the networked cold starts, want the 1 left alone", n)
	}
	p.adapt()
	p.mu.Lock()
	target, adaptive := p.prewarm[prewarmKey{whisk.KindNode, 256}].target, p.prewarm[prewarmKey{whisk.KindNode, 512}]
	p.mu.Unlock()
	if target != 1 || adaptive != nil {
		t.Errorf("after networked cold starts: target %d (want 1: they do not count), adaptive group for 512 MB %v (want none)", target, adaptive)
	}
	c := take(t, p, dem("plain", 256), startPrewarmed)
	if fakeOf(c).spec.Network {
		t.Error("a stem cell was created with Spec.Network")
	}
}

func TestPoolStemsEvictedForWork(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, func(c *poolConfig) {
		c.memoryMB = 512
		c.prewarm = []PrewarmConfig{{Kind: whisk.KindPython, MemoryMB: 256, Count: 2, Max: 2}}
	})
	p.refill()
	eventually(t, "two stem cells", func() bool { return p.stats().Prewarmed == 2 })
	c := take(t, p, dem("a", 256), startCold) // nodejs: no matching stem, evicts one
	if got := p.stats(); got.Prewarmed != 1 || got.UsedMB != 512 {
		t.Fatalf("stats = %+v, want 1 stem cell left, 512 MB used", got)
	}
	// Refill must not evict: the budget is full.
	p.refill()
	time.Sleep(20 * time.Millisecond)
	if got := p.stats(); got.Prewarmed != 1 || got.Starting != 0 {
		t.Fatalf("refill over budget: %+v", got)
	}
	p.release(c, relOK)
}

func TestPoolFIFOWaitForMemory(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, func(c *poolConfig) { c.memoryMB = 512 })
	ca := take(t, p, dem("a", 256), startCold)
	cb := take(t, p, dem("b", 128), startCold)
	// 128 MB free. c (256 MB) must wait; d (128 MB) would fit but must not
	// overtake c.
	type got struct {
		name string
		c    *container
		err  error
	}
	order := make(chan got, 2)
	acq := func(d *demand) {
		c, _, err := p.acquire(context.Background(), d)
		order <- got{d.key.name, c, err}
	}
	go acq(dem("c", 256))
	eventually(t, "c waiting", func() bool { return p.stats().Waiting == 1 })
	go acq(dem("d", 128))
	eventually(t, "d waiting", func() bool { return p.stats().Waiting == 2 })

	select {
	case g := <-order:
		t.Fatalf("%s was granted while c waited first", g.name)
	case <-time.After(20 * time.Millisecond):
	}
	p.release(cb, relKill) // 256 MB free: c fits, and then nothing is left for d
	first := <-order
	if first.err != nil || first.name != "c" {
		t.Fatalf("granted %s (%v), want c", first.name, first.err)
	}
	if w := p.stats().Waiting; w != 1 {
		t.Fatalf("waiting = %d, want d still waiting", w)
	}
	p.release(ca, relKill)
	second := <-order
	if second.err != nil || second.name != "d" {
		t.Fatalf("granted %s (%v), want d", second.name, second.err)
	}
	p.initialized(first.c)
	p.initialized(second.c)
	cb = first.c

	// c and d hold 384 MB, 128 are free: a waiter for c (256) gets the
	// warm c when it comes free, not a new sandbox.
	go acq(dem("c", 256))
	eventually(t, "c waiting", func() bool { return p.stats().Waiting == 1 })
	p.release(cb, relOK)
	if g := <-order; g.err != nil || g.c != cb {
		t.Fatalf("waiter for c got %+v, want the warm c", g)
	}

	// A bounded wait.
	p.cfg.queueTimeout = 30 * time.Millisecond
	if _, _, err := p.acquire(context.Background(), dem("e", 256)); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("err = %v, want ErrNoCapacity", err)
	}
	if p.stats().Waiting != 0 {
		t.Fatalf("a timed out waiter stayed queued")
	}
}

func TestPoolConcurrentSandbox(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, nil)
	d := dem("conc", 256)
	d.conc = 3
	c1, start, err := p.acquire(context.Background(), d)
	if err != nil || start != startCold {
		t.Fatalf("first acquire: %v %v", start, err)
	}
	// Two more join the same sandbox while it initializes and wait for it.
	joined := make(chan *container, 2)
	for range 2 {
		go func() {
			c, start, err := p.acquire(context.Background(), d)
			if err != nil || start != startWarm {
				t.Errorf("joiner: %v %v", start, err)
			}
			joined <- c
		}()
	}
	select {
	case <-joined:
		t.Fatalf("a joiner ran before /init finished")
	case <-time.After(30 * time.Millisecond):
	}
	p.initialized(c1)
	for range 2 {
		if c := <-joined; c != c1 {
			t.Fatalf("joiner got another sandbox")
		}
	}
	// Full: a fourth activation gets a new sandbox.
	c4 := take(t, p, d, startCold)
	if c4 == c1 {
		t.Fatalf("a full sandbox took a fourth activation")
	}
	p.release(c1, relOK)
	if c := take(t, p, d, startWarm); c != c1 && c != c4 {
		t.Fatalf("no room after a release")
	}

	// A shared sandbox whose /init fails fails its joiners too.
	e := dem("broken", 256)
	e.conc = 2
	ce, _, err := p.acquire(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		_, _, err := p.acquire(context.Background(), e)
		res <- err
	}()
	eventually(t, "joiner", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return ce.active == 2
	})
	p.initFailed(ce, errors.New("syntax error"))
	var ie *initError
	if err := <-res; !errors.As(err, &ie) || ie.Error() != "syntax error" {
		t.Fatalf("joiner err = %v, want the init error", err)
	}
	if !fakeOf(ce).destroyed.Load() {
		t.Fatalf("the sandbox that failed /init was not destroyed")
	}
}

func TestPoolStartFailure(t *testing.T) {
	drv := &fakeDriver{startErr: errors.New("no runtime")}
	p := testPool(t, drv, nil)
	_, _, err := p.acquire(context.Background(), dem("a", 256))
	if !errors.Is(err, ErrSandbox) {
		t.Fatalf("err = %v, want ErrSandbox", err)
	}
	if s := p.stats(); s.UsedMB != 0 || len(p.all) != 0 {
		t.Fatalf("a failed start leaked: %+v", s)
	}
}

func TestPoolClose(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, func(c *poolConfig) { c.memoryMB = 256 })
	c := take(t, p, dem("a", 256), startCold)
	res := make(chan error, 1)
	go func() {
		_, _, err := p.acquire(context.Background(), dem("b", 256))
		res <- err
	}()
	eventually(t, "waiter", func() bool { return p.stats().Waiting == 1 })
	p.close()
	if err := <-res; !errors.Is(err, ErrShuttingDown) {
		t.Fatalf("waiter err = %v, want ErrShuttingDown", err)
	}
	if !fakeOf(c).destroyed.Load() {
		t.Fatalf("close left a sandbox")
	}
	p.release(c, relOK) // the busy activation ends after close: harmless
	if _, _, err := p.acquire(context.Background(), dem("a", 256)); !errors.Is(err, ErrShuttingDown) {
		t.Fatalf("acquire after close: %v", err)
	}
	if drv.live() != 0 {
		t.Fatalf("%d sandboxes alive after close", drv.live())
	}
}

// busyWarm makes n containers of d's key, gives the key a hold time of
// hold, and returns them all busy (acquired warm).
func busyWarm(t *testing.T, p *pool, d *demand, n int, hold time.Duration) []*container {
	t.Helper()
	cs := make([]*container, n)
	for i := range cs {
		cs[i] = take(t, p, d, startCold)
	}
	for _, c := range cs {
		p.release(c, relOK)
	}
	for i := range cs {
		cs[i] = take(t, p, d, startWarm)
	}
	p.mu.Lock()
	p.keys[d.key].holdNS = int64(hold)
	p.mu.Unlock()
	return cs
}

// acquired is the outcome of acquireAsync.
type acquired struct {
	c     *container
	start startKind
	err   error
}

// acquireAsync acquires for d on a goroutine of its own.
func acquireAsync(p *pool, d *demand) <-chan acquired {
	ch := make(chan acquired, 1)
	go func() {
		c, start, err := p.acquire(context.Background(), d)
		ch <- acquired{c, start, err}
	}()
	return ch
}

// wantHandedOver checks that a queued acquire got c, released to it warm,
// and that the driver still has only the given number of sandboxes.
func wantHandedOver(t *testing.T, ch <-chan acquired, c *container, drv *fakeDriver, sandboxes int) {
	t.Helper()
	r := <-ch
	if r.err != nil || r.start != startWarm || r.c != c {
		t.Fatalf("queued acquire = %v %v %v, want the released container, warm", r.c == c, r.start, r.err)
	}
	if n := len(drv.sandboxes()); n != sandboxes {
		t.Fatalf("sandboxes = %d, want %d (no cold start)", n, sandboxes)
	}
}

func TestPoolQueuesForWarm(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, func(c *poolConfig) { c.memoryMB = 256 * (queueMinBusy + 2) })
	a := dem("a", 256)
	cs := busyWarm(t, p, a, queueMinBusy, 100*time.Microsecond)
	ch := acquireAsync(p, a)
	eventually(t, "the activation to queue", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.keys[a.key].queue) == 1
	})
	p.release(cs[0], relOK)
	wantHandedOver(t, ch, cs[0], drv, queueMinBusy)
	p.mu.Lock()
	busy := p.keys[a.key].busy
	p.mu.Unlock()
	if busy != queueMinBusy {
		t.Fatalf("busy = %d, want %d", busy, queueMinBusy)
	}
}

// TestPoolQueuesWhenCPUsBusy: a fast action whose only sandbox is busy
// queues for it when the invoker's other sandboxes keep the CPUs busy, and
// starts a second one when they do not.
func TestPoolQueuesWhenCPUsBusy(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, func(c *poolConfig) { c.memoryMB = 256 * (queueMinBusy + 4) })
	a := dem("a", 256)
	ca := busyWarm(t, p, a, 1, 100*time.Microsecond)[0]

	// Few sandboxes busy: a second one starts.
	p.release(take(t, p, a, startCold), relOK)

	// Both of a's busy, and others' too: the next one queues.
	ca2 := take(t, p, a, startWarm)
	for i := 0; i < queueMinBusy-2; i++ {
		take(t, p, dem(fmt.Sprintf("other%d", i), 256), startCold)
	}
	ch := acquireAsync(p, a)
	eventually(t, "the activation to queue", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.keys[a.key].queue) == 1
	})
	p.release(ca2, relOK)
	wantHandedOver(t, ch, ca2, drv, queueMinBusy) // no third sandbox of a

	// An idle sandbox of its own is taken rather than queued for.
	p.release(ca, relOK)
	if c := take(t, p, a, startWarm); c != ca {
		t.Fatalf("took another container than a's idle one")
	}
}

func TestPoolQueueTimesOut(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, func(c *poolConfig) { c.memoryMB = 256 * (queueMinBusy + 2) })
	a := dem("a", 256)
	busyWarm(t, p, a, queueMinBusy, 100*time.Microsecond)
	start := time.Now()
	take(t, p, a, startCold) // nobody releases: a new sandbox after the wait
	if d := time.Since(start); d < queueWarmBudget {
		t.Fatalf("cold start after %v, want a wait of %v first", d, queueWarmBudget)
	}
}

// TestPoolQueuePatience: while none of its action's busy sandboxes
// answers, a queued activation waits for one as long as a start of the
// action takes (here 200 ms), not only queueWarmBudget: a run held past the
// budget by a stall is still the cheaper way to an answer than a new
// sandbox.
func TestPoolQueuePatience(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, func(c *poolConfig) { c.memoryMB = 256 * (queueMinBusy + 2) })
	a := dem("a", 256)
	cs := busyWarm(t, p, a, queueMinBusy, 100*time.Microsecond)
	p.mu.Lock()
	p.keys[a.key].startNS = int64(200 * time.Millisecond)
	p.mu.Unlock()
	ch := acquireAsync(p, a)
	select {
	case r := <-ch:
		t.Fatalf("acquire returned %v, %v within 5x the budget; want it to wait for a busy sandbox", r.start, r.err)
	case <-time.After(5 * queueWarmBudget):
	}
	p.release(cs[0], relOK)
	wantHandedOver(t, ch, cs[0], drv, queueMinBusy)
}

// TestStalledLocked: a queued activation waits on past the budget only
// while the key has released nothing for the budget, and for as long as a
// start of the key takes at most.
func TestStalledLocked(t *testing.T) {
	ms := int64(time.Millisecond)
	kp := &keyPool{startNS: 200 * ms}
	now := 1000 * ms
	tests := []struct {
		released, since int64
		want            bool
	}{
		{now - 50*ms, now - 20*ms, true},    // nothing released for 50 ms
		{now - 5*ms, now - 20*ms, false},    // a release 5 ms ago: answering
		{now - 300*ms, now - 250*ms, false}, // waited past the 200 ms a start takes
	}
	for _, tt := range tests {
		kp.releasedNS = tt.released
		if got := stalledLocked(kp, tt.since, now); got != tt.want {
			t.Errorf("released %d ms ago, waiting for %d ms: stalled = %v, want %v", (now-tt.released)/ms, (now-tt.since)/ms, got, tt.want)
		}
	}
	kp.startNS = 0 // no start measured: the budget
	kp.releasedNS = now - 50*ms
	if stalledLocked(kp, now-int64(queueWarmBudget), now) {
		t.Errorf("waited the budget with no start measured: want no more waiting")
	}
}

// TestPoolStartTime: a start's time, from its grant to the end of its
// /init, becomes the key's start estimate.
func TestPoolStartTime(t *testing.T) {
	p := testPool(t, &fakeDriver{}, nil)
	a := dem("a", 256)
	c, start, err := p.acquire(context.Background(), a)
	if err != nil || start != startCold {
		t.Fatalf("acquire = %v, %v; want a cold start", start, err)
	}
	time.Sleep(30 * time.Millisecond) // its /init
	p.initialized(c)
	p.mu.Lock()
	got, patience := time.Duration(p.keys[a.key].startNS), patienceLocked(p.keys[a.key])
	p.mu.Unlock()
	if got < 30*time.Millisecond || got > 5*time.Second {
		t.Fatalf("start estimate = %v, want the 30 ms+ the start took", got)
	}
	if patience != got {
		t.Fatalf("patience = %v, want the start estimate %v", patience, got)
	}
}

func TestPoolSlowActionDoesNotQueue(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, func(c *poolConfig) { c.memoryMB = 256 * (queueMinBusy + 2) })
	a := dem("a", 256)
	busyWarm(t, p, a, queueMinBusy, time.Second)
	start := time.Now()
	take(t, p, a, startCold)
	if d := time.Since(start); d >= queueWarmBudget {
		t.Fatalf("a slow action waited %v before its cold start", d)
	}
	p.mu.Lock()
	q := len(p.keys[a.key].queue)
	p.mu.Unlock()
	if q != 0 {
		t.Fatalf("queue = %d, want 0", q)
	}
}

// TestPoolScaleOutWaits: with a fast key's scale-out under way (a new
// sandbox starting), a queued activation whose wait runs out waits on for
// it or for a release, instead of starting another sandbox; once the start
// is over, the new sandbox is handed to it.
func TestPoolScaleOutWaits(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, func(c *poolConfig) { c.memoryMB = 256 * (queueMinBusy + 2*scaleOutStarts + 1) })
	a := dem("a", 256)
	busyWarm(t, p, a, queueMinBusy, 100*time.Microsecond)
	starting := make([]*container, scaleOutStarts)
	for i := range starting {
		c, start, err := p.acquire(context.Background(), a) // waits out the budget, then starts one
		if err != nil || start != startCold {
			t.Fatalf("acquire = %v, %v; want a cold start", start, err)
		}
		starting[i] = c
	}
	ch := acquireAsync(p, a)
	select {
	case r := <-ch:
		t.Fatalf("acquire during the scale-out returned %v, %v; want it to wait", r.start, r.err)
	case <-time.After(4 * queueWarmBudget):
	}
	if n := len(drv.sandboxes()); n != queueMinBusy+scaleOutStarts {
		t.Fatalf("sandboxes = %d, want %d (no start beyond the scale-out)", n, queueMinBusy+scaleOutStarts)
	}
	p.initialized(starting[0])
	p.release(starting[0], relOK)
	r := <-ch
	if r.err != nil || r.start != startWarm || r.c != starting[0] {
		t.Fatalf("queued acquire = %v %v %v, want the new sandbox, warm", r.c == starting[0], r.start, r.err)
	}
}

// TestPoolScaleOutEnds: once no sandbox of the key is starting, a queued
// activation whose wait runs out starts one, as before.
func TestPoolScaleOutEnds(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, func(c *poolConfig) { c.memoryMB = 256 * (queueMinBusy + 2*scaleOutStarts + 1) })
	a := dem("a", 256)
	busyWarm(t, p, a, queueMinBusy, 100*time.Microsecond)
	for range scaleOutStarts {
		c := take(t, p, a, startCold) // initialized at once: the start is over
		p.release(c, relOK)
		take(t, p, a, startWarm) // busy again
	}
	take(t, p, a, startCold)
}

// TestPoolHoldOutlier: one activation held for long (a stall of the host)
// does not make a fast action look slow, while an action that became slow
// crosses the queueing budget within a few dozen activations.
func TestPoolHoldOutlier(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, nil)
	a := dem("a", 256)
	c := take(t, p, a, startCold)
	p.release(c, relOK)
	hold := func(d time.Duration) time.Duration {
		c := take(t, p, a, startWarm)
		p.mu.Lock()
		c.heldSince = time.Now().Add(-d).UnixNano()
		p.mu.Unlock()
		p.release(c, relOK)
		p.mu.Lock()
		defer p.mu.Unlock()
		return time.Duration(p.keys[a.key].holdNS)
	}
	for range 20 {
		hold(2 * time.Millisecond)
	}
	if got := hold(70 * time.Millisecond); got > queueWarmBudget/2 {
		t.Fatalf("hold average after one 70 ms outlier = %v, want a fast action still (about 2.75 ms)", got)
	}
	n := 0
	for hold(100*time.Millisecond) <= queueWarmBudget {
		if n++; n > 30 {
			t.Fatalf("a 100 ms action still counts as fast after %d activations", n)
		}
	}
}

// TestPoolBurstStartsAtMost: a burst on a new action (no hold time known)
// starts queueMinBusy sandboxes at once; the next activation waits for one
// of them instead of starting another.
func TestPoolBurstStartsAtMost(t *testing.T) {
	drv := &fakeDriver{}
	p := testPool(t, drv, func(c *poolConfig) { c.memoryMB = 256 * (queueMinBusy + 2) })
	a := dem("a", 256)
	starting := make([]*container, queueMinBusy)
	for i := range starting {
		c, start, err := p.acquire(context.Background(), a)
		if err != nil || start != startCold {
			t.Fatalf("acquire %d = %v, %v; want a cold start", i, start, err)
		}
		starting[i] = c
	}
	ch := acquireAsync(p, a)
	select {
	case r := <-ch:
		t.Fatalf("acquire during the burst's starts returned %v, %v; want it to wait", r.start, r.err)
	case <-time.After(4 * queueWarmBudget):
	}
	if n := len(drv.sandboxes()); n != queueMinBusy {
		t.Fatalf("sandboxes = %d, want %d", n, queueMinBusy)
	}
	p.initialized(starting[1])
	p.release(starting[1], relOK)
	if r := <-ch; r.err != nil || r.start != startWarm || r.c != starting[1] {
		t.Fatalf("queued acquire = %v %v %v, want the first sandbox started, warm", r.c == starting[1], r.start, r.err)
	}
}
