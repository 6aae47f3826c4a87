package controller

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// fireEnv is a real nats-server with JetStream, the real embedded store, a
// controller with that store and an asyncRunner in place of the invokers.
type fireEnv struct {
	st  store.Store
	c   *Controller
	run *asyncRunner
}

func newFireEnv(t *testing.T) *fireEnv {
	t.Helper()
	srv := startNATS(t)
	st := openFireStore(t)
	cfg := testConfig()
	cfg.ComponentCacheTTL = time.Millisecond // see deleted actions at once
	c, _ := runStoreController(t, srv, st, cfg)
	return &fireEnv{st: st, c: c, run: startAsyncRunner(t, srv, st)}
}

func (e *fireEnv) fire(t *testing.T, id, trigger, payload string) (*whisk.Activation, error) {
	t.Helper()
	return e.c.Fire(context.Background(), &FireRequest{
		ActivationID: id, Namespace: "guest", Subject: "guest", Trigger: trigger, Payload: json.RawMessage(payload),
	})
}

// argsOfRun decodes the arguments the runner got for activation id,
// waiting for it.
func (e *fireEnv) argsOfRun(t *testing.T, id string) map[string]any {
	t.Helper()
	eventually(t, 5*time.Second, "activation "+id+" delivered", func() bool { return e.run.ran(id) > 0 })
	var m map[string]any
	if err := json.Unmarshal(e.run.message(id).Args, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFireFansOutToActiveRules(t *testing.T) {
	e := newFireEnv(t)
	ctx := context.Background()
	putTrigger(t, e.st, "guest", "t", whisk.KeyValues{}.Set("p", 1).Set("y", 0))
	putNodeAction(t, e.st, "guest", "a1", whisk.KeyValues{}.Set("x", 1).Set("p", 0), nil)
	putNodeAction(t, e.st, "guest", "a2", nil, nil)
	putRule(t, e.st, "guest", "r1", "t", "a1", whisk.RuleActive)
	putRule(t, e.st, "guest", "r2", "/_/t", "/guest/a2", whisk.RuleActive)
	putRule(t, e.st, "guest", "other", "t2", "a2", whisk.RuleActive) // another trigger's

	const id = "0123456789abcdef0123456789abcdef"
	rec, err := e.fire(t, id, "t", `{"y":2}`)
	if err != nil || rec == nil {
		t.Fatalf("Fire: %v, %v", rec, err)
	}
	if rec.ActivationID != id || rec.Name != "t" || rec.Namespace != "guest" || !rec.Response.Success || string(rec.Response.Result) != `{"y":2}` {
		t.Errorf("record %+v, want trigger t's with the payload as result", rec)
	}
	got := entries(t, rec)
	if len(got) != 2 {
		t.Fatalf("entries %v, want one per rule on t", rec.Logs)
	}
	for i, want := range []ruleEntry{
		{StatusCode: 0, Success: true, ActivationID: RuleActivationID(id, "guest/r1"), Rule: "guest/r1", Action: "guest/a1"},
		{StatusCode: 0, Success: true, ActivationID: RuleActivationID(id, "guest/r2"), Rule: "guest/r2", Action: "guest/a2"},
	} {
		if got[i] != want {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want)
		}
	}
	// The record is stored before Fire returns, in OpenWhisk's log format.
	stored, err := e.st.GetActivation(ctx, "guest", id)
	if err != nil {
		t.Fatalf("trigger record not stored: %v", err)
	}
	if !strings.Contains(stored.Logs[0], `"statusCode":0,"success":true,"activationId":"`) {
		t.Errorf("log line %s, want OpenWhisk's field order", stored.Logs[0])
	}
	// Both actions run, with action < trigger < payload arguments.
	a1 := e.argsOfRun(t, got[0].ActivationID)
	if a1["x"] != 1.0 || a1["p"] != 1.0 || a1["y"] != 2.0 || len(a1) != 3 {
		t.Errorf("a1 got %v, want x=1 (action), p=1 (trigger over action), y=2 (payload over trigger)", a1)
	}
	if a2 := e.argsOfRun(t, got[1].ActivationID); a2["p"] != 1.0 || a2["y"] != 2.0 || len(a2) != 2 {
		t.Errorf("a2 got %v, want p=1, y=2", a2)
	}
	if m := e.run.message(got[0].ActivationID); m.Cause != id || m.Blocking || m.Action.Name != "a1" {
		t.Errorf("a1's message: cause %q blocking %v action %s; want cause the trigger activation, non-blocking", m.Cause, m.Blocking, m.Action.Name)
	}
	for _, en := range got {
		eventually(t, 5*time.Second, "record of "+en.Action, func() bool {
			_, err := e.st.GetActivation(ctx, "guest", en.ActivationID)
			return err == nil
		})
	}

	// A retried fire (same id) runs nothing twice and keeps one record.
	if _, err := e.fire(t, id, "t", `{"y":2}`); err != nil {
		t.Fatalf("retried Fire: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	for _, en := range got {
		if n := e.run.ran(en.ActivationID); n != 1 {
			t.Errorf("%s ran %d times after a retried fire, want 1", en.Action, n)
		}
	}
	if n, err := e.st.CountActivations(ctx, "guest", store.ActivationFilter{Name: "t"}); err != nil || n != 1 {
		t.Errorf("trigger records: %d, %v; want 1", n, err)
	}
}

func TestFireInactiveAndDanglingRules(t *testing.T) {
	e := newFireEnv(t)
	putTrigger(t, e.st, "guest", "t", nil)
	putNodeAction(t, e.st, "guest", "a1", nil, nil)
	putNodeAction(t, e.st, "guest", "a2", nil, nil)
	putRule(t, e.st, "guest", "r1", "t", "a1", whisk.RuleActive)
	putRule(t, e.st, "guest", "r2", "t", "a2", whisk.RuleInactive)

	// One rule disabled: one action runs, the other rule is an entry that
	// failed, as OpenWhisk records it.
	rec, err := e.fire(t, "11111111111111111111111111111111", "t", "")
	if err != nil || rec == nil {
		t.Fatalf("Fire: %v, %v", rec, err)
	}
	got := entries(t, rec)
	if len(got) != 2 || !got[0].Success || got[1].Success {
		t.Fatalf("entries %v, want r1 fired and r2 not", rec.Logs)
	}
	want := ruleEntry{StatusCode: 1, Error: "Rule 'guest/r2' is inactive, action 'guest/a2' was not activated.", Rule: "guest/r2", Action: "guest/a2"}
	if got[1] != want {
		t.Errorf("inactive entry %+v, want %+v", got[1], want)
	}
	if string(rec.Response.Result) != "{}" {
		t.Errorf("result %s, want {} for a fire without payload", rec.Response.Result)
	}
	e.argsOfRun(t, got[0].ActivationID)
	time.Sleep(200 * time.Millisecond)
	if n := e.run.ran(RuleActivationID(rec.ActivationID, "guest/r2")); n != 0 {
		t.Errorf("the inactive rule's action ran %d times", n)
	}

	// A deleted action leaves its rule dangling: its entry fails.
	if err := e.st.DeleteEntity(context.Background(), store.Key{Namespace: "guest", Collection: store.Actions, Name: "a1"}); err != nil {
		t.Fatal(err)
	}
	putRule(t, e.st, "guest", "r2", "t", "a2", whisk.RuleActive)
	rec, err = e.fire(t, "22222222222222222222222222222222", "t", `{}`)
	if err != nil || rec == nil {
		t.Fatalf("Fire: %v, %v", rec, err)
	}
	got = entries(t, rec)
	want = ruleEntry{StatusCode: 1, Error: "The requested resource does not exist.", Rule: "guest/r1", Action: "guest/a1"}
	if len(got) != 2 || got[0] != want || !got[1].Success {
		t.Errorf("entries %v, want r1 failed (%+v) and r2 fired", rec.Logs, want)
	}

	// No active rule: nothing runs, nothing is recorded (204).
	putRule(t, e.st, "guest", "r1", "t", "a1", whisk.RuleInactive)
	putRule(t, e.st, "guest", "r2", "t", "a2", whisk.RuleInactive)
	const none = "33333333333333333333333333333333"
	if rec, err := e.fire(t, none, "t", `{"a":1}`); rec != nil || err != nil {
		t.Errorf("Fire without active rules = %v, %v; want nil, nil", rec, err)
	}
	if _, err := e.st.GetActivation(context.Background(), "guest", none); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a record was stored for a fire without active rules: %v", err)
	}
}

func TestFireResolvesPackagesAndChecksArguments(t *testing.T) {
	e := newFireEnv(t)
	// /whisk.system/utils is public; guest binds it as myutils.
	putDoc(t, e.st, whisk.SystemNamespace, store.Packages, "utils", map[string]any{
		"namespace": whisk.SystemNamespace, "name": "utils", "publish": true, "binding": map[string]any{},
		"parameters": whisk.KeyValues{}.Set("fromPkg", "pkg"),
	})
	putNodeAction(t, e.st, whisk.SystemNamespace, "utils/echo", whisk.KeyValues{}.Set("own", 1), nil)
	putDoc(t, e.st, "guest", store.Packages, "myutils", map[string]any{
		"namespace": "guest", "name": "myutils", "publish": false,
		"binding":    map[string]any{"namespace": whisk.SystemNamespace, "name": "utils"},
		"parameters": whisk.KeyValues{}.Set("fromBinding", "b"),
	})
	// other's private package
	putDoc(t, e.st, "other", store.Packages, "secret", map[string]any{"namespace": "other", "name": "secret", "publish": false, "binding": map[string]any{}})
	putNodeAction(t, e.st, "other", "secret/a", nil, nil)
	putNodeAction(t, e.st, "guest", "locked", whisk.KeyValues{}.Set("x", 1), whisk.KeyValues{}.Set("final", true))

	putTrigger(t, e.st, "guest", "t", nil)
	putRule(t, e.st, "guest", "direct", "t", "/whisk.system/utils/echo", whisk.RuleActive)
	putRule(t, e.st, "guest", "bound", "t", "myutils/echo", whisk.RuleActive)
	putRule(t, e.st, "guest", "private", "t", "/other/secret/a", whisk.RuleActive)
	putRule(t, e.st, "guest", "final", "t", "locked", whisk.RuleActive)

	rec, err := e.fire(t, "44444444444444444444444444444444", "t", `{"x":2}`)
	if err != nil || rec == nil {
		t.Fatalf("Fire: %v, %v", rec, err)
	}
	byRule := map[string]ruleEntry{}
	for _, en := range entries(t, rec) {
		byRule[en.Rule] = en
	}
	if en := byRule["guest/bound"]; !en.Success || en.Action != "guest/myutils/echo" {
		t.Errorf("bound: %+v, want fired", en)
	} else {
		args := e.argsOfRun(t, en.ActivationID)
		if args["fromPkg"] != "pkg" || args["fromBinding"] != "b" || args["own"] != 1.0 || args["x"] != 2.0 {
			t.Errorf("through the binding the action got %v", args)
		}
		if b := e.run.message(en.ActivationID).Annotations.Get("binding"); string(b) != `"guest/myutils"` {
			t.Errorf("binding annotation %s, want \"guest/myutils\"", b)
		}
	}
	if en := byRule["guest/direct"]; !en.Success || en.Action != "whisk.system/utils/echo" {
		t.Errorf("direct: %+v, want fired", en)
	}
	if en := byRule["guest/private"]; en.Success || en.StatusCode != 1 || !strings.Contains(en.Error, "not authorized") {
		t.Errorf("private: %+v, want a failed entry, not authorized", en)
	}
	if en := byRule["guest/final"]; en.Success || en.Error != msgRuleFinalParam {
		t.Errorf("final: %+v, want %q", en, msgRuleFinalParam)
	}
}

func TestFireBadRequests(t *testing.T) {
	e := newFireEnv(t)
	putTrigger(t, e.st, "guest", "t", nil)
	putNodeAction(t, e.st, "guest", "a", nil, nil)
	putRule(t, e.st, "guest", "r", "t", "a", whisk.RuleActive)
	for _, tc := range []struct {
		name, id, trigger, payload string
		want                       error
	}{
		{"missing trigger", "55555555555555555555555555555555", "nope", "", store.ErrNotFound},
		{"array payload", "66666666666666666666666666666666", "t", `[1]`, whisk.ErrBadRequest},
		{"malformed payload", "77777777777777777777777777777777", "t", `{"a":`, whisk.ErrBadRequest},
		{"bad trigger name", "88888888888888888888888888888888", "a/b", "", whisk.ErrBadName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := e.fire(t, tc.id, tc.trigger, tc.payload)
			if !errors.Is(err, tc.want) || rec != nil {
				t.Errorf("Fire = %v, %v; want error %v", rec, err, tc.want)
			}
			if _, err := e.st.GetActivation(context.Background(), "guest", tc.id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a record was stored: %v", err)
			}
		})
	}
	if _, err := e.c.Fire(context.Background(), &FireRequest{Namespace: "guest", Trigger: "t"}); err == nil {
		t.Error("Fire without an activation id succeeded")
	}
}

func TestFireWithoutStore(t *testing.T) {
	c := startController(t, startNATS(t), testConfig())
	_, err := c.Fire(context.Background(), &FireRequest{ActivationID: "x", Namespace: "guest", Trigger: "t"})
	if !errors.Is(err, ErrNoStore) {
		t.Errorf("Fire = %v, want ErrNoStore", err)
	}
}

func TestRuleActivationID(t *testing.T) {
	a := RuleActivationID("0123456789abcdef0123456789abcdef", "guest/r1")
	if a != RuleActivationID("0123456789abcdef0123456789abcdef", "guest/r1") {
		t.Error("not deterministic")
	}
	if a == RuleActivationID("0123456789abcdef0123456789abcdef", "guest/r2") || a == RuleActivationID("0123456789abcdef0123456789abcdeg", "guest/r1") {
		t.Error("collides across rules or fires")
	}
	if len(a) != 32 || a[12] != '4' || !strings.ContainsRune("89ab", rune(a[16])) {
		t.Errorf("%s is not shaped like a version 4 UUID", a)
	}
}
