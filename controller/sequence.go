package controller

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// sequence runs sequence seq as activation id (caused by cause) on input:
// each component's result is the next one's input, nested sequences run
// inline with records of their own, and the first result with an error
// stops the chain and becomes the sequence's. atomics counts the atomic
// actions the enclosing sequences ran (OpenWhisk's limit applies to them
// all); stack holds the enclosing sequences, to refuse a cycle created
// after the gateway checked. It returns the sequence's record, already
// written unless topmost, and the atomic count after it.
func (r *run) sequence(ctx context.Context, seq *component, id, cause string, input json.RawMessage, atomics int, stack []whisk.FQN, topmost bool) (outcome, int, error) {
	start := time.Now().UnixMilli()
	if topmost {
		start = r.start
	} else if r.resume {
		// Finished by an earlier attempt: its record is complete.
		if rec := r.recorded(ctx, id); rec != nil {
			return outcome{rec: rec}, atomics + len(rec.Logs), nil
		}
	}
	a := seq.action
	stack = append(stack, seq.fqn)
	var t tally
	resp := whisk.NewResponse(whisk.StatusSuccess, input)
	payload := input
	for i, name := range a.Exec.Components {
		if atomics >= maxComponents {
			resp = appError(msgSequenceTooLong)
			break
		}
		sid := stepID(id, i)
		comp, failure, err := r.sequenceComponent(ctx, name, a.FQN().Namespace, stack)
		if err != nil {
			return outcome{}, atomics, err
		}
		if comp == nil {
			resp = failure
			break
		}
		var out outcome
		switch comp.kind {
		case kindSequence:
			out, atomics, err = r.sequence(ctx, comp, sid, id, payload, atomics, stack, false)
		case kindConductor:
			out, err = r.conductor(ctx, comp, sid, id, payload, &condCount{}, false)
			atomics++
		default:
			out, err = r.step(ctx, comp, sid, id, payload, inSequence)
			atomics++
		}
		if err != nil {
			return outcome{}, atomics, err
		}
		if out.rec == nil {
			if out.id != "" {
				t.logs = append(t.logs, out.id)
			}
			resp = out.fail
			break
		}
		t.add(out.rec)
		resp = out.rec.Response
		if atomics > maxComponents {
			resp = appError(msgSequenceTooLong)
			break
		}
		if hasError(out.rec) {
			break
		}
		payload = out.rec.Response.Result
	}
	anns := seq.binding
	if topmost {
		anns = r.top.Annotations
	}
	rec := r.record(a, id, cause, topmost, false, start, &t, resp, anns)
	if !topmost {
		r.write(ctx, rec)
	}
	return outcome{rec: rec}, atomics, nil
}

// sequenceComponent resolves component name of a sequence. A component
// that cannot run gives the failure that ends the sequence (nil, resp); a
// store failure suspends it (err).
func (r *run) sequenceComponent(ctx context.Context, name, ns string, stack []whisk.FQN) (*component, whisk.Response, error) {
	f, err := whisk.ParseFQN(name, ns)
	if err != nil {
		return nil, appError(msgSequenceBadName), nil
	}
	comp, err := r.c.component(ctx, f)
	switch {
	case errors.Is(err, errComponentMissing):
		return nil, appError(detail(msgSequenceNotFound, f)), nil
	case errors.Is(err, errComponentForbidden):
		return nil, appError(detail(msgSequenceNotAllowed, f)), nil
	case errors.Is(err, errComponentInvalid):
		return nil, appError(detail(msgSequenceBadName, f)), nil
	case err != nil:
		return nil, whisk.Response{}, &suspended{err: err}
	}
	if f.Namespace != r.top.Namespace && !comp.public {
		return nil, appError(detail(msgSequenceNotAllowed, f)), nil
	}
	if comp.kind == kindSequence {
		for _, s := range stack {
			if s == f {
				return nil, appError(detail(msgSequenceSelf, f)), nil
			}
		}
	}
	return comp, whisk.Response{}, nil
}

// detail names the component in one of OpenWhisk's messages:
// "Sequence component does not exist: /guest/b."
func detail(msg string, f whisk.FQN) string {
	return strings.TrimSuffix(msg, ".") + ": " + f.String() + "."
}
