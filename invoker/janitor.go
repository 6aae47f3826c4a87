package invoker

import (
	"context"
	"sync"
	"time"
)

// janitor is the pool's housekeeping goroutine, owned by Invoker.Run: it
// pauses sandboxes idle for IdleGrace, destroys those idle for IdleTimeout,
// removes dead idle sandboxes and stem cells, keeps the stem cells at their
// adaptive targets, and adapts the targets every PrewarmWindow. It returns
// when stop is closed.
func (p *pool) janitor(stop <-chan struct{}) {
	tick := time.NewTicker(p.tickEvery())
	defer tick.Stop()
	window := time.NewTicker(p.cfg.prewarmWindow)
	defer window.Stop()
	p.refill()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			p.sweep(now)
		case <-window.C:
			p.adapt()
		case <-p.kick:
		}
		p.refill()
	}
}

// tickEvery is how often the janitor sweeps: a fraction of IdleGrace, so a
// sandbox pauses within ~1.5 IdleGrace, between 10 ms and 1 s.
func (p *pool) tickEvery() time.Duration {
	return min(max(p.cfg.idleGrace/2, 10*time.Millisecond), time.Second)
}

// sweep pauses and destroys idle containers by age and removes dead ones.
func (p *pool) sweep(now time.Time) {
	var pause, destroy []*container
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	for c := p.lru.back(); c != nil; {
		prev := p.lru.prev(c)
		idle := now.Sub(c.idleSince)
		switch {
		case c.state != cReady && c.state != cPaused:
			// pausing: the janitor itself is on it
		case c.done():
			p.dropLocked(c)
			c.destroyer = true
			destroy = append(destroy, c)
		case idle >= p.cfg.idleTimeout:
			p.dropLocked(c)
			c.destroyer = true
			destroy = append(destroy, c)
		case idle >= p.cfg.idleGrace && c.state == cReady && c.pauser != nil:
			c.state = cPausing
			unlink(c, slotPool)
			pause = append(pause, c)
		}
		c = prev
	}
	for _, pg := range p.prewarm {
		for c := pg.stems.front(); c != nil; {
			next := pg.stems.next(c)
			if c.done() {
				p.dropLocked(c)
				c.destroyer = true
				destroy = append(destroy, c)
			}
			c = next
		}
	}
	p.mu.Unlock()

	for _, c := range pause {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.pauser.Pause(ctx)
		cancel()
		p.mu.Lock()
		switch {
		case c.state != cPausing:
			// taken out of the pool meanwhile (closed)
		case err != nil:
			p.log.Warn("pausing a sandbox failed; destroying it", "sandbox", c.id, "err", err)
			p.dropLocked(c)
			c.destroyer = true
			destroy = append(destroy, c)
		default:
			c.state = cPaused
			c.kp.paused.pushFront(c)
			if len(p.waiters) > 0 {
				p.serveWaitersLocked()
			}
		}
		p.mu.Unlock()
	}
	for _, c := range destroy {
		p.destroyNow(c)
	}
	if len(destroy) > 0 {
		p.log.Debug("idle sandboxes destroyed", "count", len(destroy))
	}
}

// adapt moves each prewarm target one step: up after cold starts, down
// when no stem cell was used.
func (p *pool) adapt() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pk, pg := range p.prewarm {
		old := pg.target
		switch {
		case pg.cold > 0:
			pg.target = min(pg.target+1, pg.max)
		case pg.used == 0:
			pg.target = max(pg.target-1, pg.min)
		}
		if pg.target != old {
			p.log.Debug("prewarm target changed", "kind", pk.kind, "memory", pk.mem, "from", old, "to", pg.target, "coldStarts", pg.cold, "used", pg.used)
		}
		pg.cold, pg.used, pg.failed = 0, 0, false
	}
}

// refill starts stem cells up to their targets where memory is free (never
// evicting, never ahead of waiting activations) and destroys stem cells
// above them.
func (p *pool) refill() {
	var extra []*container
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	for pk, pg := range p.prewarm {
		for !pg.failed && pg.stems.len()+pg.starting < pg.target && len(p.waiters) == 0 && p.used+pk.mem <= p.cfg.memoryMB {
			p.used += pk.mem
			pg.starting++
			c := &container{id: p.nextID(), kind: pk.kind, mem: pk.mem, state: cStarting}
			p.all[c] = struct{}{}
			p.wg.Add(1)
			go p.startStem(c, pg)
		}
		for pg.stems.len() > pg.target {
			c := pg.stems.back()
			p.dropLocked(c)
			c.destroyer = true
			extra = append(extra, c)
		}
	}
	p.mu.Unlock()
	for _, c := range extra {
		p.destroyNow(c)
	}
}

// startStem starts one stem cell; it runs on a pool goroutine.
func (p *pool) startStem(c *container, pg *prewarmGroup) {
	defer p.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	err := p.startSandbox(ctx, c)
	cancel()
	p.mu.Lock()
	pg.starting--
	if err != nil {
		pg.failed = true
		c.freed, c.destroyer, c.state = true, true, cDead
		p.used -= c.mem
		delete(p.all, c)
		p.mu.Unlock()
		p.log.Warn("starting a stem cell failed; retrying next window", "kind", c.kind, "memory", c.mem, "err", err)
		return
	}
	if p.closed {
		c.state, c.destroyer = cDead, true
		p.mu.Unlock()
		p.destroyNow(c)
		return
	}
	c.state = cStem
	pg.stems.pushFront(c)
	p.stemMB += c.mem
	if len(p.waiters) > 0 {
		p.serveWaitersLocked()
	}
	p.mu.Unlock()
}

// close refuses new work, wakes the waiters and destroys every sandbox,
// busy ones too (their activations fail), then waits for the pool's
// goroutines. Call it after the janitor has stopped.
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.closing)
	var all []*container
	for c := range p.all {
		if c.state != cStarting {
			p.dropLocked(c)
		}
		if !c.destroyer && c.state != cStarting {
			c.destroyer = true
			all = append(all, c)
		}
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.destroyNow(c)
		}()
	}
	wg.Wait()
	p.wg.Wait()
}
