package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/whisk"
)

// Triggers with a feed follow wsk's feed lifecycle: the trigger carries the
// annotation "feed" naming the feed action, and the CLI invokes that action,
// blocking, with {lifecycleEvent, triggerName: "/ns/trigger", authKey} and
// the feed's parameters: CREATE after the trigger is stored (deleting the
// trigger again when the feed fails), READ on get, UPDATE on update, DELETE
// before the trigger is deleted.

// Feed lifecycle events.
const (
	feedCreate = "CREATE"
	feedRead   = "READ"
	feedUpdate = "UPDATE"
	feedDelete = "DELETE"
)

// exitNotAllowed is wsk's exit status for flags that cannot go together.
const exitNotAllowed = 149

// triggerArgs are the parameters of a trigger command line: -p/-P, and
// wsk's -F (feed) and -T (trigger) parameters.
type triggerArgs struct {
	params, annotations       whisk.KeyValues
	feedParams, triggerParams whisk.KeyValues
	// classic: -p or -P was given, or neither -F nor -T; the parameters
	// then go to the feed when there is one, else to the trigger.
	classic                bool
	hasFeedOrTriggerParams bool
}

func parseTriggerArgs(in *input) (*triggerArgs, error) {
	ta := &triggerArgs{}
	var err error
	if ta.params, ta.annotations, err = paramsAndAnnotations(in); err != nil {
		return nil, err
	}
	if ta.feedParams, err = keyValues(in, "feed-param", "", "feed parameter"); err != nil {
		return nil, err
	}
	if ta.triggerParams, err = keyValues(in, "trigger-param", "", "trigger parameter"); err != nil {
		return nil, err
	}
	ta.hasFeedOrTriggerParams = in.changed("feed-param") || in.changed("trigger-param")
	ta.classic = in.changed("param") || in.changed("param-file") || !ta.hasFeedOrTriggerParams
	return ta, nil
}

// mixedParamsFailure is wsk's error for -p/-P given with -F or -T.
func mixedParamsFailure() error {
	return &failure{msg: "Incorrect usage. Cannot combine --feed-param or --trigger-param flag with neither --param nor --param-file flag", code: exitNotAllowed}
}

// lifecycle returns params followed by the lifecycle parameters of a feed
// invocation for the trigger q, which override params of the same name.
func (a *app) lifecycle(params whisk.KeyValues, event string, q qname) whisk.KeyValues {
	return params.Merge(whisk.KeyValues{
		{Key: "lifecycleEvent", Value: jsonString(event)},
		{Key: "triggerName", Value: jsonString("/" + q.namespace + "/" + q.entityName)},
		{Key: "authKey", Value: jsonString(a.set.auth)},
	})
}

func triggerCreate(ctx context.Context, a *app, in *input) error {
	if err := checkArgs(in, 1, 1, "A trigger name is required."); err != nil {
		return err
	}
	return a.createTrigger(ctx, in)
}

// createTrigger stores the trigger, then with --feed invokes the feed with
// the CREATE event, deleting the trigger again if the feed fails.
func (a *app) createTrigger(ctx context.Context, in *input) error {
	q, err := a.qualifyEntity(in.args[0])
	if err != nil {
		return err
	}
	ta, err := parseTriggerArgs(in)
	if err != nil {
		return err
	}
	if ta.classic && ta.hasFeedOrTriggerParams {
		return mixedParamsFailure()
	}
	var feed *qname
	if name := in.str("feed"); name != "" {
		fq, err := a.qualifyEntity(name)
		if err != nil {
			return err
		}
		feed = &fq
	}
	put := &client.TriggerPut{Annotations: ta.annotations}
	var feedArgs whisk.KeyValues
	switch {
	case ta.classic && feed != nil:
		feedArgs = a.lifecycle(ta.params, feedCreate, q)
	case ta.classic:
		put.Parameters = ta.params
	case feed == nil && len(ta.feedParams) > 0:
		return &failure{msg: "Incorrect usage. Trigger without a feed cannot have feed parameters", code: exitNotAllowed}
	default:
		put.Parameters = ta.triggerParams
		feedArgs = a.lifecycle(ta.feedParams, feedCreate, q)
	}
	if feed != nil {
		put.Annotations = put.Annotations.Merge(whisk.KeyValues{{Key: client.FeedAnnotation, Value: jsonString(feed.full())}})
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	if _, err := c.PutTrigger(ctx, q.full(), put, false); err != nil {
		return apiFailure(err, false, "Unable to create trigger '%s'", q.entityName)
	}
	if feed != nil {
		if err := a.invokeFeed(ctx, c, *feed, feedArgs, true); err != nil {
			// Remove the trigger whose feed failed; a failure of that is
			// reported by the delete itself and otherwise ignored.
			if derr := a.deleteTrigger(ctx, c, q, ta.params); derr != nil {
				a.log.Debug("deleting the trigger of a failed feed", "trigger", q.full(), "err", derr)
			}
			return wrapFailure(err, false, "Unable to create trigger '%s': Unable to configure feed '%s'", q.entityName, feed.full())
		}
	}
	fmt.Fprintf(a.stdout, "ok: created trigger %s\n", q.entityName)
	return nil
}

// invokeFeed invokes the feed action blocking with args and prints the
// outcome as wsk does: the activation record on success, after an
// "ok: invoked" line when header; a failed activation on stderr; a feed
// still running as "not yet finished". Failed and unfinished activations
// return a silent failure with their exit status; an API error returns as
// it is.
func (a *app) invokeFeed(ctx context.Context, c *client.Client, feed qname, args whisk.KeyValues, header bool) error {
	inv, err := c.Invoke(ctx, feed.full(), argsObject(args), true, false, 0)
	if err != nil {
		return err
	}
	ok := inv.Status >= 200 && inv.Status <= 299 && inv.Status != 202
	return a.printInvocation(feed, inv, true, ok && header)
}

// configureFeed is wsk's feed invocation for an existing trigger (READ,
// UPDATE, DELETE): the feed named by the trigger's annotation, its outcome
// printed without the "ok: invoked" line.
func (a *app) configureFeed(ctx context.Context, c *client.Client, feedName string, args whisk.KeyValues) error {
	feed, err := a.qualifyEntity(feedName)
	if err != nil {
		return err
	}
	err = a.invokeFeed(ctx, c, feed, args, false)
	if err != nil && !isFailure(err) {
		err = apiFailure(err, true, "Unable to invoke action '%s'", feed.entityName)
	}
	if err != nil {
		return wrapFailure(err, true, "Unable to configure feed '%s'", feedName)
	}
	return nil
}

func isFailure(err error) bool {
	var f *failure
	return errors.As(err, &f)
}

// wrapFailure prefixes the message of a failure (keeping its exit status,
// and showing the usage hint if either asks for it), or wraps a client error.
func wrapFailure(err error, usage bool, format string, args ...any) error {
	prefix := fmt.Sprintf(format, args...)
	var f *failure
	if errors.As(err, &f) {
		return &failure{msg: prefix + ": " + f.msg, code: f.code, usage: f.usage || usage, silent: f.silent}
	}
	return apiFailure(err, usage, "%s", prefix)
}

func triggerUpdate(ctx context.Context, a *app, in *input) error {
	if err := checkArgs(in, 1, 1, "A trigger name is required."); err != nil {
		return err
	}
	q, err := a.qualifyEntity(in.args[0])
	if err != nil {
		return err
	}
	ta, err := parseTriggerArgs(in)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	existing, err := c.GetTrigger(ctx, q.full())
	switch {
	case errors.Is(err, client.ErrNotFound):
		return a.createTrigger(ctx, in)
	case err != nil:
		return apiFailure(err, false, "Unable to get trigger '%s'", q.entityName)
	}
	feed := existing.Feed()
	if !ta.classic {
		// -F and -T: the trigger takes the -T parameters, the feed the -F ones.
		put := &client.TriggerPut{Parameters: ta.triggerParams, Annotations: ta.annotations}
		if _, err := c.PutTrigger(ctx, q.full(), put, true); err != nil {
			return apiFailure(err, false, "Unable to update trigger '%s'", q.entityName)
		}
		if feed == "" && len(ta.feedParams) > 0 {
			return &failure{msg: fmt.Sprintf("Unable to configure feed '%s': this trigger does not contain a feed", q.entityName), code: exitGeneral}
		}
		if feed != "" && len(ta.feedParams) > 0 {
			if err := a.configureFeed(ctx, c, feed, a.lifecycle(ta.feedParams, feedUpdate, q)); err != nil {
				return wrapFailure(err, false, "Unable to create trigger '%s'", q.entityName)
			}
		}
		fmt.Fprintf(a.stdout, "ok: updated trigger %s\n", q.entityName)
		return nil
	}
	if ta.hasFeedOrTriggerParams {
		return mixedParamsFailure()
	}
	if feed != "" {
		// A trigger with a feed is updated through its feed alone.
		if err := a.configureFeed(ctx, c, feed, a.lifecycle(ta.params, feedUpdate, q)); err != nil {
			return wrapFailure(err, false, "Unable to create trigger '%s'", q.entityName)
		}
	} else {
		put := &client.TriggerPut{Parameters: ta.params, Annotations: ta.annotations}
		if _, err := c.PutTrigger(ctx, q.full(), put, true); err != nil {
			return apiFailure(err, false, "Unable to update trigger '%s'", q.entityName)
		}
	}
	fmt.Fprintf(a.stdout, "ok: updated trigger %s\n", q.entityName)
	return nil
}

func triggerGet(ctx context.Context, a *app, in *input) error {
	q, field, c, err := a.getArgs(in, triggerFields, "A trigger name is required.")
	if err != nil {
		return err
	}
	t, err := c.GetTrigger(ctx, q.full())
	if err != nil {
		return apiFailure(err, false, "Unable to get trigger '%s'", q.entityName)
	}
	if feed := t.Feed(); feed != "" {
		// wsk shows a feed's trigger through the feed: its READ answer. A
		// failing feed is shown as the invocation's outcome, not an error.
		if err := a.configureFeed(ctx, c, feed, a.lifecycle(nil, feedRead, q)); err != nil {
			a.log.Debug("reading the trigger's feed failed", "trigger", q.full(), "feed", feed, "err", err)
		}
		return nil
	}
	if in.boolean("summary") {
		printTriggerSummary(a.stdout, t)
		return nil
	}
	printGot(a.stdout, in, "trigger", q, field, viewTrigger(t))
	return nil
}

func triggerDelete(ctx context.Context, a *app, in *input) error {
	q, c, err := a.entityArgs(in, 1, 1, "A trigger name is required.")
	if err != nil {
		return err
	}
	return a.deleteTrigger(ctx, c, q, nil)
}

// deleteTrigger deletes the trigger q, first telling its feed (with params
// and the DELETE event), whose failure does not stop the delete.
func (a *app) deleteTrigger(ctx context.Context, c *client.Client, q qname, params whisk.KeyValues) error {
	t, err := c.GetTrigger(ctx, q.full())
	if err != nil {
		return apiFailure(err, false, "Unable to get trigger '%s'", q.entityName)
	}
	if feed := t.Feed(); feed != "" {
		if err := a.configureFeed(ctx, c, feed, a.lifecycle(params, feedDelete, q)); err != nil {
			a.log.Debug("the trigger's feed failed to delete it", "trigger", q.full(), "feed", feed, "err", err)
		}
	}
	if err := c.DeleteTrigger(ctx, q.full()); err != nil {
		return apiFailure(err, false, "Unable to delete trigger '%s'", q.entityName)
	}
	fmt.Fprintf(a.stdout, "ok: deleted trigger %s\n", q.entityName)
	return nil
}

func triggerList(ctx context.Context, a *app, in *input) error {
	return a.listEntities(ctx, in, client.Triggers)
}

func triggerFire(ctx context.Context, a *app, in *input) error {
	q, params, c, err := a.invokeArgs(in, "A trigger name is required.")
	if err != nil {
		return err
	}
	id, err := c.FireTrigger(ctx, q.full(), argsObject(params))
	if err != nil {
		return apiFailure(err, false, "Unable to fire trigger '%s'", q.entityName)
	}
	fmt.Fprintf(a.stdout, "ok: triggered /%s/%s with id %s\n", q.namespace, q.entityName, id)
	return nil
}
