package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/whisk"
)

// noopCode is the no-op action of a kind, or "" if the tool has none.
func noopCode(kind string) string {
	switch kind {
	case whisk.KindNode:
		return "function main(params) {\n  return {};\n}\n"
	case whisk.KindPython:
		return "def main(args):\n    return {}\n"
	}
	return ""
}

// family is the short name of a kind: "nodejs" for "nodejs:20".
func family(kind string) string {
	f, _, _ := strings.Cut(kind, ":")
	return f
}

// runner runs the scenarios against one API host.
type runner struct {
	cfg    Config
	ep     *endpoint
	api    *client.Client
	prog   *progress
	prefix string // of every action name, unique per run
	floor  []FloorPart

	gustPID int // the started gust up, whose CPU use is measured; 0 if none

	mu      sync.Mutex
	created []string // actions to delete at the end
	noop    string   // the shared no-op action, once created
}

// plan is a load plan with the runner's CPU sampling.
func (r *runner) plan(clients int, warmup, duration time.Duration, pick func(*worker) *request) plan {
	return plan{clients: clients, warmup: warmup, duration: duration, pick: pick, cpu: r.cpu}
}

// cpu samples the CPU use of this process and of the gust up under test.
func (r *runner) cpu() cpuSample { return sampleCPU(r.gustPID) }

// phase adapts the progress display to runPlan.
func (r *runner) phase(name string, d time.Duration, c counter) { r.prog.Phase(name, d, c) }

// invokePath is the path of a blocking (or not) invocation of name.
func invokePath(name string, blocking bool) string {
	return "/api/v1/namespaces/_/actions/" + url.PathEscape(name) + "?blocking=" + fmt.Sprint(blocking)
}

// invokeRequest is a blocking no-op invocation of name, answered with the
// full activation record (whose annotations tell the start kind).
func (r *runner) invokeRequest(name string, class int) *request {
	return &request{raw: r.ep.request("POST", invokePath(name, true), []byte("{}")), class: class, expect: 200, scan: true}
}

// put creates (or replaces) the no-op action name of kind.
func (r *runner) put(ctx context.Context, name, kind string) error {
	return r.putMem(ctx, name, kind, r.cfg.MemoryMB)
}

// putMem creates (or replaces) the no-op action name of kind with a memory
// limit of mem MB.
func (r *runner) putMem(ctx context.Context, name, kind string, mem int) error {
	_, err := r.api.PutAction(ctx, name, &client.ActionPut{
		Exec:   &whisk.Exec{Kind: kind, Code: noopCode(kind)},
		Limits: &client.LimitsPut{Memory: &mem},
	}, true)
	if err != nil {
		return fmt.Errorf("%w: create action %s: %v", ErrSetup, name, err)
	}
	r.mu.Lock()
	r.created = append(r.created, name)
	r.mu.Unlock()
	return nil
}

// putAll creates actions with up to parallel requests at a time.
func (r *runner) putAll(ctx context.Context, names []string, kind string, parallel int) error {
	return r.putAllMem(ctx, names, kind, r.cfg.MemoryMB, parallel)
}

// putAllMem is putAll with a memory limit of mem MB.
func (r *runner) putAllMem(ctx context.Context, names []string, kind string, mem, parallel int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, parallel)
	for p := 0; p < parallel; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(names) || ctx.Err() != nil {
					return
				}
				if err := r.putMem(ctx, names[i], kind, mem); err != nil {
					errs[p] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// cleanup deletes the actions the run created (on a host the tool did not
// start; a started one is thrown away whole).
func (r *runner) cleanup(ctx context.Context) {
	r.mu.Lock()
	names := r.created
	r.created = nil
	r.mu.Unlock()
	var wg sync.WaitGroup
	var next atomic.Int64
	for p := 0; p < 8; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(names); i = int(next.Add(1)) - 1 {
				r.api.DeleteAction(ctx, names[i]) // best effort
			}
		}()
	}
	wg.Wait()
}

// callOnce invokes name once, blocking, on c: the latency and start kind of
// a successful call, or why it failed.
func callOnce(c *conn, req *request) (time.Duration, int, string) {
	t0 := time.Now()
	resp, err := c.Do(req.raw)
	d := time.Since(t0)
	switch {
	case err != nil:
		return d, 0, errorKind(err)
	case resp.Status != req.expect:
		return d, 0, statusKind(resp.Status) + ": " + snippet(resp.Body)
	}
	return d, scanStart(resp.Body), ""
}

// snippet shortens an error body for a message.
func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 160 {
		return string(b[:160]) + "..."
	}
	return string(b)
}

// awaitInvoker creates a probe action and invokes it until it succeeds: an
// API host may answer before an invoker has joined (503 "no invokers
// available"). Other failures end the wait at once.
func (r *runner) awaitInvoker(ctx context.Context, limit time.Duration) error {
	name := r.prefix + "-ready"
	if err := r.put(ctx, name, r.cfg.Kind); err != nil {
		return err
	}
	c := newConn(r.ep)
	defer c.Close()
	req := r.invokeRequest(name, 0)
	deadline := time.Now().Add(limit)
	for {
		resp, err := c.Do(req.raw)
		switch {
		case err != nil:
			return fmt.Errorf("%w: invoking %s: %v", ErrNotReady, name, err)
		case resp.Status == 200:
			return nil
		case resp.Status != 503:
			return fmt.Errorf("%w: invoking %s: %s: %s", ErrNotReady, name, statusKind(resp.Status), snippet(resp.Body))
		case time.Now().After(deadline):
			return fmt.Errorf("%w: still %s after %s: %s", ErrNotReady, statusKind(resp.Status), limit, snippet(resp.Body))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// noopAction creates the no-op action of the load scenarios once and
// invokes it once, so it is warm.
func (r *runner) noopAction(ctx context.Context) (string, error) {
	if r.noop != "" {
		return r.noop, nil
	}
	name := r.prefix + "-noop"
	if err := r.put(ctx, name, r.cfg.Kind); err != nil {
		return "", err
	}
	c := newConn(r.ep)
	defer c.Close()
	if _, _, fail := callOnce(c, r.invokeRequest(name, 0)); fail != "" {
		return "", fmt.Errorf("%w: first invocation of %s: %s", ErrSetup, name, fail)
	}
	r.noop = name
	return name, nil
}

// constant picks the same request every time.
func constant(req *request) func(*worker) *request {
	return func(*worker) *request { return req }
}

// warm: one client, one warm action.
func (r *runner) warm(ctx context.Context) ([]Result, error) {
	r.prog.Step("creating the action")
	name, err := r.noopAction(ctx)
	if err != nil {
		return nil, err
	}
	req := r.invokeRequest(name, 0)
	lr := runPlan(ctx, r.ep, r.plan(1, r.cfg.Warmup, r.cfg.Duration, constant(req)), r.phase)
	res := newResult("warm", "1 client, blocking no-op invocations of one warm "+family(r.cfg.Kind)+" action through the HTTP API", 1, &lr, 0)
	res.compare(floorInvoke, r.floor)
	if ctx.Err() == nil {
		res.Parts = []Result{r.spaced(ctx, req)}
	}
	return []Result{res}, nil
}

// spaced calls the warm action again, one call spacedPause after the answer
// to the last: an action called now and then rather than back to back. The
// machine goes idle between the calls, and each call pays for waking it (on
// a VM, the CPUs' halts and wake-ups) and for caches other work has
// emptied; the http-spaced floor is what the same spacing costs a trivial
// HTTP server.
func (r *runner) spaced(ctx context.Context, req *request) Result {
	r.prog.Step(fmt.Sprintf("one call every %s", fmtDur(spacedPause)))
	lr := runPlan(ctx, r.ep, plan{clients: 1, warmup: r.cfg.Warmup, duration: r.cfg.Duration, pause: spacedPause, pick: constant(req)}, r.phase)
	part := newResult("spaced", fmt.Sprintf("the same, one call %s after the answer to the last", fmtDur(spacedPause)), 1, &lr, 0)
	part.Histogram, part.CDF, part.Timeline = nil, nil, nil
	part.compare(floorSpaced, r.floor)
	return part
}

// throughput: N clients on one action, for each N.
func (r *runner) throughput(ctx context.Context) ([]Result, error) {
	name, err := r.noopAction(ctx)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, n := range r.cfg.Clients {
		r.prog.Scenario(fmt.Sprintf("throughput-c%d", n))
		lr := runPlan(ctx, r.ep, r.plan(n, r.cfg.Warmup, r.cfg.Duration, constant(r.invokeRequest(name, 0))), r.phase)
		res := newResult(fmt.Sprintf("throughput-c%d", n), fmt.Sprintf("%d clients, blocking no-op invocations of one %s action", n, family(r.cfg.Kind)), n, &lr, 0)
		res.compare(floorInvoke, r.floor)
		out = append(out, res)
		if ctx.Err() != nil {
			break
		}
	}
	return out, nil
}

// cold: create new actions one at a time and time each one's first
// invocation, per kind.
func (r *runner) cold(ctx context.Context) ([]Result, error) {
	var out []Result
	c := newConn(r.ep)
	defer c.Close()
	for _, kind := range r.cfg.ColdKinds {
		fam := family(kind)
		r.prog.Scenario("cold-" + fam)
		var cnt countingCounter
		r.prog.Phase(fmt.Sprintf("%d new actions", r.cfg.Cold), 0, &cnt)
		var create, first []time.Duration
		var starts startCounts
		fails := map[string]int{}
		for i := 0; i < r.cfg.Cold && ctx.Err() == nil; i++ {
			if i > 0 && r.cfg.ColdGap > 0 && sleepCtx(ctx, r.cfg.ColdGap) != nil {
				break
			}
			name := fmt.Sprintf("%s-cold-%s-%d", r.prefix, fam, i)
			t0 := time.Now()
			if err := r.put(ctx, name, kind); err != nil {
				fails["create failed"]++
				cnt.add(true)
				continue
			}
			create = append(create, time.Since(t0))
			d, start, fail := callOnce(c, r.invokeRequest(name, 0))
			if fail != "" {
				fails[fail]++
				cnt.add(true)
				continue
			}
			first = append(first, d)
			starts[start]++
			cnt.add(false)
		}
		what := "first invocation of a new " + fam + " action, one at a time (time to its result)"
		if r.cfg.ColdGap > 0 {
			what += ", " + r.cfg.ColdGap.String() + " apart"
		}
		res := resultFromSample("cold-"+fam, what, 1, first, 0)
		res.Throughput = 0
		for k, v := range fails {
			if res.ErrorKinds == nil {
				res.ErrorKinds = map[string]int{}
			}
			res.ErrorKinds[k] = v
			res.Errors += v
		}
		res.Cold = starts.Inits()
		res.Starts = starts.Map()
		res.compare(floorCold(kind), r.floor)
		part := resultFromSample("create", "PUT of the new action", 1, create, 0)
		part.Histogram, part.CDF, part.Throughput = nil, nil, 0
		res.Parts = []Result{part}
		out = append(out, res)
	}
	return out, nil
}

// countingCounter is a progress counter for steps outside runPlan.
type countingCounter struct{ n, errs atomic.Int64 }

func (c *countingCounter) add(failed bool) {
	c.n.Add(1)
	if failed {
		c.errs.Add(1)
	}
}
func (c *countingCounter) counts() (int64, int64) { return c.n.Load(), c.errs.Load() }

// callEach invokes every request once with up to clients at a time and
// returns the latencies, start kinds and failures.
func callEach(ctx context.Context, ep *endpoint, reqs []*request, clients int, cnt *countingCounter) ([]time.Duration, startCounts, map[string]int) {
	var mu sync.Mutex
	var lat []time.Duration
	var starts startCounts
	fails := map[string]int{}
	var next atomic.Int64
	var wg sync.WaitGroup
	for p := 0; p < clients; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newConn(ep)
			defer c.Close()
			for i := int(next.Add(1)) - 1; i < len(reqs) && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				d, start, fail := callOnce(c, reqs[i])
				mu.Lock()
				if fail != "" {
					fails[fail]++
				} else {
					lat = append(lat, d)
					starts[start]++
				}
				mu.Unlock()
				cnt.add(fail != "")
			}
		}()
	}
	wg.Wait()
	return lat, starts, fails
}

// many: distinct actions, invoked round-robin by several clients.
func (r *runner) many(ctx context.Context) ([]Result, error) {
	n, clients := r.cfg.Actions, r.cfg.ManyClients
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-many-%d", r.prefix, i)
	}
	r.prog.Step(fmt.Sprintf("creating %d actions", n))
	t0 := time.Now()
	if err := r.putAll(ctx, names, r.cfg.Kind, 8); err != nil {
		return nil, err
	}
	createTime := time.Since(t0)
	reqs := make([]*request, n)
	for i, name := range names {
		reqs[i] = r.invokeRequest(name, 0)
	}
	// First calls: every action starts its sandbox.
	var cnt countingCounter
	r.prog.Phase("first calls", 0, &cnt)
	t0 = time.Now()
	lat, starts, fails := callEach(ctx, r.ep, reqs, clients, &cnt)
	first := resultFromSample("first calls", fmt.Sprintf("first invocation of each of the %d actions, %d at a time", n, clients), clients, lat, time.Since(t0))
	first.Histogram = nil
	first.Cold, first.Starts = starts.Inits(), starts.Map()
	for k, v := range fails {
		if first.ErrorKinds == nil {
			first.ErrorKinds = map[string]int{}
		}
		first.ErrorKinds[k] = v
		first.Errors += v
	}

	var rr atomic.Uint64
	pick := func(*worker) *request { return reqs[(rr.Add(1)-1)%uint64(n)] }
	lr := runPlan(ctx, r.ep, r.plan(clients, r.cfg.Warmup, r.cfg.ManyDuration, pick), r.phase)
	res := newResult("many", fmt.Sprintf("%d clients, blocking no-op invocations of %d distinct %s actions, round-robin", clients, n, family(r.cfg.Kind)), clients, &lr, 0)
	res.compare(floorInvoke, r.floor)
	res.Parts = []Result{first}
	res.Notes = append(res.Notes, fmt.Sprintf("created %d actions in %s", n, fmtDur(createTime)))
	if ctx.Err() == nil {
		parts, err := r.manyVsOne(ctx, clients, pick)
		if err != nil {
			return nil, err
		}
		res.Parts = append(res.Parts, parts...)
	}
	return []Result{res}, nil
}

// Parts of the many scenario: the interleaved comparison with one action.
const (
	partInterleavedMany = "interleaved: many"
	partInterleavedOne  = "interleaved: one action"
	// interleavedWindow is the longest window of the comparison. It stays
	// well below the host's idle grace (2 s by default): a sandbox idle
	// that long may be paused, and with windows as long as the grace,
	// either side's sandboxes could be while the other side had the
	// clients.
	interleavedWindow = 500 * time.Millisecond
)

// manyVsOne measures the many actions and the throughput scenario's single
// action with the same clients in alternating windows of at most
// interleavedWindow over the many scenario's measured time, so that the ratio
// of their throughputs compares the two at the same moments: on a shared
// machine the two scenarios, a minute apart, can meet different neighbours.
func (r *runner) manyVsOne(ctx context.Context, clients int, pickMany func(*worker) *request) ([]Result, error) {
	name, err := r.noopAction(ctx)
	if err != nil {
		return nil, err
	}
	one := *r.invokeRequest(name, 0)
	one.class = 1
	windows, window := windowsOf(r.cfg.ManyDuration)
	measured := time.Now().Add(r.cfg.Warmup) // windows count from the measured phase
	p := r.plan(clients, r.cfg.Warmup, r.cfg.ManyDuration, func(w *worker) *request {
		if d := time.Since(measured); (d.Abs()/window)%2 == 1 {
			return &one
		}
		return pickMany(w)
	})
	p.classes = []string{"many", "one"}
	lr := runPlan(ctx, r.ep, p, r.phase)
	// Each class had half of the measured time.
	half := lr.elapsed / 2
	out := []Result{
		newResult(partInterleavedMany, fmt.Sprintf("the many actions in %d alternating windows of %s", windows/2, fmtDur(window)), clients, &lr, 0),
		newResult(partInterleavedOne, fmt.Sprintf("the throughput scenario's single action in the other %d windows", windows/2), clients, &lr, 1),
	}
	for i := range out {
		out[i].Histogram, out[i].CDF, out[i].Timeline = nil, nil, nil
		out[i].Elapsed = half
		if half > 0 {
			out[i].Throughput = float64(out[i].OK) / half.Seconds()
		}
	}
	return out, nil
}

// windowsOf splits d into an even number of equal windows of at most
// interleavedWindow, so that each side of the comparison has half the time.
func windowsOf(d time.Duration) (n int, window time.Duration) {
	n = int((d + interleavedWindow - 1) / interleavedWindow)
	n += n % 2
	return n, d / time.Duration(n)
}

// burst: many clients start at once on an action with no sandbox yet.
func (r *runner) burst(ctx context.Context) ([]Result, error) {
	name := r.prefix + "-burst"
	r.prog.Step("creating the action")
	if err := r.put(ctx, name, r.cfg.Kind); err != nil {
		return nil, err
	}
	n := r.cfg.BurstClients
	lr := runPlan(ctx, r.ep, r.plan(n, 0, r.cfg.Duration, constant(r.invokeRequest(name, 0))), r.phase)
	res := newResult("burst", fmt.Sprintf("%d clients start at once on a new %s action (no warm sandbox), then keep calling it", n, family(r.cfg.Kind)), n, &lr, 0)
	res.compare(floorInvoke, r.floor)
	first := resultFromSample("first answers", "each client's first answer: max is when the last client got one", n, lr.first, 0)
	first.Histogram, first.Throughput = nil, 0
	res.Parts = []Result{first}
	return []Result{res}, nil
}

// The mixed scenario's operations, by class index, and their weights in
// thousandths.
const (
	mixNode = iota
	mixPython
	mixAsync
	mixGet
	mixUpdate
	numMix
)

var (
	mixNames   = [numMix]string{"invoke nodejs", "invoke python", "invoke async", "get activation", "update action"}
	mixWeights = [numMix]int{600, 200, 120, 78, 2}
)

// mixedActions is the number of actions per kind in the mixed scenario.
const mixedActions = 5

// partLost names the mixed scenario's check of async activation records.
const partLost = "async records"

// asyncCall is an accepted non-blocking activation.
type asyncCall struct {
	id string
	at time.Time
}

// mixedState is each client's own list of accepted async activations.
type mixedState struct {
	calls  []asyncCall
	cursor int // next call whose record the client reads
}

// mixed: a long load mixing kinds, blocking and non-blocking invocations,
// record reads and action updates (each followed by a cold start); at the
// end every accepted async activation must have its record.
func (r *runner) mixed(ctx context.Context) ([]Result, error) {
	kinds := [2]string{whisk.KindNode, whisk.KindPython}
	var invoke, async, update [2][]*request
	r.prog.Step("creating the actions")
	for k, kind := range kinds {
		names := make([]string, mixedActions)
		for i := range names {
			names[i] = fmt.Sprintf("%s-mixed-%s-%d", r.prefix, family(kind), i)
		}
		if err := r.putAll(ctx, names, kind, 4); err != nil {
			return nil, err
		}
		mem := r.cfg.MemoryMB
		for _, name := range names {
			invoke[k] = append(invoke[k], r.invokeRequest(name, k))
			async[k] = append(async[k], &request{raw: r.ep.request("POST", invokePath(name, false), []byte("{}")), class: mixAsync, expect: 202})
			body, _ := json.Marshal(client.ActionPut{Exec: &whisk.Exec{Kind: kind, Code: noopCode(kind)}, Limits: &client.LimitsPut{Memory: &mem}})
			update[k] = append(update[k], &request{raw: r.ep.request("PUT", "/api/v1/namespaces/_/actions/"+url.PathEscape(name)+"?overwrite=true", body), class: mixUpdate, expect: 200})
		}
	}
	// Warm every action once.
	var cnt countingCounter
	r.prog.Phase("first calls", 0, &cnt)
	callEach(ctx, r.ep, append(slices.Clone(invoke[0]), invoke[1]...), 4, &cnt)

	clients := r.cfg.MixedClients
	states := make([]mixedState, clients)
	const readAfter = 2 * time.Second // records are read once they are this old
	pick := func(w *worker) *request {
		x := w.rnd.IntN(1000)
		op := 0
		for op < numMix-1 && x >= mixWeights[op] {
			x -= mixWeights[op]
			op++
		}
		i := w.rnd.IntN(mixedActions)
		switch op {
		case mixPython:
			return invoke[1][i]
		case mixAsync:
			return async[w.rnd.IntN(2)][i]
		case mixGet:
			st := &states[w.id]
			if st.cursor < len(st.calls) && time.Since(st.calls[st.cursor].at) >= readAfter {
				id := st.calls[st.cursor].id
				st.cursor++
				return &request{raw: r.ep.request("GET", "/api/v1/namespaces/_/activations/"+id, nil), class: mixGet, expect: 200}
			}
		case mixUpdate:
			return update[w.rnd.IntN(2)][i]
		}
		return invoke[0][i]
	}
	done := func(w *worker, req *request, resp response, err error) {
		if req.class != mixAsync || err != nil || resp.Status != 202 {
			return
		}
		if id := activationID(resp); id != "" {
			states[w.id].calls = append(states[w.id].calls, asyncCall{id: id, at: time.Now()})
		}
	}
	classes := mixNames[:]
	p := r.plan(clients, r.cfg.Warmup, r.cfg.MixedDuration, pick)
	p.classes, p.done = classes, done
	lr := runPlan(ctx, r.ep, p, r.phase)
	res := newResult("mixed", fmt.Sprintf("%d clients, a mix of operations (%s) on %d nodejs and %d python actions", clients, mixDescription(), mixedActions, mixedActions), clients, &lr, -1)
	for c := range classes {
		part := newResult(classes[c], "", clients, &lr, c)
		part.Histogram, part.CDF = nil, nil
		res.Parts = append(res.Parts, part)
	}
	res.compare(floorInvoke, r.floor)

	// Every accepted async activation must have a record.
	var ids []string
	for _, st := range states {
		for _, c := range st.calls {
			ids = append(ids, c.id)
		}
	}
	if len(ids) > 0 && ctx.Err() == nil {
		r.prog.Scenario("mixed")
		found, missing := r.awaitRecords(ctx, ids, 60*time.Second)
		lost := Result{Name: partLost, Description: "records of the accepted async activations, found within 60s after the load", OK: found, Errors: len(missing)}
		if len(missing) > 0 {
			lost.ErrorKinds = map[string]int{"record missing": len(missing)}
			lost.Notes = append(lost.Notes, "missing: "+strings.Join(missing[:min(len(missing), 5)], ", "))
		}
		res.Parts = append(res.Parts, lost)
		res.Notes = append(res.Notes, fmt.Sprintf("%d async activations accepted, %d records found, %d missing", len(ids), found, len(missing)))
	}
	return []Result{res}, nil
}

func mixDescription() string {
	var parts []string
	for i, n := range mixNames {
		parts = append(parts, fmt.Sprintf("%s %.1f%%", n, float64(mixWeights[i])/10))
	}
	return strings.Join(parts, ", ")
}

// activationID reads the id of a 202 answer: the header, else the body.
func activationID(resp response) string {
	if len(resp.ID) > 0 {
		return string(resp.ID)
	}
	var body struct {
		ActivationID string `json:"activationId"`
	}
	if json.Unmarshal(resp.Body, &body) == nil {
		return body.ActivationID
	}
	return ""
}

// awaitRecords reads the record of every id until all are found or the
// time runs out, and returns how many were found and the missing ids.
func (r *runner) awaitRecords(ctx context.Context, ids []string, limit time.Duration) (int, []string) {
	var cnt countingCounter
	r.prog.Phase(fmt.Sprintf("reading %d async records", len(ids)), 0, &cnt)
	deadline := time.Now().Add(limit)
	pending := ids
	found := 0
	for len(pending) > 0 && ctx.Err() == nil {
		var mu sync.Mutex
		var again []string
		var next atomic.Int64
		var wg sync.WaitGroup
		for p := 0; p < 8; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := newConn(r.ep)
				defer c.Close()
				for i := int(next.Add(1)) - 1; i < len(pending); i = int(next.Add(1)) - 1 {
					resp, err := c.Do(r.ep.request("GET", "/api/v1/namespaces/_/activations/"+pending[i], nil))
					ok := err == nil && resp.Status == 200
					mu.Lock()
					if ok {
						found++
					} else {
						again = append(again, pending[i])
					}
					mu.Unlock()
					if ok {
						cnt.add(false)
					}
				}
			}()
		}
		wg.Wait()
		pending = again
		if len(pending) == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	return found, pending
}
