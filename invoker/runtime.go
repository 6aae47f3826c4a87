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

// proxyClient adapts runtimes.Client.
type proxyClient struct{ c *runtimes.Client }

func newProxyClient(sb sandbox.Sandbox) runtimeClient {
	return proxyClient{runtimes.NewClient(sb.Connect)}
}

func (p proxyClient) init(ctx context.Context, req *runtimes.InitRequest) (bool, error) {
	err := p.c.Init(ctx, req)
	return err == nil || errors.Is(err, runtimes.ErrInit), err
}

func (p proxyClient) run(ctx context.Context, req *runtimes.RunRequest) (runOutcome, error) {
	res, err := p.c.Run(ctx, req)
	return runOutcome{status: res.Status, result: res.Body}, err
}

func (p proxyClient) close() { p.c.Close() }

// initMessage is the runtime's own message of a refused /init.
func initMessage(err error) string {
	return strings.TrimPrefix(err.Error(), runtimes.ErrInit.Error()+": ")
}

// compileMessage is the compiler's message of a failed kind go build.
func compileMessage(err error) string {
	return strings.TrimPrefix(err.Error(), runtimes.ErrCompile.Error()+": ")
}
