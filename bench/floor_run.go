package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/gust-faas/gust/runtimes"
	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/sandbox/process"
)

// runtimeProxy is a Gust runtime proxy in a process sandbox (no isolation:
// the floor measures the proxy and the language runtime, nothing else).
type runtimeProxy struct {
	sb     sandbox.Sandbox
	client *runtimes.Client
	direct *runtimes.Direct // after handOver
	null   *os.File
}

// floorDriver is a process driver in a new temporary directory. Making it
// prepares the runtime launchers, as an invoker's driver does once at
// start: never inside a timed start.
type floorDriver struct {
	*process.Driver
	dir string
}

func newFloorDriver() (*floorDriver, error) {
	dir, err := os.MkdirTemp("", "gbr-") // short: unix socket paths are limited
	if err != nil {
		return nil, err
	}
	return &floorDriver{process.New(process.Config{RunDir: dir}), dir}, nil
}

// Close removes the driver's directory; its proxies must be closed first.
func (f *floorDriver) Close() { os.RemoveAll(f.dir) }

// startProxy starts a proxy for kind with drv and initializes it with the
// no-op action.
func startProxy(ctx context.Context, drv *floorDriver, kind, id string) (*runtimeProxy, error) {
	p := &runtimeProxy{}
	var err error
	if p.null, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0); err != nil {
		p.Close()
		return nil, err
	}
	if p.sb, err = drv.Create(ctx, sandbox.Spec{ID: id, Kind: kind, MemoryMB: 128, Stdout: p.null, Stderr: p.null}); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.sb.Start(ctx); err != nil {
		p.Close()
		return nil, err
	}
	p.client = runtimes.NewClient(p.sb.Connect)
	err = p.client.Init(ctx, &runtimes.InitRequest{Value: runtimes.InitValue{Name: "noop", Main: "main", Code: noopCode(kind)}})
	if err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// runRequest is the /run body of a no-op activation, as an invoker sends it.
func runRequest(i int) *runtimes.RunRequest {
	return &runtimes.RunRequest{
		Value:         json.RawMessage(`{}`),
		Namespace:     "guest",
		ActionName:    "/guest/noop",
		ActionVersion: "0.0.1",
		ActivationID:  fmt.Sprintf("%032x", i),
		Deadline:      strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10),
	}
}

// handOver takes the launcher from the proxy, as the invoker does after a
// sandbox's first run: runs then go straight to the launcher's pipes.
func (p *runtimeProxy) handOver(ctx context.Context) error {
	d, err := p.client.Handover(ctx)
	if err != nil {
		return err
	}
	p.direct = d
	return nil
}

// run runs the action once, through the proxy's /run or, after handOver,
// the launcher's pipes, and checks its answer.
func (p *runtimeProxy) run(ctx context.Context, req *runtimes.RunRequest) error {
	var res runtimes.RunResult
	var err error
	if p.direct != nil {
		res, err = p.direct.Run(ctx, req)
	} else {
		res, err = p.client.Run(ctx, req)
	}
	if err != nil {
		return err
	}
	if !res.Success() {
		return fmt.Errorf("/run answered %d: %s", res.StatusCode, snippet(res.Body))
	}
	return nil
}

// Close stops the proxy and removes its files.
func (p *runtimeProxy) Close() {
	if p.direct != nil {
		p.direct.Close()
	}
	if p.client != nil {
		p.client.Close()
	}
	if p.sb != nil {
		p.sb.Destroy(context.Background())
	}
	if p.null != nil {
		p.null.Close()
	}
}

// measureRunFloor times direct runs on a warm runtime, through the
// launcher's pipes (runtimes.Direct), as the invoker runs it.
func measureRunFloor(ctx context.Context, kind string, d time.Duration, phase func(string, time.Duration, counter)) FloorPart {
	part := FloorPart{Name: floorRun, Clients: 1, Description: "direct run of a no-op " + family(kind) + " action on a warm runtime: the launcher's pipes, as the invoker runs it (process sandbox)"}
	drv, err := newFloorDriver()
	if err != nil {
		part.Error = err.Error()
		return part
	}
	defer drv.Close()
	p, err := startProxy(ctx, drv, kind, "floor-run")
	if err != nil {
		part.Error = err.Error()
		return part
	}
	defer p.Close()
	err = p.run(ctx, runRequest(0)) // a sandbox's first run goes through the proxy
	if err == nil {
		err = p.handOver(ctx)
	}
	if err != nil {
		part.Error = err.Error()
		return part
	}
	req := runRequest(0)
	warm := time.Now().Add(min(d/4, 500*time.Millisecond))
	for time.Now().Before(warm) && ctx.Err() == nil {
		if err := p.run(ctx, req); err != nil {
			part.Error = err.Error()
			return part
		}
	}
	var cnt countingCounter
	phase("run", d, &cnt)
	lat := make([]time.Duration, 0, 1<<16)
	start := time.Now()
	end := start.Add(d)
	for ctx.Err() == nil {
		t0 := time.Now()
		if !t0.Before(end) {
			break
		}
		if err := p.run(ctx, req); err != nil {
			part.Error = err.Error()
			return part
		}
		lat = append(lat, time.Since(t0))
		cnt.add(false)
	}
	part.Latency = Summarize(lat)
	part.Throughput = float64(len(lat)) / time.Since(start).Seconds()
	return part
}

// measureColdFloor times n starts of a bare runtime proxy to its first
// result: sandbox start, /init of the no-op action, first /run.
func measureColdFloor(ctx context.Context, kind string, n int) FloorPart {
	part := FloorPart{Name: floorCold(kind), Clients: 1, Description: "a new " + family(kind) + " runtime proxy (process sandbox) to its first result: start, /init, /run"}
	drv, err := newFloorDriver()
	if err != nil {
		part.Error = err.Error()
		return part
	}
	defer drv.Close()
	var lat []time.Duration
	for i := 0; i < n && ctx.Err() == nil; i++ {
		t0 := time.Now()
		p, err := startProxy(ctx, drv, kind, "floor-cold-"+strconv.Itoa(i))
		if err == nil {
			err = p.run(ctx, runRequest(i))
		}
		d := time.Since(t0)
		if p != nil {
			p.Close()
		}
		if err != nil {
			part.Error = err.Error()
			return part
		}
		lat = append(lat, d)
	}
	part.Latency = Summarize(lat)
	return part
}
