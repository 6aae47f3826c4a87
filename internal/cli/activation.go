package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/whisk"
)

func activationList(ctx context.Context, a *app, in *input) error {
	if err := checkArgs(in, 0, 1, "An optional namespace is the only valid argument."); err != nil {
		return err
	}
	f := client.ActivationFilter{
		Skip:  int(in.integer("skip", 0)),
		Limit: int(in.integer("limit", 30)),
		Since: in.integer("since", 0),
		Upto:  in.integer("upto", 0),
		Docs:  in.boolean("full"),
	}
	ns := a.set.namespace
	if len(in.args) == 1 {
		q, err := a.qualify(in.args[0])
		if err != nil {
			return err
		}
		ns, f.Name = q.namespace, "/"+q.namespace
		if q.entityName != "" {
			f.Name += "/" + q.entityName
		}
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	acts, err := c.ListActivations(ctx, f)
	if err != nil {
		return apiFailure(err, false, "Unable to obtain the list of activations for namespace '%s'", displayNamespace(ns))
	}
	if f.Docs {
		fmt.Fprintln(a.stdout, "activations")
		for i := range acts {
			printJSON(a.stdout, viewActivation(&acts[i]))
		}
		return nil
	}
	printActivationTable(a.stdout, acts)
	return nil
}

// withLast puts the id of the newest activation first in the arguments when
// --last is given.
func (a *app) withLast(ctx context.Context, in *input, c *client.Client) ([]string, error) {
	if !in.boolean("last") {
		return in.args, nil
	}
	acts, err := c.ListActivations(ctx, client.ActivationFilter{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(acts) == 0 {
		return nil, &failure{msg: "Activation list does not contain any activations.", code: exitGeneral, usage: true}
	}
	return append([]string{acts[0].ActivationID}, in.args...), nil
}

// lastFailure reports a failed --last lookup under what the command does.
func lastFailure(err error, what string) error {
	if f, ok := err.(*failure); ok {
		return &failure{msg: what + ": " + f.msg, code: f.code, usage: f.usage}
	}
	return apiFailure(err, false, "%s", what)
}

func activationGet(ctx context.Context, a *app, in *input) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	args, err := a.withLast(ctx, in, c)
	if err != nil {
		return lastFailure(err, "Unable to get activation")
	}
	in.args = args
	if err := checkArgs(in, 1, 2, "An activation ID is required."); err != nil {
		return err
	}
	field := ""
	if len(args) > 1 {
		f, ok := validField(activationFields, args[1])
		if !ok {
			return &failure{msg: fmt.Sprintf("Invalid field filter '%s'.", args[1]), code: exitGeneral}
		}
		field = f
	}
	id := args[0]
	act, err := c.GetActivation(ctx, id)
	if err != nil {
		return apiFailure(err, false, "Unable to get activation '%s'", id)
	}
	act.StatusCode = statusCodeOf(act.Response.Status)
	switch {
	case in.boolean("summary"):
		fmt.Fprintf(a.stdout, "activation result for '/%s/%s' (%s at %s)\n", act.Namespace, act.Name, act.Response.Status, time.Unix(act.End/1000, 0))
		printJSON(a.stdout, generic(act.Response.Result))
	case in.boolean("logs"):
		for _, l := range act.Logs {
			fmt.Fprintln(a.stdout, stripLog(l))
		}
	case field != "":
		fmt.Fprintf(a.stdout, "ok: got activation %s, displaying field %s\n", id, args[1])
		printField(a.stdout, viewActivation(act), field)
	default:
		fmt.Fprintf(a.stdout, "ok: got activation %s\n", id)
		printJSON(a.stdout, viewActivation(act))
	}
	return nil
}

func activationLogs(ctx context.Context, a *app, in *input) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	args, err := a.withLast(ctx, in, c)
	if err != nil {
		return lastFailure(err, "Unable to get logs for activation")
	}
	in.args = args
	if err := checkArgs(in, 1, 1, "An activation ID is required."); err != nil {
		return err
	}
	logs, err := c.ActivationLogs(ctx, args[0])
	if err != nil {
		return apiFailure(err, false, "Unable to get logs for activation '%s'", args[0])
	}
	strip := in.boolean("strip")
	for _, l := range logs {
		if strip {
			l = stripLog(l)
		}
		fmt.Fprintln(a.stdout, l)
	}
	return nil
}

func activationResult(ctx context.Context, a *app, in *input) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	args, err := a.withLast(ctx, in, c)
	if err != nil {
		return lastFailure(err, "Unable to get result for activation")
	}
	in.args = args
	if err := checkArgs(in, 1, 1, "An activation ID is required."); err != nil {
		return err
	}
	res, err := c.ActivationResult(ctx, args[0])
	if err != nil {
		return apiFailure(err, false, "Unable to get result for activation '%s'", args[0])
	}
	printJSON(a.stdout, generic(res.Result))
	return nil
}

// activationPoll prints the logs of new activations as they arrive, until
// interrupted or for --exit seconds.
func activationPoll(ctx context.Context, a *app, in *input) error {
	if err := checkArgs(in, 0, 1, "An optional namespace is the only valid argument."); err != nil {
		return err
	}
	var name string
	if len(in.args) == 1 {
		q, err := a.qualify(in.args[0])
		if err != nil {
			return err
		}
		name = "/" + q.namespace
		if q.entityName != "" {
			name += "/" + q.entityName
		}
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "Enter Ctrl-c to exit.")
	var since int64
	ago := time.Duration(in.integer("since-seconds", 0))*time.Second +
		time.Duration(in.integer("since-minutes", 0))*time.Minute +
		time.Duration(in.integer("since-hours", 0))*time.Hour +
		time.Duration(in.integer("since-days", 0))*24*time.Hour
	if ago == 0 {
		// From the newest activation on, or from now if there is none.
		acts, err := c.ListActivations(ctx, client.ActivationFilter{Limit: 1, Docs: true})
		switch {
		case err != nil:
			a.log.Debug("listing the last activation failed; polling from now", "err", err)
			since = a.now().UnixMilli()
		case len(acts) > 0:
			since = acts[0].Start + 1
		}
	} else {
		since = a.now().Add(-ago).UnixMilli()
	}
	fmt.Fprintln(a.stdout, "Polling for activation logs")
	exitAfter := time.Duration(in.integer("exit", 0)) * time.Second
	started := a.now()
	// Records appear when activations end, so a long activation that started
	// before the newest one seen appears late: keep listing a window behind
	// the newest start, and remember what was printed.
	floor := since
	reported := map[string]int64{} // activation id -> start
	tick := time.NewTicker(a.pollInterval)
	defer tick.Stop()
	for {
		if exitAfter > 0 && a.now().Sub(started) > exitAfter {
			return nil
		}
		acts, err := c.ListActivations(ctx, client.ActivationFilter{Name: name, Since: since, Limit: 200, Docs: true})
		if err != nil && ctx.Err() == nil {
			a.log.Debug("polling for activations failed; retrying", "err", err)
		}
		newest := since
		// The list is newest first; print in arrival order.
		for i := len(acts) - 1; i >= 0; i-- {
			act := &acts[i]
			if _, seen := reported[act.ActivationID]; !seen {
				reported[act.ActivationID] = act.Start
				fmt.Fprintf(a.stdout, "\nActivation: '%s' (%s)\n", act.Name, act.ActivationID)
				printJSON(a.stdout, logsOrEmpty(act))
			}
			newest = max(newest, act.Start)
		}
		since = max(floor, newest-pollWindow.Milliseconds())
		for id, start := range reported {
			if start < since {
				delete(reported, id)
			}
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(a.stdout, "Poll terminated")
			return &failure{code: exitGeneral, silent: true}
		case <-tick.C:
		}
	}
}

// pollWindow is how far behind the newest activation poll keeps looking for
// activations that started earlier but ended later.
const pollWindow = time.Minute

func logsOrEmpty(act *whisk.Activation) []string {
	if act.Logs == nil {
		return []string{}
	}
	return act.Logs
}
