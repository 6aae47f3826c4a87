package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gust-faas/gust/controller"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// Triggers and rules, as OpenWhisk has them (Triggers.scala, Rules.scala):
//
//   - A trigger is a named event channel with default parameters. Firing it
//     (POST …/triggers/{name}) runs the action of each of its active rules,
//     non-blocking, with the trigger's parameters overridden by the
//     payload: 202 with the trigger activation's id, whose record lists
//     one entry per rule; 204 when no rule on it is active.
//   - A rule connects a trigger of its namespace to an action (its own, or
//     one in another namespace's public package); it is created active and
//     enabled or disabled with POST {"status"}. Deleting a trigger or an
//     action leaves its rules dangling: a fire records the rule as failed.
//   - A trigger with the annotation feed is configured by its feed action,
//     which the CLI invokes (the alarms feeds: see controller).
//
// The fan-out itself is the controller's (controller.Fire), which the
// alarm scheduler uses too.

// Firer fires triggers. The gateway finds it on its Controller by type
// assertion; *controller.Controller implements it.
type Firer interface {
	Fire(ctx context.Context, req *controller.FireRequest) (*whisk.Activation, error)
}

var _ Firer = (*controller.Controller)(nil)

// triggerPut is the body of a trigger PUT (OpenWhisk's WhiskTriggerPut).
// Absent fields keep their old value on update.
type triggerPut struct {
	Parameters  *whisk.KeyValues `json:"parameters"`
	Annotations *whisk.KeyValues `json:"annotations"`
	Limits      json.RawMessage  `json:"limits"`
	Version     *string          `json:"version"`
	Publish     *bool            `json:"publish"`
}

// triggerView is a trigger as the API shows it: with the rules that name
// it, by fully qualified rule name ("ns/rule").
type triggerView struct {
	whisk.Trigger
	Rules map[string]triggerRule `json:"rules,omitempty"`
}

// triggerRule is a rule as its trigger lists it (OpenWhisk's ReducedRule).
type triggerRule struct {
	Action whisk.EntityRef `json:"action"`
	Status string          `json:"status"`
}

// triggerSummary is a trigger as lists show it.
type triggerSummary struct {
	Namespace   string          `json:"namespace"`
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Publish     bool            `json:"publish"`
	Annotations whisk.KeyValues `json:"annotations"`
	Updated     int64           `json:"updated"`
}

// triggerAndRuleRoutes registers the triggers and rules endpoints under ns,
// the namespaces path.
func (g *Gateway) triggerAndRuleRoutes(ns string) {
	g.entityRoutes(ns+"/:ns/triggers", entityHandlers{list: g.listTriggers, put: g.putTrigger, get: g.getTrigger, del: g.deleteTrigger, post: g.fireTrigger})
	g.entityRoutes(ns+"/:ns/rules", entityHandlers{list: g.listRules, put: g.putRule, get: g.getRule, del: g.deleteRule, post: g.setRuleState})
}

// simpleName returns the path's entity name (triggers and rules live in
// no package), validated and cloned.
func simpleName(c *fiber.Ctx) (string, error) {
	name, err := pathParam(c, "name")
	if err != nil {
		return "", err
	}
	if !whisk.ValidName(name) {
		return "", errBadEntityName
	}
	return strings.Clone(name), nil
}

// putTrigger creates a trigger, or with ?overwrite=true updates it.
func (g *Gateway) putTrigger(c *fiber.Ctx, p *principal, now time.Time) error {
	ns, name, err := namedEntity(c, p, writableNamespace)
	if err != nil {
		return err
	}
	var req triggerPut
	overwrite, err := readPut(c, &req)
	if err != nil {
		return err
	}
	ctx := g.reqCtx
	key := triggerDocs.key(ns, name)
	old, err := triggerDocs.replaced(ctx, g.st, key, overwrite)
	if err != nil {
		return err
	}
	t, err := buildTrigger(ns, name, &req, old, now)
	if err != nil {
		return err
	}
	doc, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := g.st.PutEntity(ctx, key, doc, overwrite); err != nil {
		return err
	}
	var rules map[string]triggerRule
	if old != nil {
		if rules, err = g.triggerRules(ctx, ns, name); err != nil {
			return err
		}
	}
	return c.JSON(apiTrigger(t, rules))
}

// buildTrigger makes the trigger a PUT describes, from scratch or over old.
func buildTrigger(ns, name string, req *triggerPut, old *whisk.Trigger, now time.Time) (*whisk.Trigger, error) {
	t := &whisk.Trigger{Namespace: ns, Name: name, Version: "0.0.1"}
	if old != nil {
		t.Version = whisk.NextVersion(old.Version)
		t.Publish = old.Publish
		t.Parameters = old.Parameters
		t.Annotations = old.Annotations
	}
	if req.Parameters != nil {
		params, err := checkKeyValues("Parameters", *req.Parameters)
		if err != nil {
			return nil, err
		}
		t.Parameters = params
	}
	if req.Annotations != nil {
		anns, err := checkKeyValues("Annotations", *req.Annotations)
		if err != nil {
			return nil, err
		}
		if raw := anns.Get(annFeed); raw != nil {
			var feed string
			if json.Unmarshal(raw, &feed) != nil {
				return nil, errorf(whisk.ErrBadRequest, "Feed name is not valid")
			}
			if _, err := whisk.ParseFQN(feed, ns); err != nil {
				return nil, errorf(whisk.ErrBadRequest, "Feed name is not valid")
			}
		}
		t.Annotations = anns
	}
	if l := trimSpace(req.Limits); len(l) > 0 && string(l) != "null" && l[0] != '{' {
		return nil, errorf(whisk.ErrBadRequest, "The request content was malformed: limits must be an object.")
	}
	if t.Parameters == nil {
		t.Parameters = whisk.KeyValues{}
	}
	if t.Annotations == nil {
		t.Annotations = whisk.KeyValues{}
	}
	if req.Version != nil {
		if !semverRE.MatchString(*req.Version) {
			return nil, errorf(whisk.ErrBadRequest, "The version '%s' is not a semantic version major.minor.patch.", *req.Version)
		}
		t.Version = *req.Version
	}
	if req.Publish != nil {
		t.Publish = *req.Publish
	}
	t.Updated = now.UnixMilli()
	t.Rev = newRev()
	return t, nil
}

// apiTrigger is a trigger as the API shows it.
func apiTrigger(t *whisk.Trigger, rules map[string]triggerRule) triggerView {
	v := triggerView{Trigger: *t, Rules: rules}
	v.Rev = ""
	if v.Parameters == nil {
		v.Parameters = whisk.KeyValues{}
	}
	if v.Annotations == nil {
		v.Annotations = whisk.KeyValues{}
	}
	return v
}

// triggerRules returns the rules of namespace ns that name trigger.
func (g *Gateway) triggerRules(ctx context.Context, ns, trigger string) (map[string]triggerRule, error) {
	docs, _, err := g.st.ListEntities(ctx, ns, store.Rules, "", 0, 0)
	if err != nil {
		return nil, err
	}
	var out map[string]triggerRule
	for _, doc := range docs {
		r, err := ruleDocs.decode(doc)
		if err != nil {
			g.log.Warn("skipping unreadable rule", "namespace", ns, "err", err)
			continue
		}
		if r.Trigger.Path != ns || r.Trigger.Name != trigger {
			continue
		}
		if out == nil {
			out = make(map[string]triggerRule)
		}
		out[ns+"/"+r.Name] = triggerRule{Action: r.Action, Status: r.Status}
	}
	return out, nil
}

// getTrigger returns a trigger with its rules.
func (g *Gateway) getTrigger(c *fiber.Ctx, p *principal, _ time.Time) error {
	ns, name, t, err := namedDoc(g, c, p, checkNamespace, triggerDocs)
	if err != nil {
		return err
	}
	rules, err := g.triggerRules(g.reqCtx, ns, name)
	if err != nil {
		return err
	}
	return c.JSON(apiTrigger(t, rules))
}

// deleteTrigger deletes a trigger and returns it. Its rules stay, dangling
// (as in OpenWhisk); its feed is the CLI's to tell first.
func (g *Gateway) deleteTrigger(c *fiber.Ctx, p *principal, _ time.Time) error {
	ns, name, t, err := namedDoc(g, c, p, writableNamespace, triggerDocs)
	if err != nil {
		return err
	}
	ctx := g.reqCtx
	rules, err := g.triggerRules(ctx, ns, name)
	if err != nil {
		return err
	}
	if err := g.st.DeleteEntity(ctx, triggerDocs.key(ns, name)); err != nil {
		return err
	}
	return c.JSON(apiTrigger(t, rules))
}

// listTriggers lists the namespace's triggers: ?skip, ?limit, ?count=true
// → {"triggers": N}.
func (g *Gateway) listTriggers(c *fiber.Ctx, p *principal, _ time.Time) error {
	ns, err := checkNamespace(c, p)
	if err != nil {
		return err
	}
	return listEntities(g, c, triggerDocs, ns, "", func(t *whisk.Trigger) triggerSummary {
		anns := t.Annotations
		if anns == nil {
			anns = whisk.KeyValues{}
		}
		return triggerSummary{Namespace: t.Namespace, Name: t.Name, Version: t.Version,
			Publish: t.Publish, Annotations: anns, Updated: t.Updated}
	})
}

// fireTrigger is POST …/triggers/{name}: fire it with the body as payload
// (a JSON object, or nothing). 202 {"activationId"} when a rule is active,
// 204 when none is, 404 for no such trigger, 429 past the namespace's
// fires per minute.
func (g *Gateway) fireTrigger(c *fiber.Ctx, p *principal, now time.Time) error {
	ns, name, err := namedEntity(c, p, checkNamespace)
	if err != nil {
		return err
	}
	body := trimSpace(c.Body())
	if len(body) > whisk.MaxPayload {
		return errorf(ErrTooLarge, "Request larger than allowed: %d > %d bytes.", len(body), whisk.MaxPayload)
	}
	if string(body) == "null" {
		body = nil
	}
	if len(body) > 0 {
		if !json.Valid(body) {
			return errMalformed
		}
		if body[0] != '{' {
			return errNotObject
		}
	}
	firer, ok := g.ctrl.(Firer)
	if !ok {
		return errors.New("gateway: the controller cannot fire triggers")
	}
	th := g.fires.get(ns)
	if err := th.acquire(now.Unix()/60, p.firesPerMinute, math.MaxInt32); err != nil {
		return err
	}
	defer th.release()

	var idBuf [32]byte
	newID(&idBuf)
	id := string(idBuf[:])
	rec, err := firer.Fire(g.reqCtx, &controller.FireRequest{
		ActivationID: id, Namespace: ns, Subject: p.namespace, Trigger: name,
		Payload: body, TransID: requestID(c), APIKey: p.apiKey,
	})
	if err != nil {
		return err
	}
	if rec == nil {
		return c.SendStatus(fiber.StatusNoContent)
	}
	c.Response().Header.SetCanonical(keyActivationID, idBuf[:])
	return sendAccepted(c, id)
}
