package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// defaultIdleGrace is gust up's idle grace (invoker.DefaultIdleGrace),
// assumed when --idle-grace is not given.
const defaultIdleGrace = 2 * time.Second

// stemWait is the pause before each call of the prewarm scenario: time
// for the invoker to start the stem cell that replaces the one the last
// call took.
const stemWait = 400 * time.Millisecond

// Names of the parts the targets read.
const (
	partStems       = "stem cells only"
	partResumed     = "resumed only"
	partWarmBefore  = "warm before"
	partFirstCalls  = "first calls"
	densityKind     = whisk.KindPython
	procRoot        = "/proc"
	cgroupRoot      = "/sys/fs/cgroup"
	densityParallel = 4 // clients making the density scenario's first calls
)

// MemoryUse is what the density scenario measured of its sandboxes.
type MemoryUse struct {
	Sandboxes int `json:"sandboxes"` // the scenario's sandboxes found
	Paused    int `json:"paused"`    // of them, paused
	Procs     int `json:"procs"`     // processes in them
	// PSS per sandbox (the sum over its processes), in KiB.
	PSSP50KB   int64 `json:"pss_p50_kb"`
	PSSMeanKB  int64 `json:"pss_mean_kb"`
	PSSMaxKB   int64 `json:"pss_max_kb"`
	PSSTotalKB int64 `json:"pss_total_kb"`
	// MemAvailableDropKB is how much the host's MemAvailable fell from
	// before the actions were created to when their sandboxes were paused.
	MemAvailableDropKB int64 `json:"mem_available_drop_kb"`
}

// sleepCtx sleeps d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// sample is one timed call and how its activation started.
type sample struct {
	d     time.Duration
	start int
}

// samplesResult builds a one-client Result from timed calls and failures,
// with a part holding only the calls that started as want.
func samplesResult(name, desc string, samples []sample, fails map[string]int, want int, partName, partDesc string) Result {
	var all, only []time.Duration
	var starts startCounts
	for _, s := range samples {
		all = append(all, s.d)
		starts[s.start]++
		if s.start == want {
			only = append(only, s.d)
		}
	}
	res := resultFromSample(name, desc, 1, all, 0)
	res.Throughput = 0
	res.Cold, res.Starts = starts.Inits(), starts.Map()
	for k, v := range fails {
		if res.ErrorKinds == nil {
			res.ErrorKinds = map[string]int{}
		}
		res.ErrorKinds[k] = v
		res.Errors += v
	}
	part := resultFromSample(partName, partDesc, 1, only, 0)
	part.Histogram, part.CDF, part.Throughput = nil, nil, 0
	res.Parts = []Result{part}
	if n := len(samples) - len(only); n > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d of %d calls did not start %s (starts %v)", n, len(samples), startNames[want], res.Starts))
	}
	return res
}

// prewarm: new actions of each kind, each served by a stem cell of the
// host (gust up's --prewarm), one at a time: time to the first result.
func (r *runner) prewarm(ctx context.Context) ([]Result, error) {
	var out []Result
	c := newConn(r.ep)
	defer c.Close()
	for _, kind := range r.cfg.ColdKinds {
		fam := family(kind)
		r.prog.Scenario("prewarm-" + fam)
		var cnt countingCounter
		r.prog.Phase(fmt.Sprintf("%d new actions", r.cfg.Prewarm), 0, &cnt)
		var samples []sample
		fails := map[string]int{}
		for i := 0; i < r.cfg.Prewarm && ctx.Err() == nil; i++ {
			name := fmt.Sprintf("%s-prewarm-%s-%d", r.prefix, fam, i)
			if err := r.putMem(ctx, name, kind, r.cfg.PrewarmMB); err != nil {
				fails["create failed"]++
				cnt.add(true)
				continue
			}
			if sleepCtx(ctx, stemWait) != nil {
				break
			}
			d, start, fail := callOnce(c, r.invokeRequest(name, 0))
			if fail != "" {
				fails[fail]++
				cnt.add(true)
				continue
			}
			samples = append(samples, sample{d, start})
			cnt.add(false)
		}
		res := samplesResult("prewarm-"+fam,
			fmt.Sprintf("first invocation of a new %s action (%d MB) served by a stem cell, one at a time (time to its result)", fam, r.cfg.PrewarmMB),
			samples, fails, startPrewarmed, partStems, "the calls whose sandbox was a prewarmed stem cell")
		res.compare(floorCold(kind), r.floor)
		out = append(out, res)
	}
	return out, nil
}

// resume: calls to an action whose sandbox the host paused after its idle
// grace; each call waits for the pause first.
func (r *runner) resume(ctx context.Context) ([]Result, error) {
	name := r.prefix + "-resume"
	r.prog.Step("creating the action")
	if err := r.put(ctx, name, r.cfg.Kind); err != nil {
		return nil, err
	}
	c := newConn(r.ep)
	defer c.Close()
	req := r.invokeRequest(name, 0)
	if _, _, fail := callOnce(c, req); fail != "" {
		return nil, fmt.Errorf("%w: first invocation of %s: %s", ErrSetup, name, fail)
	}
	// The janitor pauses within ~1.5 idle graces; the connection idles
	// meanwhile (the API keeps it).
	wait := 2*r.cfg.idleGrace() + 200*time.Millisecond
	var cnt countingCounter
	r.prog.Phase(fmt.Sprintf("%d resumes, %s apart", r.cfg.Resume, fmtDur(wait)), 0, &cnt)
	var samples []sample
	fails := map[string]int{}
	for i := 0; i < r.cfg.Resume; i++ {
		if sleepCtx(ctx, wait) != nil {
			break
		}
		d, start, fail := callOnce(c, req)
		if fail != "" {
			fails[fail]++
			cnt.add(true)
			continue
		}
		samples = append(samples, sample{d, start})
		cnt.add(false)
	}
	res := samplesResult("resume",
		fmt.Sprintf("a call to a %s action whose sandbox was paused (idle for %s), one at a time", family(r.cfg.Kind), fmtDur(wait)),
		samples, fails, startResumed, partResumed, "the calls whose sandbox was resumed")
	res.compare(floorInvoke, r.floor)
	return []Result{res}, nil
}

// density: many python actions, each invoked once and left to pause; then
// the memory of their sandboxes (PSS of every process in each, and the
// host's MemAvailable drop) and the warm latency of another action, before
// and after.
func (r *runner) density(ctx context.Context) ([]Result, error) {
	n := r.cfg.Density
	r.prog.Step("creating the warm action")
	noop, err := r.noopAction(ctx)
	if err != nil {
		return nil, err
	}
	warmReq := r.invokeRequest(noop, 0)
	lrBefore := runPlan(ctx, r.ep, r.plan(1, r.cfg.Warmup, r.cfg.Duration, constant(warmReq)), r.phase)
	before := newResult(partWarmBefore, "the same warm calls before the actions were created", 1, &lrBefore, 0)
	before.Histogram, before.CDF = nil, nil

	local := r.gustPID != 0 // the started gust up: its sandboxes can be read
	// The sandboxes there before, by init pid. One with a process it did
	// not have then was a shell (an init and a proxy waiting, linux driver)
	// that became one of the actions' sandboxes; one since paused, a stem
	// cell that did.
	known := map[int]sandboxMem{}
	var availBefore int64
	if local {
		mems, err := sandboxMems(procRoot, cgroupRoot, r.gustPID)
		if err != nil {
			return nil, fmt.Errorf("%w: reading the sandboxes: %v", ErrSetup, err)
		}
		for _, m := range mems {
			known[m.pid] = m
		}
		if availBefore, err = memAvailableKB(procRoot); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSetup, err)
		}
	}

	names := make([]string, n)
	reqs := make([]*request, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-density-%d", r.prefix, i)
		reqs[i] = r.invokeRequest(names[i], 0)
	}
	r.prog.Step(fmt.Sprintf("creating %d %s actions", n, family(densityKind)))
	if err := r.putAllMem(ctx, names, densityKind, r.cfg.DensityMB, 8); err != nil {
		return nil, err
	}
	var cnt countingCounter
	r.prog.Phase(partFirstCalls, 0, &cnt)
	t0 := time.Now()
	lat, starts, fails := callEach(ctx, r.ep, reqs, densityParallel, &cnt)
	first := resultFromSample(partFirstCalls, fmt.Sprintf("first invocation of each of the %d actions, %d at a time", n, densityParallel), densityParallel, lat, time.Since(t0))
	first.Histogram, first.CDF = nil, nil
	first.Cold, first.Starts = starts.Inits(), starts.Map()
	for k, v := range fails {
		if first.ErrorKinds == nil {
			first.ErrorKinds = map[string]int{}
		}
		first.ErrorKinds[k] = v
		first.Errors += v
	}

	// Wait until they are paused.
	grace := r.cfg.idleGrace()
	var mem *MemoryUse
	if local {
		// Until all are paused, or no more pause for two graces and a
		// second (a driver that cannot pause), or 30 s more than that.
		r.prog.Step("waiting for the sandboxes to pause")
		quiet := 2*grace + time.Second
		deadline := time.Now().Add(quiet + 30*time.Second)
		progress, paused := time.Now(), 0
		for {
			if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
				return nil, err
			}
			mems, err := sandboxMems(procRoot, cgroupRoot, r.gustPID)
			if err != nil {
				return nil, fmt.Errorf("%w: reading the sandboxes: %v", ErrSetup, err)
			}
			mems = slices.DeleteFunc(mems, func(m sandboxMem) bool { return preexisting(known, m) })
			mem = summarizeMem(mems)
			now := time.Now()
			if mem.Paused > paused {
				progress, paused = now, mem.Paused
			}
			if mem.Paused >= len(lat) || now.After(deadline) || now.Sub(progress) > quiet {
				break
			}
		}
		avail, err := memAvailableKB(procRoot)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSetup, err)
		}
		mem.MemAvailableDropKB = availBefore - avail
	} else if err := sleepCtx(ctx, 2*grace+time.Second); err != nil {
		return nil, err
	}

	lr := runPlan(ctx, r.ep, r.plan(1, r.cfg.Warmup, r.cfg.Duration, constant(warmReq)), r.phase)
	res := newResult("density", fmt.Sprintf("1 client, warm no-op invocations of a %s action next to %d paused %s sandboxes (%d MB)",
		family(r.cfg.Kind), n, family(densityKind), r.cfg.DensityMB), 1, &lr, 0)
	res.compare(floorInvoke, r.floor)
	res.Parts = []Result{before, first}
	res.Memory = mem
	if mem != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("%d sandboxes (%d paused, %d processes): PSS per sandbox p50 %s, mean %s, max %s, total %s; host MemAvailable fell by %s (%s per sandbox)",
			mem.Sandboxes, mem.Paused, mem.Procs, fmtKB(mem.PSSP50KB), fmtKB(mem.PSSMeanKB), fmtKB(mem.PSSMaxKB), fmtKB(mem.PSSTotalKB),
			fmtKB(mem.MemAvailableDropKB), fmtKB(mem.MemAvailableDropKB/int64(max(mem.Sandboxes, 1)))))
	} else {
		res.Notes = append(res.Notes, "memory not measured: the API host was not started by this tool, so its sandboxes cannot be read")
	}
	return []Result{res}, nil
}

// preexisting tells whether m was there, as it is, before the density
// scenario's actions were created: no process of it is new, and it is
// paused or not as it was. Counting processes is not enough: once a shell
// runs an action, its proxy hands the launcher to the init and exits, and
// two processes are two again.
func preexisting(known map[int]sandboxMem, m sandboxMem) bool {
	was, ok := known[m.pid]
	if !ok || m.paused != was.paused {
		return false
	}
	for _, pid := range m.members {
		if !slices.Contains(was.members, pid) {
			return false
		}
	}
	return true
}

// summarizeMem sums up the sandboxes' memory.
func summarizeMem(mems []sandboxMem) *MemoryUse {
	m := &MemoryUse{Sandboxes: len(mems)}
	if len(mems) == 0 {
		return m
	}
	pss := make([]int64, len(mems))
	for i, s := range mems {
		pss[i] = s.pssKB
		m.PSSTotalKB += s.pssKB
		m.Procs += s.procs
		if s.paused {
			m.Paused++
		}
	}
	slices.Sort(pss)
	m.PSSP50KB = pss[(len(pss)-1)/2]
	m.PSSMaxKB = pss[len(pss)-1]
	m.PSSMeanKB = m.PSSTotalKB / int64(len(pss))
	return m
}

// fmtKB renders KiB as KiB, MiB or GiB.
func fmtKB(kb int64) string {
	switch a := max(kb, -kb); {
	case a >= 10<<20:
		return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	case a >= 10<<10:
		return fmt.Sprintf("%.1f MiB", float64(kb)/(1<<10))
	}
	return fmt.Sprintf("%d KiB", kb)
}
