package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// Handlers of the built-in actions (whisk.KindBuiltin): an action's
// Exec.Main names one. They are the feed actions of /whisk.system/alarms.
const (
	BuiltinAlarm    = "alarms/alarm"
	BuiltinInterval = "alarms/interval"
	BuiltinOnce     = "alarms/once"
)

// Feed lifecycle events, as the wsk CLI sends them in lifecycleEvent.
const (
	lifecycleCreate  = "CREATE"
	lifecycleRead    = "READ"
	lifecycleUpdate  = "UPDATE"
	lifecycleDelete  = "DELETE"
	lifecyclePause   = "PAUSE"
	lifecycleUnpause = "UNPAUSE"
)

// invokeBuiltin runs a built-in action in the controller, at once and
// whatever msg.Blocking says, and stores its record (the invoker's job for
// other actions). It returns the record when blocking, else nil.
func (c *Controller) invokeBuiltin(ctx context.Context, msg *bus.ActivationMessage) (*whisk.Activation, error) {
	start := time.Now()
	a := msg.Action
	var code int
	var result json.RawMessage
	switch {
	case a.Namespace != whisk.SystemNamespace && !strings.HasPrefix(a.Namespace, whisk.SystemNamespace+"/"):
		// Users cannot create such actions; a forged one runs nothing.
		code, result = whisk.StatusDeveloperError, whisk.ErrorResult("Built-in actions exist only in "+whisk.SystemNamespace+".")
	case a.Exec.Main == BuiltinAlarm || a.Exec.Main == BuiltinInterval || a.Exec.Main == BuiltinOnce:
		if c.alarms == nil {
			c.log.Error("alarms feed invoked on a controller without a store", "activation", msg.ActivationID)
			code, result = whisk.StatusInternalError, whisk.ErrorResult("The alarms feed is not available: the controller has no store.")
			break
		}
		code, result = c.alarms.feed(ctx, msg, strings.TrimPrefix(a.Exec.Main, "alarms/"))
	default:
		code, result = whisk.StatusDeveloperError, whisk.ErrorResult(fmt.Sprintf("Unknown built-in action '%s'.", a.Exec.Main))
	}
	end := time.Now()
	path := a.FQN().Path()
	rec := &whisk.Activation{
		Namespace:    msg.Namespace,
		Name:         a.Name,
		Version:      a.Version,
		Subject:      msg.Subject,
		ActivationID: msg.ActivationID,
		Start:        start.UnixMilli(),
		End:          end.UnixMilli(),
		Duration:     end.UnixMilli() - start.UnixMilli(),
		StatusCode:   code,
		Cause:        msg.Cause,
		Response:     whisk.NewResponse(code, result),
		Logs:         []string{},
		Annotations: append(whisk.KeyValues{}.
			Set(whisk.AnnPath, path).
			Set(whisk.AnnWaitTime, max(start.UnixMilli()-msg.Received, 0)).
			Set(whisk.AnnKind, whisk.KindBuiltin).
			Set(whisk.AnnTimeout, false).
			Set(whisk.AnnLimits, a.Limits), msg.Annotations...),
	}
	if c.store != nil {
		if err := c.store.PutActivation(ctx, rec); err != nil {
			// The action ran (an alarm may be configured): answer with
			// its outcome all the same.
			c.log.Error("storing a built-in activation", "activation", msg.ActivationID, "action", path, "error", err)
		}
	}
	if !msg.Blocking {
		return nil, nil
	}
	return rec, nil
}

// feedError is a failed feed invocation: its HTTP-like status and message.
type feedError struct {
	status int
	msg    string
}

func (e *feedError) Error() string { return e.msg }

func feedErrorf(status int, format string, args ...any) error {
	return &feedError{status: status, msg: fmt.Sprintf(format, args...)}
}

// feed runs one lifecycle event of an alarms feed (kind: alarm, interval or
// once) for the trigger msg.Args names, on behalf of msg.Namespace. The
// result is {"status":"success"} (READ: the alarm's configuration and
// status), or {"error", "statusCode"} with statusCode 400 (bad
// parameters), 403, 404 or 500.
func (a *alarms) feed(ctx context.Context, msg *bus.ActivationMessage, kind string) (int, json.RawMessage) {
	out, err := a.lifecycle(ctx, msg, kind)
	if err == nil {
		return whisk.StatusSuccess, out
	}
	fe := new(feedError)
	if !errors.As(err, &fe) {
		a.log.Error("alarms feed failed", "activation", msg.ActivationID, "error", err)
		fe = &feedError{status: http.StatusInternalServerError, msg: "The alarms feed failed: " + err.Error()}
	}
	res, _ := json.Marshal(map[string]any{"error": fe.msg, "statusCode": fe.status})
	if fe.status >= 500 {
		return whisk.StatusInternalError, res
	}
	return whisk.StatusApplicationError, res
}

var feedSuccess = json.RawMessage(`{"status":"success"}`)

func (a *alarms) lifecycle(ctx context.Context, msg *bus.ActivationMessage, kind string) (json.RawMessage, error) {
	var p feedParams
	if err := json.Unmarshal(msg.Args, &p); err != nil || p == nil {
		return nil, feedErrorf(400, "the feed's arguments must be a JSON object")
	}
	event, err := p.str("lifecycleEvent")
	if err != nil {
		return nil, feedErrorf(400, "%v", err)
	}
	ns, trigger, err := feedTrigger(p, msg.Namespace)
	if err != nil {
		return nil, err
	}
	key := alarmKey(ns, trigger)
	switch strings.ToUpper(strings.TrimSpace(event)) {
	case lifecycleCreate:
		return a.create(ctx, p, kind, ns, trigger)
	case lifecycleRead:
		return a.read(ctx, key, ns, trigger)
	case lifecycleUpdate:
		return a.change(ctx, key, ns, trigger, func(s *alarmSpec) error { return s.update(p, kind, time.Now()) })
	case lifecyclePause, lifecycleUnpause:
		active := strings.EqualFold(strings.TrimSpace(event), lifecycleUnpause)
		return a.change(ctx, key, ns, trigger, func(s *alarmSpec) error {
			s.Active, s.Changed, s.Reason = active, time.Now().UnixMilli(), ""
			if !active {
				s.Reason = "paused"
			}
			return nil
		})
	case lifecycleDelete:
		if err := a.specs.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, fmt.Errorf("delete alarm: %w", err)
		}
		if err := a.fires.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			a.log.Warn("deleting an alarm's progress", "trigger", ns+"/"+trigger, "error", err)
		}
		return feedSuccess, nil
	case "":
		return nil, feedErrorf(400, "no lifecycleEvent parameter was provided")
	}
	return nil, feedErrorf(400, "unsupported lifecycleEvent '%s'", event)
}

// feedTrigger reads triggerName ("/ns/trigger", "/_/trigger" or
// "trigger"): it must name a trigger of caller's namespace.
func feedTrigger(p feedParams, caller string) (ns, trigger string, err error) {
	name, err := p.str("triggerName")
	if err != nil || name == "" {
		return "", "", feedErrorf(400, "no trigger name parameter was provided")
	}
	ns, trigger = whisk.DefaultNamespace, name
	if rest, ok := strings.CutPrefix(name, "/"); ok {
		ns, trigger, _ = strings.Cut(rest, "/")
	}
	if ns == whisk.DefaultNamespace {
		ns = caller
	}
	if !whisk.ValidName(ns) || !whisk.ValidName(trigger) {
		return "", "", feedErrorf(400, "triggerName '%s' is not a valid trigger name", name)
	}
	if ns != caller {
		return "", "", feedErrorf(403, "The supplied authentication is not authorized to access trigger '/%s/%s'.", ns, trigger)
	}
	return ns, trigger, nil
}

// create configures a new alarm for the trigger, replacing any old one.
func (a *alarms) create(ctx context.Context, p feedParams, kind, ns, trigger string) (json.RawMessage, error) {
	now := time.Now()
	spec := &alarmSpec{V: 1, Namespace: ns, Trigger: trigger, Feed: kind, Gen: newGen(),
		Active: true, Created: now.UnixMilli(), Changed: now.UnixMilli()}
	if err := spec.configure(p, true, now); err != nil {
		return nil, err
	}
	switch _, err := a.c.store.GetEntity(ctx, store.Key{Namespace: ns, Collection: store.Triggers, Name: trigger}); {
	case errors.Is(err, store.ErrNotFound):
		return nil, feedErrorf(404, "trigger /%s/%s does not exist", ns, trigger)
	case err != nil:
		return nil, fmt.Errorf("read trigger: %w", err)
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	key := alarmKey(ns, trigger)
	if _, err := a.specs.Put(ctx, key, data); err != nil {
		return nil, fmt.Errorf("store alarm: %w", err)
	}
	return feedSuccess, nil
}

// read answers READ as OpenWhisk's alarms provider does.
func (a *alarms) read(ctx context.Context, key, ns, trigger string) (json.RawMessage, error) {
	spec, _, err := a.get(ctx, key, ns, trigger)
	if err != nil {
		return nil, err
	}
	config := map[string]any{"name": spec.Trigger, "namespace": spec.Namespace, "payload": spec.Payload}
	switch spec.Feed {
	case feedOnce:
		config["date"] = spec.Date
		config["deleteAfterFire"] = spec.DeleteAfterFire
	default:
		if spec.StartDate > 0 {
			config["startDate"] = spec.StartDate
		}
		if spec.StopDate > 0 {
			config["stopDate"] = spec.StopDate
		}
		switch {
		case spec.Cron != "":
			config["cron"] = spec.Cron
			if spec.Timezone != "" {
				config["timezone"] = spec.Timezone
			}
		case spec.Seconds > 0:
			config["seconds"] = spec.Seconds
		default:
			config["minutes"] = spec.Minutes
		}
	}
	status := map[string]any{
		"active":         spec.Active,
		"dateChanged":    spec.Changed,
		"dateChangedISO": time.UnixMilli(spec.Changed).UTC().Format(time.RFC3339),
	}
	if spec.Reason != "" {
		status["reason"] = spec.Reason
	}
	return json.Marshal(map[string]any{"config": config, "status": status})
}

// get reads the trigger's alarm.
func (a *alarms) get(ctx context.Context, key, ns, trigger string) (*alarmSpec, uint64, error) {
	e, err := a.specs.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, feedErrorf(404, "no alarm is configured for trigger /%s/%s", ns, trigger)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read alarm: %w", err)
	}
	spec := new(alarmSpec)
	if err := json.Unmarshal(e.Value(), spec); err != nil {
		return nil, 0, fmt.Errorf("corrupt alarm %s/%s: %v", ns, trigger, err)
	}
	return spec, e.Revision(), nil
}

// change applies f to the trigger's alarm and writes it back, retrying
// when it changed in between.
func (a *alarms) change(ctx context.Context, key, ns, trigger string, f func(*alarmSpec) error) (json.RawMessage, error) {
	for tries := 0; ; tries++ {
		spec, rev, err := a.get(ctx, key, ns, trigger)
		if err != nil {
			return nil, err
		}
		if err := f(spec); err != nil {
			return nil, err
		}
		data, err := json.Marshal(spec)
		if err != nil {
			return nil, err
		}
		_, err = a.specs.Update(ctx, key, data, rev)
		if err == nil {
			return feedSuccess, nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) || tries == 4 {
			return nil, fmt.Errorf("update alarm: %w", err)
		}
	}
}

// update applies an UPDATE's parameters: those of the alarm's feed,
// startDate, stopDate and trigger_payload.
func (s *alarmSpec) update(p feedParams, kind string, now time.Time) error {
	if kind != s.Feed {
		return feedErrorf(400, "the alarm of trigger /%s/%s is configured by the %s feed, not %s", s.Namespace, s.Trigger, s.Feed, kind)
	}
	given := false
	for _, k := range []string{"cron", "timezone", "minutes", "seconds", "date", "deleteAfterFire", "startDate", "stopDate", "trigger_payload"} {
		given = given || p.has(k)
	}
	if !given {
		return feedErrorf(400, "no updatable parameters were specified")
	}
	if err := s.configure(p, false, now); err != nil {
		return err
	}
	s.Changed = now.UnixMilli()
	return nil
}

// configure validates the feed parameters p and sets them on the spec; on
// create, the required ones must be there. The messages are OpenWhisk's
// alarms package's.
func (s *alarmSpec) configure(p feedParams, create bool, now time.Time) error {
	bad := func(err error) error { return &feedError{status: 400, msg: err.Error()} }
	if create || p.has("trigger_payload") {
		payload, err := p.payload()
		if err != nil {
			return bad(err)
		}
		s.Payload = payload
	}
	future := func(key string) (int64, error) {
		d, err := p.date(key)
		if err != nil {
			return 0, bad(err)
		}
		if d <= now.UnixMilli() {
			return 0, feedErrorf(400, "%s parameter '%s' must be in the future", key, strings.Trim(string(p[key]), `"`))
		}
		return d, nil
	}
	switch s.Feed {
	case feedOnce:
		if create && !p.has("date") {
			return feedErrorf(400, "alarms once trigger feed is missing the date parameter")
		}
		if p.has("date") {
			d, err := future("date")
			if err != nil {
				return err
			}
			s.Date = d
			if !create && s.Reason == reasonFired {
				s.Active, s.Reason = true, "" // a new date re-arms a fired alarm
			}
		}
		if s.DeleteAfterFire == "" {
			s.DeleteAfterFire = deleteNothing
		}
		if p.has("deleteAfterFire") {
			v, err := p.deleteAfterFire()
			if err != nil {
				return bad(err)
			}
			s.DeleteAfterFire = v
		}
		return nil
	case feedInterval:
		if create && !p.has("minutes") && !p.has("seconds") {
			return feedErrorf(400, "interval trigger feed is missing the minutes parameter")
		}
		if p.has("minutes") && p.has("seconds") {
			return feedErrorf(400, "give the interval in minutes or in seconds, not both")
		}
		if p.has("minutes") {
			n, err := p.positiveInt("minutes")
			if err != nil {
				return bad(err)
			}
			s.Minutes, s.Seconds = n, 0
		}
		if p.has("seconds") {
			n, err := p.positiveInt("seconds")
			if err != nil {
				return bad(err)
			}
			s.Seconds, s.Minutes = n, 0
		}
	case feedAlarm:
		if create && !p.has("cron") {
			return feedErrorf(400, "alarms trigger feed is missing the cron parameter")
		}
		if p.has("cron") {
			expr, err := p.str("cron")
			if err != nil {
				return bad(err)
			}
			if _, err := parseCron(expr); err != nil {
				return feedErrorf(400, "cron pattern '%s' is not valid: %v", expr, err)
			}
			s.Cron = expr
		}
		if p.has("timezone") {
			tz, err := p.str("timezone")
			if err != nil {
				return bad(err)
			}
			if _, err := time.LoadLocation(tz); err != nil || tz == "" || strings.EqualFold(tz, "local") {
				return feedErrorf(400, "timezone '%s' is not valid", tz)
			}
			s.Timezone = tz
		}
	default:
		return feedErrorf(400, "unknown alarms feed '%s'", s.Feed)
	}
	// alarm and interval: the start and stop dates
	if p.has("startDate") {
		d, err := future("startDate")
		if err != nil {
			return err
		}
		s.StartDate = d
	}
	if p.has("stopDate") {
		d, err := future("stopDate")
		if err != nil {
			return err
		}
		s.StopDate = d
	}
	if s.StopDate > 0 && s.StartDate >= s.StopDate {
		return feedErrorf(400, "stopDate parameter '%d' must be greater than the startDate parameter '%d'", s.StopDate, s.StartDate)
	}
	sc, err := s.schedule()
	if err != nil {
		return bad(err)
	}
	if s.StopDate > 0 && sc.next(max(now.UnixMilli(), s.Changed)) == 0 {
		return feedErrorf(400, "the first scheduled trigger fire is not until after the stop date")
	}
	return nil
}

// newGen draws an alarm generation.
func newGen() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
