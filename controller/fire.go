package controller

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// FireRequest asks the controller to fire a trigger.
type FireRequest struct {
	// ActivationID is the trigger activation's id. The ids of the rules'
	// activations derive from it (RuleActivationID), so a fire retried
	// with the same id is deduplicated: the stream drops the republished
	// activations and the store keeps the first record.
	ActivationID string
	// Namespace holds the trigger and invokes the rules' actions; Subject
	// is recorded as the invoker.
	Namespace string
	Subject   string
	// Trigger is the trigger's name.
	Trigger string
	// Payload is the fire's arguments: a JSON object, or empty or null for
	// none. They override the trigger's parameters, which override each
	// action's.
	Payload json.RawMessage
	TransID string
	// APIKey is given to actions annotated provide-api-key.
	APIKey string
}

// OpenWhisk's messages for the entries of a trigger activation.
const (
	msgRuleNotFound   = "The requested resource does not exist."
	msgRuleForbidden  = "The supplied authentication is not authorized to access this resource."
	msgRuleInternal   = "There was an internal server error."
	msgRuleFinalParam = "Request defines parameters that are not allowed (e.g., reserved properties)."
)

// ruleEntry is one line of a trigger activation's logs: the outcome of one
// rule (OpenWhisk's RuleActivationResult).
type ruleEntry struct {
	StatusCode   int    `json:"statusCode"`
	Success      bool   `json:"success"`
	ActivationID string `json:"activationId,omitempty"`
	Error        string `json:"error,omitempty"`
	Rule         string `json:"rule"`
	Action       string `json:"action"`
}

// Fire fires a trigger as OpenWhisk does. It reads the trigger and the
// rules naming it; when none of them is active it returns (nil, nil):
// nothing ran and nothing was recorded (the API answers 204). Otherwise it
// invokes each active rule's action, non-blocking, with the trigger's
// parameters overridden by the payload: every accepted activation is
// persisted (Invoke) before Fire returns. It then stores and returns the
// trigger's activation record: its result is the payload, and its logs hold
// one JSON entry per rule on the trigger, in rule name order, active or not
// (an inactive rule, or an action that is missing, forbidden or refuses
// the arguments, is an entry with success false).
//
// Errors: the trigger does not exist (wraps store.ErrNotFound), the request
// is malformed (wraps whisk.ErrBadRequest), the controller is not running or
// has no store; or no rule's activation could be accepted because of a
// failure of the platform, or the record could not be stored. Then nothing
// was recorded; activations already accepted still run, and a retry with the
// same ActivationID does not run them twice.
func (c *Controller) Fire(ctx context.Context, req *FireRequest) (*whisk.Activation, error) {
	if err := c.checkFire(req); err != nil {
		return nil, err
	}
	start := time.Now()
	args, err := fireArgs(req.Payload)
	if err != nil {
		return nil, err
	}
	doc, err := c.store.GetEntity(ctx, store.Key{Namespace: req.Namespace, Collection: store.Triggers, Name: req.Trigger})
	if err != nil {
		return nil, fmt.Errorf("controller: trigger %s/%s: %w", req.Namespace, req.Trigger, err)
	}
	var trg whisk.Trigger
	if err := json.Unmarshal(doc, &trg); err != nil {
		return nil, fmt.Errorf("controller: corrupt trigger %s/%s: %v", req.Namespace, req.Trigger, err)
	}
	rules, err := c.triggerRules(ctx, req.Namespace, req.Trigger)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(rules, func(r *whisk.Rule) bool { return r.Status == whisk.RuleActive }) {
		return nil, nil
	}

	// The arguments: trigger parameters < payload.
	merged := make(map[string]json.RawMessage, len(trg.Parameters)+len(args))
	for _, p := range trg.Parameters {
		merged[p.Key] = p.Value
	}
	for k, v := range args {
		merged[k] = v
	}

	logs := make([]string, 0, len(rules))
	accepted, failed := 0, 0
	for _, r := range rules {
		e := c.fireRule(ctx, req, r, merged, start)
		switch {
		case e.Success:
			accepted++
		case e.StatusCode == whisk.StatusInternalError:
			failed++
		}
		line, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("controller: encode rule entry: %w", err)
		}
		logs = append(logs, string(line))
	}
	if accepted == 0 && failed > 0 {
		return nil, fmt.Errorf("controller: trigger %s/%s activation %s: no rule's activation could be accepted", req.Namespace, req.Trigger, req.ActivationID)
	}

	result := json.RawMessage("{}")
	if len(args) > 0 {
		result = bytes.Clone(bytes.TrimSpace(req.Payload))
	}
	rec := &whisk.Activation{
		Namespace:    req.Namespace,
		Name:         req.Trigger,
		Version:      trg.Version,
		Subject:      req.Subject,
		ActivationID: req.ActivationID,
		Start:        start.UnixMilli(),
		Response:     whisk.NewResponse(whisk.StatusSuccess, result),
		Logs:         logs,
		Annotations:  whisk.KeyValues{},
	}
	if err := c.store.PutActivation(ctx, rec); err != nil {
		return nil, fmt.Errorf("controller: store trigger activation %s: %w", req.ActivationID, err)
	}
	return rec, nil
}

func (c *Controller) checkFire(req *FireRequest) error {
	switch {
	case req == nil:
		return errors.New("controller: nil fire request")
	case c.store == nil:
		return fmt.Errorf("controller: fire %s: %w", req.Trigger, ErrNoStore)
	case req.ActivationID == "":
		return fmt.Errorf("controller: fire of %s/%s has no activation id", req.Namespace, req.Trigger)
	case !whisk.ValidName(req.Namespace) || !whisk.ValidName(req.Trigger):
		return fmt.Errorf("%w: trigger %q in namespace %q", whisk.ErrBadName, req.Trigger, req.Namespace)
	case !c.running.Load():
		return fmt.Errorf("%w: controller is not running", ErrNoInvokers)
	}
	return nil
}

// fireArgs decodes a fire's payload: a JSON object, or nothing.
func fireArgs(payload json.RawMessage) (map[string]json.RawMessage, error) {
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 || string(payload) == "null" {
		return nil, nil
	}
	if len(payload) > whisk.MaxPayload {
		return nil, fmt.Errorf("%w: the payload is larger than %d bytes", whisk.ErrBadRequest, whisk.MaxPayload)
	}
	if payload[0] != '{' {
		return nil, fmt.Errorf("%w: The request content was malformed: the payload must be a JSON object.", whisk.ErrBadRequest)
	}
	var args map[string]json.RawMessage
	if err := json.Unmarshal(payload, &args); err != nil {
		return nil, fmt.Errorf("%w: The request content was malformed: %v", whisk.ErrBadRequest, err)
	}
	return args, nil
}

// triggerRules returns the rules of namespace ns that name trigger, in
// name order. Rules live in their own documents (whisk.Rule), so this
// reads the namespace's rules; fires are rare next to invocations.
func (c *Controller) triggerRules(ctx context.Context, ns, trigger string) ([]*whisk.Rule, error) {
	docs, _, err := c.store.ListEntities(ctx, ns, store.Rules, "", 0, 0)
	if err != nil {
		return nil, fmt.Errorf("controller: rules of %s: %w", ns, err)
	}
	var out []*whisk.Rule
	for _, doc := range docs {
		r := new(whisk.Rule)
		if err := json.Unmarshal(doc, r); err != nil {
			c.log.Warn("skipping unreadable rule", "namespace", ns, "error", err)
			continue
		}
		if r.Trigger.Path == ns && r.Trigger.Name == trigger {
			out = append(out, r)
		}
	}
	return out, nil
}

// RuleActivationID is the activation id of the action that rule (its
// "ns/name") runs for trigger activation triggerID: 32 hex digits shaped
// like a version 4 UUID, a function of both, so a fire retried with the
// same id produces the same activations.
func RuleActivationID(triggerID, rule string) string {
	h := sha256.New()
	h.Write([]byte(triggerID))
	h.Write([]byte{0})
	h.Write([]byte(rule))
	var sum [sha256.Size]byte
	b := h.Sum(sum[:0])[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b)
}

// fireRule invokes one rule's action for a fire and returns its entry.
func (c *Controller) fireRule(ctx context.Context, req *FireRequest, r *whisk.Rule, args map[string]json.RawMessage, now time.Time) ruleEntry {
	ruleName := req.Namespace + "/" + r.Name
	e := ruleEntry{Rule: ruleName, Action: r.Action.String(), StatusCode: whisk.StatusApplicationError}
	if r.Status != whisk.RuleActive {
		e.Error = "Rule '" + ruleName + "' is inactive, action '" + e.Action + "' was not activated."
		return e
	}
	comp, err := c.ruleComponent(ctx, req.Namespace, r.Action)
	if err != nil {
		switch {
		case errors.Is(err, errComponentMissing), errors.Is(err, errComponentInvalid), errors.Is(err, whisk.ErrBadName):
			e.Error = msgRuleNotFound
		case errors.Is(err, errComponentForbidden):
			e.Error = msgRuleForbidden
		default:
			c.log.Error("trigger fire: reading a rule's action", "rule", ruleName, "action", e.Action, "error", err)
			e.StatusCode, e.Error = whisk.StatusInternalError, msgRuleInternal
		}
		return e
	}
	a := comp.action
	input, err := ruleArgs(a, args)
	if err != nil {
		e.Error = err.Error()
		return e
	}
	msg := &bus.ActivationMessage{
		V:            bus.Version,
		ActivationID: RuleActivationID(req.ActivationID, ruleName),
		TransID:      req.TransID,
		Namespace:    req.Namespace,
		Subject:      req.Subject,
		Action:       a,
		Args:         input,
		InitEnv:      a.Parameters.InitEnv(),
		Cause:        req.ActivationID,
		Annotations:  comp.binding,
		Received:     now.UnixMilli(),
	}
	if comp.provideAPIKey {
		msg.APIKey = req.APIKey
	}
	if _, err := c.Invoke(ctx, msg, 0); err != nil {
		c.log.Error("trigger fire: activation not accepted", "rule", ruleName, "action", e.Action, "activation", msg.ActivationID, "error", err)
		e.StatusCode, e.Error = whisk.StatusInternalError, msgRuleInternal
		return e
	}
	e.StatusCode, e.Success, e.ActivationID = whisk.StatusSuccess, true, msg.ActivationID
	return e
}

// ruleArgs merges a fire's arguments over the action's non-init
// parameters. With the annotation final, the fire may not override a
// parameter the action defines.
func ruleArgs(a *whisk.Action, args map[string]json.RawMessage) (json.RawMessage, error) {
	final := a.Annotations.Bool("final")
	merged := make(map[string]json.RawMessage, len(a.Parameters)+len(args))
	for _, p := range a.Parameters {
		if !p.Init {
			merged[p.Key] = p.Value
		}
	}
	for k, v := range args {
		if old, ok := merged[k]; ok && final && len(old) > 0 && string(old) != "null" {
			return nil, errors.New(msgRuleFinalParam)
		}
		merged[k] = v
	}
	out, err := json.Marshal(merged)
	if err != nil {
		return nil, fmt.Errorf("The request content was malformed: %v", err)
	}
	if len(out) > whisk.MaxPayload {
		return nil, fmt.Errorf("Request larger than allowed: %d > %d bytes.", len(out), whisk.MaxPayload)
	}
	return out, nil
}

// ruleComponent resolves the action a rule of namespace ns names, as the
// gateway resolves an invocation (components.go): through its package or
// binding, parameters merged. Another namespace's action is reachable only
// in a public package.
func (c *Controller) ruleComponent(ctx context.Context, ns string, ref whisk.EntityRef) (*component, error) {
	f, err := ref.FQN()
	if err != nil {
		return nil, err
	}
	comp, err := c.component(ctx, f)
	if f.Namespace == ns {
		return comp, err
	}
	if err == nil && !comp.public || errors.Is(err, errComponentMissing) {
		return nil, fmt.Errorf("%w: %s", errComponentForbidden, f)
	}
	return comp, err
}
