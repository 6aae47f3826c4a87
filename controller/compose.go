package controller

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// maxComponents is OpenWhisk's action sequence limit n: a sequence runs at
// most n atomic actions, nested sequences inlined; a composition at most n
// components and 2n+1 conductor activations.
const maxComponents = 50

// componentGrace is how much longer than its time limit a composition
// waits for a step's record (OpenWhisk: one minute).
const componentGrace = time.Minute

// OpenWhisk's messages for compositions (Messages.scala).
const (
	msgSequenceTooLong    = "Too many actions in the sequence."
	msgSequenceNotFound   = "Sequence component does not exist."
	msgSequenceFailed     = "Sequence failed."
	msgCompositionTooLong = "Too many actions in the composition."
	msgCompositionFailed  = "Activation failure during composition."
	msgSequenceSelf       = "Sequence may not refer to itself."
	msgSequenceNotAllowed = "Sequence component is not accessible."
	msgSequenceBadName    = "Sequence component is not a valid action name."
	msgBadInput           = "The input of a composition step is not valid JSON."
)

// failures words the failures of a step in a sequence or a composition.
type failures struct {
	timeout func(id string) string // no record within the time limit and grace
	failed  string                 // the invocation failed
}

var (
	inSequence = failures{
		timeout: func(id string) string {
			return "Timeout reached when retrieving activation " + id + " for sequence component."
		},
		failed: msgSequenceFailed,
	}
	inComposition = failures{
		timeout: func(id string) string {
			return "Timeout reached when retrieving activation " + id + " during composition."
		},
		failed: msgCompositionFailed,
	}
)

// stepID derives the activation id of step n of composition parent: the
// first 128 bits of SHA-256("<parent>/<n>") in hex, 32 characters like
// every activation id. A controller that takes a composition over derives
// the same ids and finds the steps already recorded.
func stepID(parent string, n int) string {
	var buf [96]byte
	b := append(buf[:0], parent...)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(n), 10)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// suspended stops a composition without a record: it must continue later
// (no invoker now, the blocking wait elapsed, the controller is stopping,
// the store or NATS failed). running names a step activation that may
// still be running, whose record the continuation awaits until until
// (epoch ms) before running it again.
type suspended struct {
	running string
	until   int64
	err     error
}

func (s *suspended) Error() string {
	if s.running != "" {
		return fmt.Sprintf("composition suspended with step %s running: %v", s.running, s.err)
	}
	return fmt.Sprintf("composition suspended: %v", s.err)
}

func (s *suspended) Unwrap() error { return s.err }

// outcome of one step: its record, or the response of a failure that left
// no record (id then names the activation, if one was started).
type outcome struct {
	rec  *whisk.Activation
	fail whisk.Response
	id   string
}

// run is one execution of a top-level composition: a sequence or a
// conductor action invoked through Invoke or taken from the compose queue.
// It belongs to one goroutine.
type run struct {
	c   *Controller
	top *bus.ActivationMessage
	// deadline (unix ns) of the blocking caller's wait; 0 in the worker.
	deadline int64
	// worker: run from the compose queue (records are written at once).
	worker bool
	// resume: steps may have been recorded by an earlier attempt.
	resume bool
	// running is a step activation an earlier attempt left running; its
	// record is awaited until runningUntil (epoch ms).
	running      string
	runningUntil int64
	// start of the composition, epoch ms; an earlier attempt's steps can
	// move it back.
	start int64
	// sent counts step activations handed to invokers (or found recorded).
	sent int
	// last is the record of the step that finished last, as its invoker
	// replied: the invoker writes it off the critical path, so a
	// composition handed over right after it writes it too (see flush).
	last *whisk.Activation
}

// execTop runs the top-level composition and returns its record.
func (r *run) execTop(ctx context.Context) (*whisk.Activation, error) {
	a := r.top.Action
	self := a.FQN()
	comp := newComponent(self, a, false, r.top.Annotations)
	var out outcome
	var err error
	switch comp.kind {
	case kindSequence:
		out, _, err = r.sequence(ctx, comp, r.top.ActivationID, r.top.Cause, r.top.Args, 0, nil, true)
	default:
		out, err = r.conductor(ctx, comp, r.top.ActivationID, r.top.Cause, r.top.Args, &condCount{}, true)
	}
	if err != nil {
		return nil, err
	}
	return out.rec, nil
}

// step runs one atomic activation of comp, with id and cause, on input:
// through placement, blocking, or found in the store when resuming.
func (r *run) step(ctx context.Context, comp *component, id, cause string, input json.RawMessage, fails failures) (outcome, error) {
	if r.resume {
		if rec := r.recorded(ctx, id); rec != nil {
			r.sent++
			return outcome{rec: rec}, nil
		}
	}
	args, err := comp.argsFor(input)
	if err != nil {
		r.c.log.Warn("composition step input is not valid JSON", "activation", id, "error", err)
		return outcome{fail: internalError(msgBadInput)}, nil
	}
	a := comp.action
	msg := &bus.ActivationMessage{
		V:            bus.Version,
		ActivationID: id,
		TransID:      r.top.TransID,
		Namespace:    r.top.Namespace,
		Subject:      r.top.Subject,
		Action:       a,
		Args:         args,
		InitEnv:      comp.initEnv,
		Blocking:     true,
		Cause:        cause,
		Annotations:  comp.stepAnns,
		Received:     time.Now().UnixMilli(),
	}
	if comp.provideAPIKey {
		msg.APIKey = r.top.APIKey
	}
	limit := time.Duration(max(a.Limits.Timeout, whisk.MinTimeout)) * time.Millisecond
	wait, limited := limit+componentGrace, false
	if r.deadline != 0 {
		left := time.Duration(r.deadline - time.Now().UnixNano())
		if left <= 0 {
			return outcome{}, &suspended{err: ErrStillRunning}
		}
		if left < wait {
			wait, limited = left, true
		}
	}
	rec, err := r.c.place(ctx, msg, wait)
	if err == nil {
		r.sent++
		if len(rec.Response.Result) == 0 {
			// The invoker left a large result out of its reply and stored
			// the record first.
			if full, err := r.c.store.GetActivation(ctx, r.top.Namespace, id); err == nil {
				rec = full
			}
		}
		r.last = rec
		return outcome{rec: rec}, nil
	}
	until := msg.Received + (limit + componentGrace).Milliseconds()
	switch {
	case errors.Is(err, ErrNoInvokers), errors.Is(err, ErrOverloaded):
		return outcome{}, &suspended{err: err} // never reached an invoker
	case errors.Is(err, ErrStillRunning) && !limited && r.c.running.Load() && ctx.Err() == nil:
		// The component outlived its time limit and the grace: OpenWhisk
		// gives up on it.
		r.sent++
		r.c.log.Warn("composition step not answered in time", "activation", id, "wait", wait)
		return outcome{fail: internalError(fails.timeout(id)), id: id}, nil
	}
	if errors.Is(err, ErrStillRunning) || ctx.Err() != nil {
		// The caller's wait elapsed or the controller is stopping: the step
		// runs on; whoever continues the composition awaits its record.
		r.sent++
		return outcome{}, &suspended{running: id, until: until, err: err}
	}
	if transient(err) {
		return outcome{}, &suspended{err: err} // not sent: NATS is away
	}
	// The invoker could not take it (OpenWhisk: the sequence fails).
	r.c.log.Warn("composition step failed", "activation", id, "action", comp.fqn.String(), "error", err)
	return outcome{fail: internalError(fails.failed)}, nil
}

// transient reports whether a failed send may succeed later: the NATS
// connection is down or going away.
func transient(err error) bool {
	return errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionDraining) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrReconnectBufExceeded) ||
		errors.Is(err, nats.ErrDisconnected) || errors.Is(err, nats.ErrTimeout)
}

// flush writes the record of the step that finished last before the
// composition is handed to another attempt, which must find it. Records
// are written once per id: whichever of this and the invoker's write
// comes second changes nothing.
func (r *run) flush(ctx context.Context) {
	if r.last == nil {
		return
	}
	if err := r.c.putRecord(ctx, r.last); err != nil {
		r.c.log.Warn("writing the last step's record before a hand-over", "activation", r.last.ActivationID, "error", err)
	}
}

// recorded returns the record of step id if an earlier attempt stored it.
// For the step an earlier attempt left running it polls until the record
// appears or the step's time is up.
func (r *run) recorded(ctx context.Context, id string) *whisk.Activation {
	poll := 50 * time.Millisecond
	for {
		rec, err := r.c.store.GetActivation(ctx, r.top.Namespace, id)
		if err == nil {
			if rec.Start > 0 && rec.Start < r.start {
				r.start = rec.Start
			}
			return rec
		}
		if !errors.Is(err, store.ErrNotFound) {
			if ctx.Err() == nil {
				r.c.log.Warn("looking up a composition step; running it", "activation", id, "error", err)
			}
			return nil
		}
		if id != r.running || time.Now().UnixMilli() >= r.runningUntil {
			return nil
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		poll = min(2*poll, time.Second)
	}
}

// write stores a record of the composition: at once from the worker (the
// queue message is acked only after the top record is durable), off the
// critical path for a blocking caller.
func (r *run) write(ctx context.Context, rec *whisk.Activation) {
	if !r.worker {
		r.c.recs.write(rec)
		return
	}
	if err := r.c.putRecord(ctx, rec); err != nil {
		r.c.log.Warn("storing a nested composition record", "activation", rec.ActivationID, "error", err)
	}
}

// tally accumulates a composition's record: the step ids (its logs), the
// sum of their durations (OpenWhisk's "user time") and their largest
// memory limit.
type tally struct {
	logs     []string
	duration int64
	memory   int
}

func (t *tally) add(rec *whisk.Activation) {
	t.logs = append(t.logs, rec.ActivationID)
	d := rec.Duration
	if d == 0 && rec.End > rec.Start {
		d = rec.End - rec.Start
	}
	t.duration += d
	t.memory = max(t.memory, memoryOf(rec))
}

// memoryOf reads the memory limit from a record's limits annotation.
func memoryOf(rec *whisk.Activation) int {
	raw := rec.Annotations.Get(whisk.AnnLimits)
	if raw == nil {
		return 0
	}
	var l struct {
		Memory int `json:"memory"`
	}
	if json.Unmarshal(raw, &l) != nil {
		return 0
	}
	return l.Memory
}

// record builds a composition's activation record (OpenWhisk's
// makeSequenceActivation and completeActivation): kind sequence, the step
// ids as logs, topmost on the outermost, causedBy on nested ones, limits
// with the largest memory of the steps.
func (r *run) record(a *whisk.Action, id, cause string, topmost, isConductor bool, start int64, t *tally, resp whisk.Response, extra whisk.KeyValues) *whisk.Activation {
	end := time.Now().UnixMilli()
	anns := make(whisk.KeyValues, 0, 6+len(extra))
	anns = append(anns,
		whisk.KeyValue{Key: whisk.AnnTopmost, Value: jsonBool(topmost)},
		whisk.KeyValue{Key: whisk.AnnPath, Value: jsonString(a.FQN().Path())},
		whisk.KeyValue{Key: whisk.AnnKind, Value: json.RawMessage(`"` + whisk.KindSequence + `"`)},
	)
	if isConductor {
		anns = append(anns, whisk.KeyValue{Key: annConductor, Value: json.RawMessage("true")})
	}
	if !topmost {
		anns = append(anns, whisk.KeyValue{Key: whisk.AnnCausedBy, Value: json.RawMessage(`"` + causedBySequence + `"`)})
	}
	anns = append(anns, extra...)
	if t.memory > 0 {
		l := a.Limits
		l.Memory = t.memory
		raw, _ := json.Marshal(l)
		anns = append(anns, whisk.KeyValue{Key: whisk.AnnLimits, Value: raw})
	}
	logs := t.logs
	if logs == nil {
		logs = []string{}
	}
	if end < start {
		end = start
	}
	return &whisk.Activation{
		Namespace:    r.top.Namespace,
		Name:         a.Name,
		Version:      a.Version,
		Subject:      r.top.Subject,
		ActivationID: id,
		Start:        start,
		End:          end,
		Duration:     t.duration,
		StatusCode:   resp.StatusCode,
		Cause:        cause,
		Response:     whisk.NewResponse(resp.StatusCode, resp.Result),
		Logs:         logs,
		Annotations:  anns,
	}
}

// hasError reports whether a step's result stops a sequence: a failed
// status, or a result object with a top-level "error" field.
func hasError(rec *whisk.Activation) bool {
	if rec.Response.StatusCode != whisk.StatusSuccess {
		return true
	}
	res := rec.Response.Result
	if !bytes.Contains(res, []byte(`"error"`)) {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(res, &m) != nil {
		return false
	}
	_, ok := m["error"]
	return ok
}

func appError(msg string) whisk.Response {
	return whisk.NewResponse(whisk.StatusApplicationError, whisk.ErrorResult(msg))
}

func internalError(msg string) whisk.Response {
	return whisk.NewResponse(whisk.StatusInternalError, whisk.ErrorResult(msg))
}

func jsonBool(b bool) json.RawMessage {
	if b {
		return json.RawMessage("true")
	}
	return json.RawMessage("false")
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
