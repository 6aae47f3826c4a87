package invoker

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

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
}

// proxyClient adapts runtimes.Client. After a successful /init of a sandbox
// that takes one activation at a time it asks the proxy to hand the
// launcher over, and from then on runs through runtimes.Direct: the run
// costs a pipe write and read in the invoker instead of two more wake-ups
// of the proxy's process. Runtimes that cannot be handed over (native
// executables, concurrent Node.js, a stock OpenWhisk proxy) stay on /run.
type proxyClient struct {
	c      *runtimes.Client
	logs   *logCollector
	direct *runtimes.Direct // set by init, before the first run
}

func newProxyClient(sb sandbox.Sandbox, logs *logCollector) runtimeClient {
	return &proxyClient{c: runtimes.NewClient(sb.Connect), logs: logs}
}

func (p *proxyClient) init(ctx context.Context, req *runtimes.InitRequest) (bool, error) {
	err := p.c.Init(ctx, req)
	if err == nil && req.Value.Env["__OW_ALLOW_CONCURRENT"] != "true" {
		// A failed handover leaves the proxy serving /run, as before.
		p.direct, _ = p.c.Handover(ctx)
	}
	return err == nil || errors.Is(err, runtimes.ErrInit), err
}

func (p *proxyClient) run(ctx context.Context, req *runtimes.RunRequest) (runOutcome, error) {
	if p.direct == nil {
		res, err := p.c.Run(ctx, req)
		return runOutcome{status: res.Status, result: res.Body}, err
	}
	res, err := p.direct.Run(ctx, req)
	if err == nil {
		// What the proxy does after a /run: the launcher has flushed the
		// action's output, so the sentinels end this activation's logs.
		p.logs.sentinels()
	}
	return runOutcome{status: res.Status, result: res.Body}, err
}

func (p *proxyClient) close() {
	p.c.Close()
	if p.direct != nil {
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
