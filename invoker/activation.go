package invoker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/runtimes"
	"github.com/gust-faas/gust/whisk"
)

// OpenWhisk's messages for developer errors the invoker detects itself.
const (
	msgAbnormalInit = "The action did not initialize and exited unexpectedly."
	msgAbnormalRun  = "The action did not produce a valid response and exited unexpectedly."
)

func msgInitTimeout(ms int) string {
	return "The action exceeded its time limits of " + strconv.Itoa(ms) + " milliseconds during initialization."
}

func msgTooLarge(n int) string {
	return "The action produced a response that exceeded the allowed length: " + strconv.Itoa(n) + " > " + strconv.Itoa(whisk.MaxPayload) + " bytes."
}

// run is one activation in progress: what execute learns on the way to the
// record.
type run struct {
	msg      *bus.ActivationMessage
	action   *whisk.Action
	kind     string
	limits   whisk.Limits
	fqn      whisk.FQN
	start    time.Time // init or run start: the record's start
	end      time.Time
	startKnd startKind
	started  bool // a sandbox was found (start kind known)
	initTime time.Duration
	inited   bool
	timeout  bool
	code     int
	result   json.RawMessage
	logs     []string
}

// execute runs one activation and returns its record. The error is non-nil
// when the invoker could not run it (the record then holds a whisk internal
// error): ErrNoCapacity, ErrShuttingDown, ErrTooBig, ErrBadMessage,
// ErrSandbox, ErrCode. Developer and application errors are results, not
// errors.
func (inv *Invoker) execute(ctx context.Context, msg *bus.ActivationMessage) (*whisk.Activation, error) {
	r := &run{msg: msg, action: msg.Action}
	if err := r.prepare(); err != nil {
		return inv.internalError(r, err), err
	}
	d := demand{
		key:     poolKey{ns: msg.Namespace, actionNS: r.action.Namespace, name: r.action.Name, rev: r.action.Rev},
		kind:    r.kind,
		mem:     r.limits.Memory,
		conc:    1,
		network: r.action.Annotations.Bool(whisk.AnnNetwork),
		action:  r.action,
	}
	if r.kind == whisk.KindNode && r.limits.Concurrency > 1 {
		d.conc = r.limits.Concurrency
	}
	c, start, err := inv.pool.acquire(ctx, &d)
	if err != nil {
		var ie *initError
		if errors.As(err, &ie) {
			// The shared sandbox this activation waited for failed /init.
			r.start, r.startKnd, r.started = time.Now(), startWarm, true
			r.developerError(ie.err.Error())
			r.end = r.start
			return inv.record(r), nil
		}
		if ctx.Err() != nil && !errors.Is(err, ErrShuttingDown) {
			err = fmt.Errorf("%w: %w", ErrShuttingDown, err)
		}
		return inv.internalError(r, err), err
	}
	r.startKnd, r.started = start, true
	shared := c.maxConc > 1
	limitBytes := r.limits.Logs << 20
	r.start = time.Now()
	if !shared {
		c.logs.begin(limitBytes)
	}
	if start.needsInit() {
		failed, err := inv.init(ctx, r, c, shared)
		if err != nil {
			return inv.internalError(r, err), err
		}
		if failed {
			return inv.record(r), nil
		}
	}
	if err := inv.runOnce(ctx, r, c, shared); err != nil {
		return inv.internalError(r, err), err
	}
	return inv.record(r), nil
}

// prepare checks the message and fills the action's defaults.
func (r *run) prepare() error {
	m := r.msg
	switch {
	case m.ActivationID == "":
		return fmt.Errorf("%w: no activation id", ErrBadMessage)
	case r.action == nil:
		return fmt.Errorf("%w: no action", ErrBadMessage)
	case m.Namespace == "":
		return fmt.Errorf("%w: no invoking namespace", ErrBadMessage)
	case r.action.Name == "" || r.action.Namespace == "":
		return fmt.Errorf("%w: the action has no name or namespace", ErrBadMessage)
	}
	r.fqn = r.action.FQN()
	kind, err := whisk.CanonicalKind(r.action.Exec.Kind)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if kind == whisk.KindSequence {
		return fmt.Errorf("%w: sequences run in the controller, not in a sandbox", ErrBadMessage)
	}
	r.kind = kind
	l := r.action.Limits
	def := whisk.DefaultLimits()
	if l == (whisk.Limits{}) {
		l = def // no limits at all: the defaults (logs 0 MB is legal otherwise)
	}
	if l.Timeout == 0 {
		l.Timeout = def.Timeout
	}
	if l.Memory == 0 {
		l.Memory = def.Memory
	}
	if l.Concurrency == 0 {
		l.Concurrency = def.Concurrency
	}
	if err := l.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	r.limits = l
	if len(m.Args) > whisk.MaxPayload {
		return fmt.Errorf("%w: arguments of %d bytes exceed %d", ErrBadMessage, len(m.Args), whisk.MaxPayload)
	}
	return nil
}

// init loads the action's code into a fresh sandbox. A developer error
// (bad code, init timeout, crash) completes r (failed is true) and destroys
// the sandbox; a returned error is the invoker's failure (code unavailable,
// shutdown).
func (inv *Invoker) init(ctx context.Context, r *run, c *container, shared bool) (failed bool, err error) {
	fail := func(err error) (bool, error) {
		if err != nil {
			r.developerError(err.Error()) // for the activations sharing c
		}
		if shared {
			inv.pool.initFailed(c, errors.New(resultMessage(r)))
		} else {
			inv.pool.release(c, relKill)
			r.logs = c.logs.finish(inv.cfg.LogWait, true)
		}
		r.end = time.Now()
		if err != nil && ctx.Err() != nil {
			return true, fmt.Errorf("%w: %w", ErrShuttingDown, err)
		}
		return true, err
	}
	code, binary, err := inv.code.load(ctx, r.action, r.kind)
	if err != nil {
		if errors.Is(err, runtimes.ErrCompile) {
			r.developerError(compileMessage(err))
			r.inited, r.initTime = true, time.Since(r.start)
			return fail(nil)
		}
		return fail(err)
	}
	env := make(map[string]string, len(r.msg.InitEnv)+7)
	for k, v := range r.msg.InitEnv {
		env[k] = v
	}
	env["__OW_API_HOST"] = inv.cfg.APIHost
	env["__OW_NAMESPACE"] = r.msg.Namespace
	env["__OW_ACTION_NAME"] = r.fqn.String()
	env["__OW_ACTION_VERSION"] = r.action.Version
	if r.msg.APIKey != "" {
		env["__OW_API_KEY"] = r.msg.APIKey
	}
	if shared {
		env["__OW_ALLOW_CONCURRENT"] = "true"
	}
	main := r.action.Exec.Main
	if main == "" {
		main = "main"
	}
	req := &runtimes.InitRequest{Value: runtimes.InitValue{
		Name: r.action.Name, Main: main, Code: code, Binary: binary, Env: env,
	}}
	timeout := time.Duration(r.limits.Timeout) * time.Millisecond
	ictx, cancel := context.WithTimeout(ctx, timeout)
	answered, err := c.rt.init(ictx, req)
	timedOut := ictx.Err() != nil || errors.Is(err, context.DeadlineExceeded) // before cancel ends ictx
	cancel()
	r.inited, r.initTime = true, time.Since(r.start)
	if answered && !shared {
		c.logs.promise()
	}
	if err == nil {
		inv.pool.initialized(c)
		return false, nil
	}
	switch {
	case ctx.Err() != nil:
		return fail(err)
	case !answered && timedOut:
		r.developerError(msgInitTimeout(r.limits.Timeout))
		r.timeout = true
	case answered:
		r.developerError(initMessage(err))
		if reason := c.exitReason(); reason != "" {
			r.developerError(reason)
		}
	default:
		r.developerError(exitMessage(c, msgAbnormalInit))
	}
	return fail(nil)
}

// runOnce POSTs /run and completes r with its result, enforcing the
// action's time limit.
func (inv *Invoker) runOnce(ctx context.Context, r *run, c *container, shared bool) error {
	timeout := time.Duration(r.limits.Timeout) * time.Millisecond
	runStart := time.Now()
	deadline := runStart.Add(timeout)
	args := r.msg.Args
	if len(args) == 0 {
		args = emptyObject
	}
	req := &runtimes.RunRequest{
		Value:         args,
		Namespace:     r.msg.Namespace,
		ActionName:    r.fqn.String(),
		ActionVersion: r.action.Version,
		ActivationID:  r.msg.ActivationID,
		TransactionID: r.msg.TransID,
		Deadline:      strconv.FormatInt(deadline.UnixMilli(), 10),
		APIKey:        r.msg.APIKey,
	}
	rctx, cancel := context.WithDeadline(ctx, deadline)
	out, err := c.rt.run(rctx, req)
	// Before cancel, which ends rctx too; a pipe's or a connection's deadline
	// can fire a moment before rctx's timer.
	timedOut := rctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)
	cancel()
	r.end = time.Now()
	how := relOK
	switch {
	case err == nil:
		if !shared && !out.settled {
			c.logs.promise()
		}
		r.code, r.result = out.status, out.result
		if len(r.result) > whisk.MaxPayload {
			r.developerError(msgTooLarge(len(r.result)))
		}
		if r.code == whisk.StatusDeveloperError {
			how = relRetire
			// The runtime answered for a process the kernel killed (an
			// OOM kill of the action's process): say why, when known.
			if reason := c.exitReason(); reason != "" {
				r.developerError(reason)
			}
		}
	case ctx.Err() != nil:
		inv.pool.release(c, relKill)
		return fmt.Errorf("%w: %w", ErrShuttingDown, err)
	case timedOut:
		r.developerError(whisk.TimeoutMessage(r.limits.Timeout))
		r.timeout = true
		how = relKill
	default:
		// The connection broke: the runtime died (OOM kill, crash).
		r.developerError(exitMessage(c, msgAbnormalRun))
		how = relKill
	}
	if how == relKill {
		inv.pool.release(c, relKill) // the sandbox is gone: its log streams end
		if !shared {
			r.logs = c.logs.finish(inv.cfg.LogWait, r.inited)
		}
		return nil
	}
	if !shared {
		r.logs = c.logs.finish(inv.cfg.LogWait, r.inited)
	}
	inv.pool.release(c, how)
	return nil
}

var emptyObject = json.RawMessage(`{}`)

// developerError sets r's result to {"error": msg} with status 2.
func (r *run) developerError(msg string) {
	r.code = whisk.StatusDeveloperError
	r.result = whisk.ErrorResult(msg)
}

// resultMessage is the "error" text of r's result.
func resultMessage(r *run) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(r.result, &e) == nil && e.Error != "" {
		return e.Error
	}
	return string(r.result)
}

// exitMessage explains a sandbox that stopped answering: the driver's exit
// reason (e.g. that the action exceeded its memory limit) when it knows
// one, else OpenWhisk's generic message.
func exitMessage(c *container, fallback string) string {
	// A sandbox that lives on (its proxy, after the launcher was OOM-killed)
	// knows the reason already.
	if reason := c.exitReason(); reason != "" {
		return reason
	}
	t := time.NewTimer(50 * time.Millisecond)
	defer t.Stop()
	select {
	case <-c.sb.Done():
	case <-t.C:
		return fallback
	}
	if reason := c.exitReason(); reason != "" {
		return reason
	}
	return fallback
}

// internalError completes r as a whisk internal error for err.
func (inv *Invoker) internalError(r *run, err error) *whisk.Activation {
	now := time.Now()
	if r.start.IsZero() {
		r.start = now
	}
	if r.end.Before(r.start) {
		r.end = now
	}
	r.code = whisk.StatusInternalError
	r.result = whisk.ErrorResult(err.Error())
	if r.action == nil {
		r.action = &whisk.Action{}
	}
	return inv.record(r)
}

// record builds the activation record of a completed run.
func (inv *Invoker) record(r *run) *whisk.Activation {
	m := r.msg
	a := r.action
	start := r.start.UnixMilli()
	end := r.end.UnixMilli()
	if end < start {
		end = start
	}
	logs := r.logs
	if logs == nil {
		logs = []string{}
	}
	ann := make(whisk.KeyValues, 0, 8+len(m.Annotations))
	if r.fqn.Name != "" {
		ann = append(ann, whisk.KeyValue{Key: whisk.AnnPath, Value: jsonString(r.fqn.Path())})
	}
	ann = append(ann,
		whisk.KeyValue{Key: whisk.AnnWaitTime, Value: jsonInt(max(start-m.Received, 0))},
		whisk.KeyValue{Key: whisk.AnnKind, Value: jsonString(orDefault(r.kind, a.Exec.Kind))},
		whisk.KeyValue{Key: whisk.AnnTimeout, Value: jsonBool(r.timeout)},
		whisk.KeyValue{Key: whisk.AnnLimits, Value: jsonLimits(r.limits)},
	)
	if r.inited {
		ann = append(ann, whisk.KeyValue{Key: whisk.AnnInitTime, Value: jsonInt(r.initTime.Milliseconds())})
	}
	if r.started {
		ann = append(ann, whisk.KeyValue{Key: whisk.AnnStart, Value: jsonString(r.startKnd.String())})
	}
	ann = append(ann, m.Annotations...)
	return &whisk.Activation{
		Namespace:    m.Namespace,
		Name:         a.Name,
		Version:      a.Version,
		Subject:      m.Subject,
		ActivationID: m.ActivationID,
		Start:        start,
		End:          end,
		Duration:     end - start,
		StatusCode:   r.code,
		Cause:        m.Cause,
		Response:     whisk.NewResponse(r.code, r.result),
		Logs:         logs,
		Annotations:  ann,
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func jsonInt(n int64) json.RawMessage { return strconv.AppendInt(nil, n, 10) }

func jsonBool(b bool) json.RawMessage {
	if b {
		return json.RawMessage("true")
	}
	return json.RawMessage("false")
}

// jsonString encodes s; names and kinds are plain ASCII, which skips
// encoding/json.
func jsonString(s string) json.RawMessage {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return b
		}
	}
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func jsonLimits(l whisk.Limits) json.RawMessage {
	b := make([]byte, 0, 64)
	b = append(b, `{"timeout":`...)
	b = strconv.AppendInt(b, int64(l.Timeout), 10)
	b = append(b, `,"memory":`...)
	b = strconv.AppendInt(b, int64(l.Memory), 10)
	b = append(b, `,"logs":`...)
	b = strconv.AppendInt(b, int64(l.Logs), 10)
	b = append(b, `,"concurrency":`...)
	b = strconv.AppendInt(b, int64(l.Concurrency), 10)
	return append(b, '}')
}
