package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// rulePut is the body of a rule PUT (OpenWhisk's WhiskRulePut): the
// trigger and action as fully qualified names ("/_/t", "/ns/pkg/a", or a
// {"path", "name"} object). Absent fields keep their old value on update.
type rulePut struct {
	Trigger     json.RawMessage  `json:"trigger"`
	Action      json.RawMessage  `json:"action"`
	Version     *string          `json:"version"`
	Publish     *bool            `json:"publish"`
	Annotations *whisk.KeyValues `json:"annotations"`
}

// ruleView is a rule as the API shows it (OpenWhisk's WhiskRuleResponse).
// Lists leave out the status, as OpenWhisk's do: a GET has it.
type ruleView struct {
	Namespace   string          `json:"namespace"`
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Publish     bool            `json:"publish"`
	Status      string          `json:"status,omitempty"`
	Trigger     whisk.EntityRef `json:"trigger"`
	Action      whisk.EntityRef `json:"action"`
	Annotations whisk.KeyValues `json:"annotations"`
	Updated     int64           `json:"updated"`
}

// OpenWhisk's messages about rules.
const (
	msgRuleIncomplete      = "rule requires a valid trigger and a valid action"
	msgRuleTriggerRequired = "Only rules with existing triggers can be activated"
)

func apiRule(r *whisk.Rule, status string) ruleView {
	anns := r.Annotations
	if anns == nil {
		anns = whisk.KeyValues{}
	}
	return ruleView{Namespace: r.Namespace, Name: r.Name, Version: r.Version, Publish: r.Publish, Status: status,
		Trigger: r.Trigger, Action: r.Action, Annotations: anns, Updated: r.Updated}
}

// parseRef reads a trigger or action name of a rule PUT: a string
// ("name", "pkg/name", "/ns/[pkg/]name"; "_" is ns) or a {"path", "name"}
// object. given is false for an absent or null field.
func parseRef(raw json.RawMessage, ns string) (f whisk.FQN, given bool, err error) {
	raw = trimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return f, false, nil
	}
	bad := errorf(whisk.ErrBadRequest, "The request content was malformed: %s is not a fully qualified entity name.", raw)
	var s string
	if raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil || s == "" {
			return f, true, bad
		}
	} else {
		var ref whisk.EntityRef
		if json.Unmarshal(raw, &ref) != nil || ref.Name == "" || ref.Path == "" {
			return f, true, bad
		}
		s = "/" + ref.String()
	}
	if f, err = whisk.ParseFQN(s, ns); err != nil {
		return f, true, bad
	}
	return f, true, nil
}

// putRule creates a rule, active, or with ?overwrite=true updates it,
// keeping its status. Its trigger must exist in the caller's namespace and
// its action must exist and be the caller's or in a public package (400
// otherwise, nothing written).
func (g *Gateway) putRule(c *fiber.Ctx, p *principal, now time.Time) error {
	ns, name, err := namedEntity(c, p, writableNamespace)
	if err != nil {
		return err
	}
	var req rulePut
	overwrite, err := readPut(c, &req)
	if err != nil {
		return err
	}
	trigger, hasTrigger, err := parseRef(req.Trigger, ns)
	if err != nil {
		return err
	}
	action, hasAction, err := parseRef(req.Action, ns)
	if err != nil {
		return err
	}
	ctx := g.reqCtx
	key := ruleDocs.key(ns, name)
	old, err := ruleDocs.replaced(ctx, g.st, key, overwrite)
	if err != nil {
		return err
	}

	r := &whisk.Rule{Namespace: ns, Name: name, Version: "0.0.1", Status: whisk.RuleActive, Annotations: whisk.KeyValues{}}
	if old != nil {
		r.Version = whisk.NextVersion(old.Version)
		r.Publish, r.Status, r.Annotations = old.Publish, old.Status, old.Annotations
		if !hasTrigger {
			if trigger, err = old.Trigger.FQN(); err != nil {
				return fmt.Errorf("stored rule %s/%s: %v", ns, name, err)
			}
		}
		if !hasAction {
			if action, err = old.Action.FQN(); err != nil {
				return fmt.Errorf("stored rule %s/%s: %v", ns, name, err)
			}
		}
	} else if !hasTrigger || !hasAction {
		return errorf(whisk.ErrBadRequest, msgRuleIncomplete)
	}
	if err := g.checkRuleTrigger(ctx, ns, trigger); err != nil {
		return err
	}
	if err := g.checkRuleAction(ctx, ns, action); err != nil {
		return err
	}
	r.Trigger, r.Action = whisk.Ref(trigger), whisk.Ref(action)
	if req.Annotations != nil {
		anns, err := checkKeyValues("Annotations", *req.Annotations)
		if err != nil {
			return err
		}
		r.Annotations = anns
	}
	if req.Version != nil {
		if !semverRE.MatchString(*req.Version) {
			return errorf(whisk.ErrBadRequest, "The version '%s' is not a semantic version major.minor.patch.", *req.Version)
		}
		r.Version = *req.Version
	}
	if req.Publish != nil {
		r.Publish = *req.Publish
	}
	r.Updated = now.UnixMilli()
	r.Rev = newRev()
	doc, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := g.st.PutEntity(ctx, key, doc, overwrite); err != nil {
		return err
	}
	return c.JSON(apiRule(r, r.Status))
}

// checkRuleTrigger checks that a rule's trigger exists in the rule's
// namespace ns.
func (g *Gateway) checkRuleTrigger(ctx context.Context, ns string, f whisk.FQN) error {
	if f.Namespace != ns {
		return forbidden(f.Path())
	}
	_, err := g.st.GetEntity(ctx, store.Key{Namespace: ns, Collection: store.Triggers, Name: f.EntityName()})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, whisk.ErrBadRequest) {
		return errorf(whisk.ErrBadRequest, "trigger %s does not exist", f)
	}
	return err
}

// checkRuleAction checks that a rule of namespace ns may run action f: it
// exists and is ns's own, or is in another namespace's public package (as
// for an invocation).
func (g *Gateway) checkRuleAction(ctx context.Context, ns string, f whisk.FQN) error {
	if f.Namespace != ns && f.Package == "" {
		return forbidden(f.Path())
	}
	r, err := g.resolveAction(ctx, f.Namespace, f.Package, f.Name)
	if f.Namespace != ns {
		return sharedErr(err, err == nil && r.Public, f.Namespace+"/"+f.Package)
	}
	if errors.Is(err, store.ErrNotFound) {
		return errorf(whisk.ErrBadRequest, "action %s does not exist", f)
	}
	return err
}

// ruleStatus is a rule's status as the API reports it: inactive while its
// trigger does not exist (OpenWhisk keeps the status in the trigger).
func (g *Gateway) ruleStatus(ctx context.Context, r *whisk.Rule) (status string, triggerExists bool, err error) {
	_, err = g.st.GetEntity(ctx, store.Key{Namespace: r.Trigger.Path, Collection: store.Triggers, Name: r.Trigger.Name})
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, whisk.ErrBadRequest):
		return whisk.RuleInactive, false, nil
	case err != nil:
		return "", false, err
	case r.Status == whisk.RuleActive:
		return whisk.RuleActive, true, nil
	}
	return whisk.RuleInactive, true, nil
}

// getRule returns a rule with its status.
func (g *Gateway) getRule(c *fiber.Ctx, p *principal, _ time.Time) error {
	_, _, r, err := namedDoc(g, c, p, checkNamespace, ruleDocs)
	if err != nil {
		return err
	}
	status, _, err := g.ruleStatus(g.reqCtx, r)
	if err != nil {
		return err
	}
	return c.JSON(apiRule(r, status))
}

// deleteRule deletes a rule, whatever its status, and returns it inactive.
func (g *Gateway) deleteRule(c *fiber.Ctx, p *principal, _ time.Time) error {
	ns, name, r, err := namedDoc(g, c, p, writableNamespace, ruleDocs)
	if err != nil {
		return err
	}
	if err := g.st.DeleteEntity(g.reqCtx, ruleDocs.key(ns, name)); err != nil {
		return err
	}
	return c.JSON(apiRule(r, whisk.RuleInactive))
}

// setRuleState is POST …/rules/{name} {"status": "active"|"inactive"}:
// enable or disable the rule. A rule whose trigger is gone can be
// disabled, not enabled (404).
func (g *Gateway) setRuleState(c *fiber.Ctx, p *principal, _ time.Time) error {
	ns, name, err := namedEntity(c, p, writableNamespace)
	if err != nil {
		return err
	}
	var req struct {
		Status *string `json:"status"`
	}
	body := trimSpace(c.Body())
	if len(body) == 0 || json.Unmarshal(body, &req) != nil || req.Status == nil {
		return errorf(whisk.ErrBadRequest, "The request content was malformed: expected {\"status\": \"%s\"|\"%s\"}.", whisk.RuleActive, whisk.RuleInactive)
	}
	want := *req.Status
	if want != whisk.RuleActive && want != whisk.RuleInactive {
		return errorf(whisk.ErrBadRequest, "'%s' is not a recognized rule state, must be one of ['%s', '%s']", want, whisk.RuleActive, whisk.RuleInactive)
	}
	ctx := g.reqCtx
	r, err := ruleDocs.get(ctx, g.st, ns, name)
	if err != nil {
		return err
	}
	status, triggerExists, err := g.ruleStatus(ctx, r)
	switch {
	case err != nil:
		return err
	case want == whisk.RuleActive && !triggerExists:
		return errorf(store.ErrNotFound, msgRuleTriggerRequired)
	case status == want && r.Status == want:
		return c.JSON(apiRule(r, status))
	}
	r.Status = want
	r.Rev = newRev()
	doc, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := g.st.PutEntity(ctx, ruleDocs.key(ns, name), doc, true); err != nil {
		return err
	}
	return c.JSON(apiRule(r, want))
}

// listRules lists the namespace's rules: ?skip, ?limit, ?count=true →
// {"rules": N}.
func (g *Gateway) listRules(c *fiber.Ctx, p *principal, _ time.Time) error {
	ns, err := checkNamespace(c, p)
	if err != nil {
		return err
	}
	return listEntities(g, c, ruleDocs, ns, "", func(r *whisk.Rule) ruleView { return apiRule(r, "") })
}
