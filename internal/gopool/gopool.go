// Package gopool runs functions on goroutines that outlive them.
//
// A new goroutine starts with a small stack, and a call that goes deep
// grows it by copying, once per doubling. gust up ran each in-process
// activation on a goroutine of its own, down through the invoker to the
// write of the run line: copying stacks was 9.5% of its CPU profile with one
// action at 8 clients (runtime.newstack, 2026-11-22). A goroutine that
// outlives its function keeps the stack it grew for the next one.
package gopool

import (
	"sync"
	"time"
)

// Pool runs functions on goroutines that, once a function returns, wait for
// the next one, for up to idleTimeout. The zero value is not usable: use New.
type Pool struct {
	idleTimeout time.Duration

	mu       sync.Mutex
	idle     []*worker // the most recently parked last
	sweeping bool      // a sweep is scheduled
}

type worker struct {
	work   chan func() // cap 1; closed to retire the worker
	parked time.Time
}

// New returns a pool whose goroutines end after idleTimeout without work.
func New(idleTimeout time.Duration) *Pool {
	return &Pool{idleTimeout: idleTimeout}
}

// Go runs f on an idle goroutine of the pool, or on a new one when none is
// idle: it never waits for one to become free.
func (p *Pool) Go(f func()) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1] // the most recently used: its stack is grown and cached
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.work <- f
		return
	}
	p.mu.Unlock()
	go p.loop(&worker{work: make(chan func(), 1)}, f)
}

func (p *Pool) loop(w *worker, f func()) {
	for ok := true; ok; f, ok = <-w.work {
		f()
		f = nil // what f holds is not kept alive while parked
		p.park(w)
	}
}

// park puts w on the idle list and makes sure a sweep will retire it if it
// stays there.
func (p *Pool) park(w *worker) {
	w.parked = time.Now()
	p.mu.Lock()
	p.idle = append(p.idle, w)
	if !p.sweeping {
		p.sweeping = true
		time.AfterFunc(p.idleTimeout, p.sweep)
	}
	p.mu.Unlock()
}

// sweep retires the workers idle for idleTimeout or longer. They are at the
// front of the list, which Go takes from the back.
func (p *Pool) sweep() {
	cutoff := time.Now().Add(-p.idleTimeout)
	p.mu.Lock()
	n := 0
	for n < len(p.idle) && !p.idle[n].parked.After(cutoff) {
		close(p.idle[n].work)
		n++
	}
	kept := copy(p.idle, p.idle[n:])
	clear(p.idle[kept:])
	p.idle = p.idle[:kept]
	if len(p.idle) > 0 {
		time.AfterFunc(p.idleTimeout, p.sweep)
	} else {
		p.sweeping = false
	}
	p.mu.Unlock()
}

// idleCount reports how many goroutines wait for work.
func (p *Pool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}
