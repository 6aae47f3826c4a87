package cli

import (
	"context"
	"fmt"

	"github.com/gust-faas/gust/client"
)

func ruleCreate(ctx context.Context, a *app, in *input) error {
	return a.putRule(ctx, in, false)
}

func ruleUpdate(ctx context.Context, a *app, in *input) error {
	return a.putRule(ctx, in, true)
}

// putRule creates or updates a rule. Its trigger and action are qualified
// with the default namespace as wsk qualifies them ("/_/t").
func (a *app) putRule(ctx context.Context, in *input, update bool) error {
	q, c, err := a.entityArgs(in, 3, 3, "A rule, trigger and action name are required.")
	if err != nil {
		return err
	}
	put := &client.RulePut{Trigger: a.qualifiedComponent(in.args[1]), Action: a.qualifiedComponent(in.args[2])}
	verb := "created"
	if update {
		verb = "updated"
	}
	if _, err := c.PutRule(ctx, q.full(), put, update); err != nil {
		if update {
			return apiFailure(err, false, "Unable to update rule '%s'", q.entityName)
		}
		return apiFailure(err, false, "Unable to create rule '%s'", q.entityName)
	}
	fmt.Fprintf(a.stdout, "ok: %s rule %s\n", verb, q.entityName)
	return nil
}

// ruleArgs checks the arguments of the commands that take one rule name.
func (a *app) ruleArgs(in *input) (qname, *client.Client, error) {
	return a.entityArgs(in, 1, 1, "A rule name is required.")
}

func ruleEnable(ctx context.Context, a *app, in *input) error {
	return a.setRuleState(ctx, in, client.RuleActive, "enable", "enabled")
}

func ruleDisable(ctx context.Context, a *app, in *input) error {
	return a.setRuleState(ctx, in, client.RuleInactive, "disable", "disabled")
}

func (a *app) setRuleState(ctx context.Context, in *input, state, verb, done string) error {
	q, c, err := a.ruleArgs(in)
	if err != nil {
		return err
	}
	if err := c.SetRuleState(ctx, q.full(), state); err != nil {
		return apiFailure(err, false, "Unable to %s rule '%s'", verb, q.entityName)
	}
	fmt.Fprintf(a.stdout, "ok: %s rule %s\n", done, q.entityName)
	return nil
}

func ruleStatus(ctx context.Context, a *app, in *input) error {
	q, c, err := a.ruleArgs(in)
	if err != nil {
		return err
	}
	r, err := c.GetRule(ctx, q.full())
	if err != nil {
		return apiFailure(err, true, "Unable to get status of rule '%s'", q.entityName)
	}
	fmt.Fprintf(a.stdout, "ok: rule %s is %s\n", q.entityName, r.Status)
	return nil
}

func ruleGet(ctx context.Context, a *app, in *input) error {
	q, field, c, err := a.getArgs(in, ruleFields, "A rule name is required.")
	if err != nil {
		return err
	}
	r, err := c.GetRule(ctx, q.full())
	if err != nil {
		return apiFailure(err, true, "Unable to get rule '%s'", q.entityName)
	}
	if in.boolean("summary") {
		printRuleSummary(a.stdout, r)
		return nil
	}
	printGot(a.stdout, in, "rule", q, field, viewRule(r))
	return nil
}

func ruleDelete(ctx context.Context, a *app, in *input) error {
	q, c, err := a.ruleArgs(in)
	if err != nil {
		return err
	}
	if in.boolean("disable") {
		if err := c.SetRuleState(ctx, q.full(), client.RuleInactive); err != nil {
			return apiFailure(err, false, "Unable to disable rule '%s'", q.entityName)
		}
	}
	if err := c.DeleteRule(ctx, q.full()); err != nil {
		return apiFailure(err, false, "Unable to delete rule '%s'", q.entityName)
	}
	fmt.Fprintf(a.stdout, "ok: deleted rule %s\n", q.entityName)
	return nil
}

func ruleList(ctx context.Context, a *app, in *input) error {
	return a.listEntities(ctx, in, client.Rules)
}

// ruleStatuses fills in the status of the rules of namespace ns that a list
// left without one, reading each rule as wsk does.
func (a *app) ruleStatuses(ctx context.Context, c *client.Client, ns string, rules []client.Entity) error {
	for i := range rules {
		if rules[i].Status != "" {
			continue
		}
		r, err := c.GetRule(ctx, "/"+ns+"/"+rules[i].Name)
		if err != nil {
			msg := fmt.Sprintf("Unable to get status of rule '%s'", rules[i].Name)
			fmt.Fprintf(a.stdout, "%s: %s\n", msg, errText(err))
			return apiFailure(err, false, "%s", msg)
		}
		rules[i].Status = r.Status
	}
	return nil
}
