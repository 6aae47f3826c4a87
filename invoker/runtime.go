package invoker

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gust-faas/gust/runtimes"
	"github.com/gust-faas/gust/sandbox"
)

// runtimeClient is what an activation needs of a sandbox's runtime proxy.
type runtimeClient interface {
	// init POSTs /init; answered reports that the proxy replied (so it
	// printed its log sentinels), err wraps runtimes.ErrInit when the
	// reply refused the code.
	init(ctx context.Context, req *runtimes.InitRequest) (answered bool, err error)
	// run POSTs /run; an error means no answer came.
	run(ctx context.Context, req *runtimes.RunRequest) (runOutcome, error)
	close()
}

// runOutcome is a classified /run answer: a whisk status code and the
// result (the action's, or {"error": ...} for a developer error).
type runOutcome struct {
	status int
	result json.RawMessage
	// settled: the logs are complete (logCollector.settle), no sentinels
	// follow.
	settled bool
}

// proxyClient adapts runtimes.Client. After the first run of a sandbox that
// takes one activation at a time it asks the proxy to hand the launcher over,
// and from then on runs through runtimes.Direct: a run costs a pipe write and
// read in the invoker instead of two more wake-ups of the proxy's process.
// Runtimes that cannot be handed over (native executables, concurrent
// Node.js, a stock OpenWhisk proxy) stay on /run.
//
// The handover runs on its own goroutine after the first run has answered,
// off the cold start's critical path (it costs a new connection to a proxy
// that is still settling: 0.3-0.7 ms measured). The pool gives the sandbox
// to one activation at a time, so the fields need no lock: the handover
// goroutine sets direct before it closes handing, and the next run waits
// for handing.
type proxyClient struct {
	c           *runtimes.Client
	logs        *logCollector
	canHandOver bool          // set by a successful init
	handing     chan struct{} // a handover in flight
	direct      *runtimes.Direct
}

// handoverTimeout bounds a handover; it is a local exchange of a few
// hundred microseconds.
const handoverTimeout = 5 * time.Second

func newProxyClient(sb sandbox.Sandbox, logs *logCollector) runtimeClient {
	return &proxyClient{c: runtimes.NewClient(sb.Connect), logs: logs}
}

func (p *proxyClient) init(ctx context.Context, req *runtimes.InitRequest) (bool, error) {
	err := p.c.Init(ctx, req)
	p.canHandOver = err == nil && req.Value.Env["__OW_ALLOW_CONCURRENT"] != "true"
	return err == nil || errors.Is(err, runtimes.ErrInit), err
}

func (p *proxyClient) run(ctx context.Context, req *runtimes.RunRequest) (runOutcome, error) {
	if p.handing != nil {
		select {
		case <-p.handing:
			p.handing = nil
		case <-ctx.Done():
			return runOutcome{}, ctx.Err()
		}
	}
	if p.direct != nil {
		res, err := p.direct.Run(ctx, req)
		if err == nil {
			// The launcher flushed the action's output before its result:
			// what is in the log pipes now is all of this run's.
			p.logs.settle()
		}
		return runOutcome{status: res.Status, result: res.Body, settled: true}, err
	}
	res, err := p.c.Run(ctx, req)
	if err == nil && p.canHandOver {
		p.canHandOver = false
		h := make(chan struct{})
		p.handing = h
		go func() {
			defer close(h)
			hctx, cancel := context.WithTimeout(context.Background(), handoverTimeout)
			defer cancel()
			p.direct, _ = p.c.Handover(hctx) // refused or failed: /run goes on
		}()
	}
	return runOutcome{status: res.Status, result: res.Body}, err
}

func (p *proxyClient) close() {
	p.c.Close()
	if h := p.handing; h != nil {
		go func() {
			<-h
			if p.direct != nil {
				p.direct.Close()
			}
		}()
	} else if p.direct != nil {
		p.direct.Close()
	}
}

// initMessage is the runtime's own message of a refused /init.
func initMessage(err error) string {
	return strings.TrimPrefix(err.Error(), runtimes.ErrInit.Error()+": ")
}

// compileMessage is the compiler's message of a failed kind go build.
func compileMessage(err error) string {
	return strings.TrimPrefix(err.Error(), runtimes.ErrCompile.Error()+": ")
}
