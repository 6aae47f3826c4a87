package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// Conductor actions, as OpenWhisk defines them (docs/conductors.md,
// PrimitiveActions.invokeComposition): an action annotated conductor:true
// directs a composition. Each of its activations returns either a final
// result or {action, params, state}: the controller then runs action on
// params, and calls the conductor again on that component's result with
// state's fields added. Components may be atomic actions, sequences or
// conductor actions (nested compositions share the counts). A composition
// runs at most maxComponents components and 2*maxComponents+1 conductor
// activations.

// condCount is a composition's invocation counts, shared with the
// compositions nested in it (OpenWhisk's CompositionAccounting).
type condCount struct{ components, conductors int }

// Fields of a conductor's result.
const (
	fieldAction = "action"
	fieldParams = "params"
	fieldState  = "state"
	fieldValue  = "value"
)

func compositionInvalid(value json.RawMessage) string {
	return "Failed to parse action name from json value " + string(value) + " during composition."
}

func compositionNotFound(f whisk.FQN) string {
	return "Failed to resolve action with name '" + f.Path() + "' during composition."
}

func compositionNotAccessible(f whisk.FQN) string {
	return "Failed entitlement check for action with name '" + f.Path() + "' during composition."
}

// conductor runs the composition directed by cond as activation id
// (caused by cause) on input. Its record lists every activation it made,
// conductor and component alike (nested compositions are not flattened);
// the result is the last conductor's params (or whole result) with that
// activation's status. The record is written unless topmost.
func (r *run) conductor(ctx context.Context, cond *component, id, cause string, input json.RawMessage, cc *condCount, topmost bool) (outcome, error) {
	start := time.Now().UnixMilli()
	if topmost {
		start = r.start
	} else if r.resume {
		if rec := r.recorded(ctx, id); rec != nil {
			return outcome{rec: rec}, nil
		}
	}
	t := tally{memory: cond.action.Limits.Memory}
	payload := input
	var state json.RawMessage // an object, or nil
	var resp whisk.Response
	n := 0 // activations started; step n has id stepID(id, n)
	for {
		if cc.conductors > 2*maxComponents {
			resp = appError(msgCompositionTooLong)
			break
		}
		cc.conductors++
		params, err := withState(payload, state)
		if err != nil {
			r.c.log.Warn("conductor input is not valid JSON", "activation", id, "error", err)
			resp = internalError(msgBadInput)
			break
		}
		out, err := r.step(ctx, cond, stepID(id, n), id, params, inComposition)
		n++
		if err != nil {
			return outcome{}, err
		}
		if out.rec == nil {
			if out.id != "" {
				t.logs = append(t.logs, out.id)
			}
			resp = out.fail
			break
		}
		t.add(out.rec)
		next := parseConductorResult(out.rec.Response.Result)
		state = next.state
		if next.action == nil { // the composition is done
			result := next.params
			if result == nil {
				result = out.rec.Response.Result
			}
			resp = whisk.NewResponse(out.rec.Response.StatusCode, result)
			break
		}
		comp, problem, err := r.conductorComponent(ctx, next.action, cc)
		if err != nil {
			return outcome{}, err
		}
		if comp == nil { // tell the conductor, which decides what follows
			payload = whisk.ErrorResult(problem)
			continue
		}
		sid := stepID(id, n)
		n++
		switch comp.kind {
		case kindConductor:
			out, err = r.conductor(ctx, comp, sid, id, next.params, cc, false)
		case kindSequence:
			cc.components++
			out, _, err = r.sequence(ctx, comp, sid, id, next.params, 0, nil, false)
		default:
			cc.components++
			out, err = r.step(ctx, comp, sid, id, next.params, inComposition)
		}
		if err != nil {
			return outcome{}, err
		}
		if out.rec == nil {
			if out.id != "" {
				t.logs = append(t.logs, out.id)
			}
			resp = out.fail
			break
		}
		t.add(out.rec)
		payload = out.rec.Response.Result
	}
	anns := cond.binding
	if topmost {
		anns = r.top.Annotations
	}
	rec := r.record(cond.action, id, cause, topmost, true, start, &t, resp, anns)
	if !topmost {
		r.write(ctx, rec)
	}
	return outcome{rec: rec}, nil
}

// conductorComponent resolves the action a conductor named. When it
// cannot run, problem is the error the conductor is told; a store failure
// suspends the composition (err).
func (r *run) conductorComponent(ctx context.Context, action json.RawMessage, cc *condCount) (comp *component, problem string, err error) {
	var name string
	if json.Unmarshal(action, &name) != nil {
		return nil, compositionInvalid(action), nil
	}
	f, err := whisk.ParseFQN(name, r.top.Namespace)
	if err != nil {
		return nil, compositionInvalid(action), nil
	}
	if cc.components >= maxComponents {
		return nil, msgCompositionTooLong, nil
	}
	comp, err = r.c.component(ctx, f)
	switch {
	case errors.Is(err, errComponentMissing), errors.Is(err, errComponentInvalid):
		return nil, compositionNotFound(f), nil
	case errors.Is(err, errComponentForbidden):
		return nil, compositionNotAccessible(f), nil
	case err != nil:
		return nil, "", &suspended{err: err}
	}
	if f.Namespace != r.top.Namespace && !comp.public {
		return nil, compositionNotAccessible(f), nil
	}
	return comp, "", nil
}

// conductorResult is what a conductor activation decided.
type conductorResult struct {
	action json.RawMessage // nil: the composition is done
	params json.RawMessage // an object, or nil
	state  json.RawMessage // an object, or nil
}

// parseConductorResult reads {action, params, state} from a conductor's
// result, boxing a params that is not an object as {"value": params} and a
// state as {"state": state}, as OpenWhisk. A result that is not an object
// has none of them.
func parseConductorResult(result json.RawMessage) conductorResult {
	var m map[string]json.RawMessage
	if json.Unmarshal(result, &m) != nil {
		return conductorResult{}
	}
	var out conductorResult
	if v, ok := m[fieldAction]; ok {
		out.action = v
	}
	if v, ok := m[fieldParams]; ok {
		out.params = boxed(v, fieldValue)
	}
	if v, ok := m[fieldState]; ok {
		out.state = boxed(v, fieldState)
	}
	return out
}

// boxed returns v if it is an object, else {key: v}.
func boxed(v json.RawMessage, key string) json.RawMessage {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '{' {
		return v
	}
	b, _ := json.Marshal(map[string]json.RawMessage{key: v})
	return b
}

// withState adds state's fields to payload's (state wins), for the next
// conductor activation. A payload that is not an object counts as {}.
func withState(payload, state json.RawMessage) (json.RawMessage, error) {
	if state == nil {
		return payload, nil
	}
	var m map[string]json.RawMessage
	if p := bytes.TrimSpace(payload); len(p) > 0 && p[0] == '{' {
		if err := json.Unmarshal(p, &m); err != nil {
			return nil, err
		}
	}
	var s map[string]json.RawMessage
	if err := json.Unmarshal(state, &s); err != nil {
		return nil, err
	}
	if m == nil {
		m = make(map[string]json.RawMessage, len(s))
	}
	for k, v := range s {
		m[k] = v
	}
	return json.Marshal(m)
}
