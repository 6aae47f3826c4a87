package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gust-faas/gust/internal/embednats"
)

// Names of the floor parts.
const (
	floorHTTP   = "http"
	floorNATS   = "nats"
	floorRun    = "run"
	floorInvoke = "invoke" // http + nats + run
	// floorSpaced is the raw HTTP round trip, each request spacedPause
	// after the answer to the last: the floor of the warm scenario's spaced
	// part.
	floorSpaced = "http-spaced"
)

// spacedPause is the time between an answer and the next request in the
// warm scenario's spaced part and its floor: long enough for the machine
// to go idle in between.
const spacedPause = 10 * time.Millisecond

// floorCold names the cold-start floor of a kind: "cold-nodejs".
func floorCold(kind string) string { return "cold-" + family(kind) }

// floorPayload is the size of the NATS floor's messages, as in the
// reference measurements (limits.md B2).
const floorPayload = 256

// measureFloor measures every floor part; a part that cannot be measured
// carries its reason instead of numbers.
func (r *runner) measureFloor(ctx context.Context) []FloorPart {
	r.prog.Scenario("floor")
	d := r.cfg.FloorDuration
	var parts []FloorPart
	parts = append(parts, measureHTTPFloor(ctx, 1, 0, d, r.phase))
	if r.cfg.has("warm") {
		p := measureHTTPFloor(ctx, 1, spacedPause, d, r.phase)
		p.Name = floorSpaced
		p.Description = fmt.Sprintf("the same, one call %s after the answer to the last: what a call costs this machine once it has gone idle", fmtDur(spacedPause))
		parts = append(parts, p)
	}
	if c := maxClients(r.cfg); c > 1 {
		p := measureHTTPFloor(ctx, c, 0, d, r.phase)
		p.Name = fmt.Sprintf("http-c%d", c)
		p.Description = fmt.Sprintf("the same with %d clients: the load generator's capacity (client and server share the CPUs)", c)
		parts = append(parts, p)
	}
	parts = append(parts, measureNATSFloor(ctx, d, r.phase))
	parts = append(parts, measureRunFloor(ctx, r.cfg.Kind, d, r.phase))
	parts = append(parts, sumFloor(parts))
	if r.cfg.has("cold") {
		for _, kind := range r.cfg.ColdKinds {
			r.prog.Step("cold start of a bare " + family(kind) + " runtime proxy")
			parts = append(parts, measureColdFloor(ctx, kind, 5))
		}
	}
	return parts
}

func maxClients(c Config) int {
	n := 1
	if c.has("throughput") {
		for _, v := range c.Clients {
			n = max(n, v)
		}
	}
	return n
}

// sumFloor adds the hops of a warm invocation: HTTP in, NATS to the
// invoker, /run to the runtime. Percentiles do not add exactly; the sum of
// p50s is what a path with no other cost would take at its median.
func sumFloor(parts []FloorPart) FloorPart {
	sum := FloorPart{Name: floorInvoke, Clients: 1, Description: "http + nats + run: the hops of a warm invocation with nothing else"}
	n := 0
	for _, p := range parts {
		if p.Name != floorHTTP && p.Name != floorNATS && p.Name != floorRun {
			continue
		}
		if p.Error != "" {
			sum.Error = p.Name + " not measured"
			return sum
		}
		n++
		sum.Latency.Min += p.Latency.Min
		sum.Latency.Mean += p.Latency.Mean
		sum.Latency.P50 += p.Latency.P50
		sum.Latency.P90 += p.Latency.P90
		sum.Latency.P99 += p.Latency.P99
		sum.Latency.P999 += p.Latency.P999
		sum.Latency.Max += p.Latency.Max
		if sum.Latency.N == 0 || p.Latency.N < sum.Latency.N {
			sum.Latency.N = p.Latency.N
		}
	}
	if n != 3 {
		sum.Error = "a hop was not measured"
	}
	return sum
}

// measureHTTPFloor times the load generator against a trivial Go net/http
// server in another process, with the same request an invocation sends;
// each client waits pause after each answer.
func measureHTTPFloor(ctx context.Context, clients int, pause, d time.Duration, phase func(string, time.Duration, counter)) FloorPart {
	part := FloorPart{Name: floorHTTP, Clients: clients, Description: "raw HTTP round trip: this load generator to a trivial Go net/http server in another process"}
	srv, err := startFloorServer()
	if err != nil {
		part.Error = err.Error()
		return part
	}
	defer srv.Close()
	ep, _ := newEndpoint("http://"+srv.addr, "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:key", false)
	req := &request{raw: ep.request("POST", invokePath("noop", true), []byte("{}")), expect: 200}
	lr := runPlan(ctx, ep, plan{clients: clients, warmup: min(d/4, 500*time.Millisecond), duration: d, pause: pause, pick: constant(req)}, phase)
	res := newResult(part.Name, "", clients, &lr, 0)
	part.Latency, part.Throughput = res.Latency, res.Throughput
	if res.Errors > 0 {
		part.Error = fmt.Sprintf("%d errors: %s", res.Errors, topKinds(res.ErrorKinds))
	}
	return part
}

// measureNATSFloor times request-reply on an embedded nats-server between
// two in-process connections, as `gust up` connects its gateway and invoker.
func measureNATSFloor(ctx context.Context, d time.Duration, phase func(string, time.Duration, counter)) FloorPart {
	part := FloorPart{Name: floorNATS, Clients: 1, Description: fmt.Sprintf("raw NATS request-reply, %d B each way, embedded nats-server, in-process connections", floorPayload)}
	if err := natsFloor(ctx, d, phase, &part); err != nil {
		part.Error = err.Error()
	}
	return part
}

func natsFloor(ctx context.Context, d time.Duration, phase func(string, time.Duration, counter), part *FloorPart) error {
	dir, err := os.MkdirTemp("", "gust-bench-nats-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := embednats.Start(embednats.Config{StoreDir: filepath.Join(dir, "js")})
	if err != nil {
		return err
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	responder, err := embednats.Connect(srv, "bench-responder")
	if err != nil {
		return err
	}
	defer responder.Close()
	requester, err := embednats.Connect(srv, "bench-requester")
	if err != nil {
		return err
	}
	defer requester.Close()
	payload := make([]byte, floorPayload)
	for i := range payload {
		payload[i] = 'x'
	}
	sub, err := responder.QueueSubscribe("bench.floor", "bench", func(m *nats.Msg) { m.Respond(payload) })
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	if err := responder.Flush(); err != nil {
		return err
	}
	var cnt countingCounter
	warm := time.Now().Add(min(d/4, 500*time.Millisecond))
	for time.Now().Before(warm) && ctx.Err() == nil {
		if _, err := requester.Request("bench.floor", payload, 5*time.Second); err != nil {
			return err
		}
	}
	phase("nats", d, &cnt)
	lat := make([]time.Duration, 0, 1<<16)
	start := time.Now()
	end := start.Add(d)
	for ctx.Err() == nil {
		t0 := time.Now()
		if !t0.Before(end) {
			break
		}
		if _, err := requester.Request("bench.floor", payload, 5*time.Second); err != nil {
			return err
		}
		lat = append(lat, time.Since(t0))
		cnt.add(false)
	}
	part.Latency = Summarize(lat)
	part.Throughput = float64(len(lat)) / time.Since(start).Seconds()
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	return nil
}
