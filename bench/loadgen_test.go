package bench

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunPlan(t *testing.T) {
	var n atomic.Int64
	ep, conns := server(t, func(w http.ResponseWriter, r *http.Request) {
		switch i := n.Add(1); {
		case r.URL.Path == "/async":
			w.Header().Set("X-Openwhisk-Activation-Id", "id")
			w.WriteHeader(202)
		case i%10 == 0:
			w.WriteHeader(503)
		default:
			w.Write([]byte(`{"annotations":[{"key":"start","value":"warm"}]}`))
		}
	})
	invoke := &request{raw: ep.request("POST", "/invoke", []byte("{}")), class: 0, expect: 200, scan: true}
	async := &request{raw: ep.request("POST", "/async", []byte("{}")), class: 1, expect: 202}
	var hooks, accepted atomic.Int64
	p := plan{
		clients: 4, warmup: 100 * time.Millisecond, duration: 400 * time.Millisecond,
		classes: []string{"invoke", "async"},
		pick: func(w *worker) *request {
			if w.rnd.IntN(4) == 0 {
				return async
			}
			return invoke
		},
		done: func(w *worker, req *request, resp response, err error) {
			hooks.Add(1)
			if req == async && string(resp.ID) == "id" {
				accepted.Add(1)
			}
		},
	}
	var phases []string
	lr := runPlan(context.Background(), ep, p, func(name string, d time.Duration, c counter) { phases = append(phases, name) })

	if len(phases) != 2 || phases[0] != "warm-up" || phases[1] != "measure" {
		t.Errorf("phases %v, want [warm-up measure]", phases)
	}
	if conns.Load() != 4 {
		t.Errorf("%d connections, want one per client", conns.Load())
	}
	inv, as := lr.classes[0], lr.classes[1]
	if len(inv.lat) == 0 || len(as.lat) == 0 {
		t.Fatalf("recorded %d invokes and %d asyncs", len(inv.lat), len(as.lat))
	}
	if inv.starts[startWarm] != len(inv.lat) {
		t.Errorf("%d warm starts for %d successful invokes", inv.starts[startWarm], len(inv.lat))
	}
	if inv.errs["http 503 (unavailable)"] == 0 {
		t.Errorf("no 503 recorded: %v", inv.errs)
	}
	if accepted.Load() < int64(len(as.lat)) || hooks.Load() < int64(len(inv.lat)+len(as.lat)) {
		t.Errorf("done hook saw %d answers and %d accepted; recorded %d", hooks.Load(), accepted.Load(), len(inv.lat)+len(as.lat))
	}
	// The timeline holds exactly the recorded answers.
	okSum, errSum := 0, 0
	for _, v := range lr.timeline.OK {
		okSum += v
	}
	for _, v := range lr.timeline.Errors {
		errSum += v
	}
	errs := 0
	for _, v := range inv.errs {
		errs += v
	}
	if okSum != len(inv.lat)+len(as.lat) || errSum != errs {
		t.Errorf("timeline %d ok %d errors, recorded %d ok %d errors", okSum, errSum, len(inv.lat)+len(as.lat), errs)
	}
	if lr.elapsed < 350*time.Millisecond || lr.elapsed > 10*time.Second {
		t.Errorf("elapsed %v for a 400ms measurement", lr.elapsed)
	}
	if len(lr.first) != 4 {
		t.Errorf("%d first answers, want one per client", len(lr.first))
	}
	res := newResult("x", "", 4, &lr, -1)
	if res.OK != okSum || res.Errors != errs || res.Throughput <= 0 || res.Timeline == nil {
		t.Errorf("merged result %+v", res)
	}
}

func TestRunPlanAbortsHungRequests(t *testing.T) {
	release := make(chan struct{})
	ep, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	req := &request{raw: ep.request("POST", "/", []byte("{}")), expect: 200}
	start := time.Now()
	lr := runPlan(context.Background(), ep, plan{clients: 2, duration: 100 * time.Millisecond, drain: 200 * time.Millisecond, pick: constant(req)}, nil)
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("runPlan took %v with hung requests; want about 300ms", el)
	}
	if lr.classes[0].errs["timeout"] != 2 {
		t.Errorf("errors %v, want 2 timeouts", lr.classes[0].errs)
	}
}

func TestRunPlanPause(t *testing.T) {
	var n atomic.Int64
	ep, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Write([]byte("{}"))
	})
	req := &request{raw: ep.request("POST", "/", []byte("{}")), expect: 200}
	const pause, d = 20 * time.Millisecond, 200 * time.Millisecond
	lr := runPlan(context.Background(), ep, plan{clients: 1, duration: d, pause: pause, pick: constant(req)}, nil)
	// Back to back, a local server answers thousands in 200ms; with the
	// pause a client starts at most one request per pause.
	if got, most := n.Load(), int64(d/pause)+1; got > most || got < 2 {
		t.Errorf("%d requests in %v with a %v pause, want 2 to %d", got, d, pause, most)
	}
	if len(lr.classes[0].lat) != int(n.Load()) {
		t.Errorf("recorded %d of %d answers", len(lr.classes[0].lat), n.Load())
	}
}

func TestRunPlanCanceled(t *testing.T) {
	ep, _ := server(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req := &request{raw: ep.request("POST", "/", []byte("{}")), expect: 200}
	start := time.Now()
	lr := runPlan(ctx, ep, plan{clients: 2, duration: time.Minute, pick: constant(req)}, nil)
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("canceled run took %v", el)
	}
	if len(lr.classes[0].lat) == 0 {
		t.Error("nothing recorded before the cancel")
	}
}

func TestTimelineInterval(t *testing.T) {
	tests := []struct{ d, want time.Duration }{
		{time.Second, 100 * time.Millisecond},
		{5 * time.Second, 100 * time.Millisecond},
		{time.Minute, 600 * time.Millisecond},
		{10 * time.Minute, 6 * time.Second},
	}
	for _, tt := range tests {
		if got := timelineInterval(tt.d); got != tt.want {
			t.Errorf("timelineInterval(%v) = %v, want %v", tt.d, got, tt.want)
		}
	}
}
