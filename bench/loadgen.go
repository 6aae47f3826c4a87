package bench

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// request is one prepared request of a load plan.
type request struct {
	raw    []byte
	class  int  // index into plan.classes: results are broken down by class
	expect int  // the status that counts as success (200, or 202 for async)
	scan   bool // the answer is an activation record: count its start kind
}

// plan is one closed-loop load: each client sends a request, waits for the
// answer, and sends the next, on its own keep-alive connection.
type plan struct {
	clients  int
	warmup   time.Duration // load before measuring, not recorded
	duration time.Duration // the measured phase
	classes  []string      // names of the request classes; nil = one class
	// pick returns the client's next request. It runs on the client's
	// goroutine only.
	pick func(w *worker) *request
	// done, if set, sees every answer (on the client's goroutine).
	done func(w *worker, req *request, resp response, err error)
	// interval of the timeline; 0 picks one from the duration.
	interval time.Duration
	// drain is how long requests in flight at the end may take before they
	// are aborted and counted as timeouts.
	drain time.Duration
	// cpu, if set, samples CPU use at the start and the end of the
	// measured phase.
	cpu func() cpuSample
	// pause, if set, is how long a client waits after each answer before
	// its next request: a spaced load, as of an action called now and then
	// rather than back to back.
	pause time.Duration
}

// worker is one client of a plan. Its fields are written by its own
// goroutine only; n and nerr are read by the progress display.
type worker struct {
	id    int
	conn  *conn
	rnd   *rand.Rand
	recs  []classRecord
	tl    Timeline
	first time.Duration // latency of this client's first answer
	last  time.Time     // when its last recorded request finished
	n     atomic.Int64  // answers in the measured phase
	nerr  atomic.Int64  // errors among them
}

// classRecord accumulates the answers of one request class.
type classRecord struct {
	lat    []time.Duration // successful requests only
	errs   map[string]int  // by kind: "http 503", "timeout", ...
	starts startCounts
}

func (r *classRecord) fail(kind string) {
	if r.errs == nil {
		r.errs = map[string]int{}
	}
	r.errs[kind]++
}

func (r *classRecord) merge(o *classRecord) {
	r.lat = append(r.lat, o.lat...)
	for k, v := range o.errs {
		if r.errs == nil {
			r.errs = map[string]int{}
		}
		r.errs[k] += v
	}
	for s := range o.starts {
		r.starts[s] += o.starts[s]
	}
}

// loadResult is what a plan produced, merged over its clients.
type loadResult struct {
	classes  []classRecord
	timeline Timeline
	elapsed  time.Duration // measured phase, to the last recorded answer
	first    []time.Duration
	cpu      *CPUUse
}

// counter reports the progress of a running plan.
type counter interface {
	counts() (done, errs int64)
}

type workers []*worker

func (ws workers) counts() (done, errs int64) {
	for _, w := range ws {
		done += w.n.Load()
		errs += w.nerr.Load()
	}
	return done, errs
}

// runPlan runs p against ep. The progress callback, if any, is told the
// phase and the workers (for their counters) as the phases start. Canceling
// ctx ends the run early; what was recorded until then is returned.
func runPlan(ctx context.Context, ep *endpoint, p plan, phase func(name string, d time.Duration, c counter)) loadResult {
	if p.interval <= 0 {
		p.interval = timelineInterval(p.duration)
	}
	if p.drain <= 0 {
		p.drain = 10 * time.Second
	}
	nclass := max(len(p.classes), 1)
	ws := make(workers, p.clients)
	for i := range ws {
		ws[i] = &worker{
			id:   i,
			conn: newConn(ep),
			rnd:  rand.New(rand.NewPCG(uint64(i)+1, uint64(time.Now().UnixNano()))),
			recs: make([]classRecord, nclass),
			tl:   Timeline{Interval: p.interval},
		}
		// Preallocate for the expected sample (~20k/s shared by the clients).
		exp := int(p.duration.Seconds()*20000) / p.clients
		ws[i].recs[0].lat = make([]time.Duration, 0, min(max(exp, 1024), 1<<20))
	}
	// Connect everyone first: a burst measures invocations, not TCP.
	for _, w := range ws {
		w.conn.dial() // a failure shows as errors on the first request
	}
	defer func() {
		for _, w := range ws {
			w.conn.Close()
		}
	}()

	var stop atomic.Bool
	start := time.Now().Add(2 * time.Millisecond)
	measure := start.Add(p.warmup)
	end := measure.Add(p.duration)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			w.loop(&p, measure, end, &stop)
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	abort := func() {
		stop.Store(true)
		for _, w := range ws {
			w.conn.Abort()
		}
	}
	time.Sleep(time.Until(start))
	close(gate)
	if p.warmup > 0 && phase != nil {
		phase("warm-up", p.warmup, nil)
	}
	var cpuBefore cpuSample
	select {
	case <-time.After(time.Until(measure)):
		if p.cpu != nil {
			cpuBefore = p.cpu()
		}
		if phase != nil {
			phase("measure", p.duration, ws)
		}
	case <-ctx.Done():
		abort()
	case <-finished:
	}
	select {
	case <-finished:
	case <-ctx.Done():
		abort()
	case <-time.After(time.Until(end) + p.drain):
		abort()
	}
	<-finished

	res := loadResult{classes: make([]classRecord, nclass), timeline: Timeline{Interval: p.interval}}
	if p.cpu != nil && !stop.Load() {
		res.cpu = p.cpu().sub(cpuBefore)
	}
	var last time.Time
	for _, w := range ws {
		for c := range w.recs {
			r, wr := &res.classes[c], &w.recs[c]
			r.merge(wr)
		}
		res.timeline.add(w.tl)
		if w.last.After(last) {
			last = w.last
		}
		if w.first > 0 {
			res.first = append(res.first, w.first)
		}
	}
	if last.After(measure) {
		res.elapsed = last.Sub(measure)
	}
	return res
}

// loop is one client: request, answer, record, until the end.
func (w *worker) loop(p *plan, measure, end time.Time, stop *atomic.Bool) {
	firstDone := false
	for i := 0; !stop.Load(); i++ {
		if p.pause > 0 && i > 0 {
			time.Sleep(p.pause)
		}
		t0 := time.Now()
		if !t0.Before(end) {
			return
		}
		req := p.pick(w)
		resp, err := w.conn.Do(req.raw)
		t1 := time.Now()
		d := t1.Sub(t0)
		if p.done != nil {
			p.done(w, req, resp, err)
		}
		if !firstDone && !t0.Before(measure) {
			firstDone = true
			w.first = d
		}
		if t0.Before(measure) {
			if err != nil {
				backoff(err)
			}
			continue
		}
		rec := &w.recs[req.class]
		slot := int(t1.Sub(measure) / w.tl.Interval)
		w.last = t1
		switch {
		case err != nil:
			rec.fail(errorKind(err))
			w.fail(slot)
			backoff(err)
		case resp.Status != req.expect:
			rec.fail(statusKind(resp.Status))
			w.fail(slot)
		default:
			rec.lat = append(rec.lat, d)
			if req.scan {
				rec.starts[scanStart(resp.Body)]++
			}
			for len(w.tl.OK) <= slot {
				w.tl.OK = append(w.tl.OK, 0)
			}
			w.tl.OK[slot]++
			w.n.Add(1)
		}
	}
}

func (w *worker) fail(slot int) {
	for len(w.tl.Errors) <= slot {
		w.tl.Errors = append(w.tl.Errors, 0)
	}
	w.tl.Errors[slot]++
	w.n.Add(1)
	w.nerr.Add(1)
}

// backoff slows a client down after a network error, so a dead host shows
// as a count of errors, not a busy loop.
func backoff(err error) {
	if err != nil {
		time.Sleep(20 * time.Millisecond)
	}
}

// statusKind names an unexpected HTTP status.
func statusKind(status int) string {
	switch status {
	case 202:
		return "http 202 (not done in time)"
	case 404:
		return "http 404 (not found)"
	case 429:
		return "http 429 (throttled)"
	case 502:
		return "http 502 (action error)"
	case 503:
		return "http 503 (unavailable)"
	}
	return "http " + strconv.Itoa(status)
}

// errorKind names a network error.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errAborted), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, ErrProtocol):
		return "malformed response"
	}
	return "network error"
}

// timelineInterval picks a timeline resolution: about 100 points per run,
// at least 100 ms.
func timelineInterval(d time.Duration) time.Duration {
	return max(d/100, 100*time.Millisecond).Truncate(100 * time.Millisecond)
}
