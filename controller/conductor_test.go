package controller

import (
	"encoding/json"
	"testing"

	"github.com/gust-faas/gust/whisk"
)

// conductorAction stores a conductor action the funcInvoker runs as fn.
func (e *composeEnv) conductorAction(name string, fn actionFunc) *whisk.Action {
	e.inv.handle(name, fn)
	return e.put(&whisk.Action{
		Name: name, Exec: whisk.Exec{Kind: whisk.KindNode, Digest: "00"},
		Annotations: whisk.KeyValues{{Key: annConductor, Value: json.RawMessage("true")}},
		Limits:      whisk.Limits{Timeout: 5000, Memory: 128, Logs: 10, Concurrency: 1},
	})
}

// twice runs inc twice, counting in its state, then returns.
func twice(args map[string]any) (map[string]any, int) {
	step, _ := args["step"].(float64)
	n, _ := args["n"].(float64)
	if step < 2 {
		return map[string]any{"action": "inc", "params": map[string]any{"n": n}, "state": map[string]any{"step": step + 1}}, whisk.StatusSuccess
	}
	return map[string]any{"params": map[string]any{"n": n, "done": true}}, whisk.StatusSuccess
}

func TestConductorLoopsTwice(t *testing.T) {
	t.Parallel()
	e := newComposeEnv(t, true)
	e.fn("inc", 256)
	cond := e.conductorAction("cond", twice)
	rec := e.invoke(cond, `{"n":1}`)
	if got := resultOf(t, rec); got["n"] != 3.0 || got["done"] != true || !rec.Response.Success {
		t.Fatalf("result = %s (%s), want {n:3, done:true}", rec.Response.Result, rec.Response.Status)
	}
	if len(rec.Logs) != 5 {
		t.Fatalf("logs = %q, want conductor, inc, conductor, inc, conductor", rec.Logs)
	}
	for key, want := range map[string]string{
		annConductor: "true", whisk.AnnKind: `"sequence"`, whisk.AnnTopmost: "true", whisk.AnnPath: `"guest/cond"`,
		whisk.AnnLimits: `{"timeout":5000,"memory":256,"logs":10,"concurrency":1}`,
	} {
		if got := annotation(rec, key); got != want {
			t.Errorf("annotation %s = %s, want %s", key, got, want)
		}
	}
	for i, id := range rec.Logs {
		step := e.stored(id)
		checkStep(t, step, rec.ActivationID)
		want := "cond"
		if i%2 == 1 {
			want = "inc"
		}
		if step.Name != want || id != stepID(rec.ActivationID, i) {
			t.Errorf("step %d is %s (%s), want %s", i, step.Name, id, want)
		}
	}
	// n=3 and done: the conductor saw each component's output with its
	// state added.
	if e.inv.ranName("inc") != 2 || e.inv.ranName("cond") != 3 {
		t.Errorf("ran inc %d and cond %d times, want 2 and 3", e.inv.ranName("inc"), e.inv.ranName("cond"))
	}
	e.stored(rec.ActivationID)
}

func TestConductorLimitsAndErrors(t *testing.T) {
	t.Parallel()
	e := newComposeEnv(t, true)
	e.fn("inc", 256)
	// relay asks for args.next, then returns whatever it is told.
	relay := e.conductorAction("relay", func(args map[string]any) (map[string]any, int) {
		if next, ok := args["next"]; ok {
			return map[string]any{"action": next}, whisk.StatusSuccess
		}
		return map[string]any{"params": args}, whisk.StatusSuccess
	})
	// forever asks for inc whatever it is told.
	forever := e.conductorAction("forever", func(args map[string]any) (map[string]any, int) {
		return map[string]any{"action": "inc", "params": map[string]any{"n": args["n"]}}, whisk.StatusSuccess
	})
	// bad returns an application error at once.
	bad := e.conductorAction("bad", func(map[string]any) (map[string]any, int) {
		return map[string]any{"error": "no plan"}, whisk.StatusApplicationError
	})

	tests := []struct {
		name     string
		action   *whisk.Action
		args     string
		status   int
		result   string
		logs     int
		incRuns  int
		condRuns int
	}{
		{"missing component", relay, `{"next":"nope"}`, whisk.StatusSuccess,
			`{"error":"Failed to resolve action with name 'guest/nope' during composition."}`, 2, 0, 2},
		{"not an action name", relay, `{"next":42}`, whisk.StatusSuccess,
			`{"error":"Failed to parse action name from json value 42 during composition."}`, 2, 0, 2},
		{"conductor error", bad, `{}`, whisk.StatusApplicationError, `{"error":"no plan"}`, 1, 0, 1},
		{"too many steps", forever, `{"n":0}`, whisk.StatusApplicationError,
			`{"error":"Too many actions in the composition."}`, 151, 50, 101},
	}
	for _, tc := range tests {
		inc0, cond0 := e.inv.ranName("inc"), e.inv.ranName(tc.action.Name)
		rec := e.invoke(tc.action, tc.args)
		if rec.Response.StatusCode != tc.status || string(rec.Response.Result) != tc.result {
			t.Errorf("%s: response %s %s, want %s %s", tc.name, rec.Response.Status, rec.Response.Result, whisk.StatusName(tc.status), tc.result)
		}
		if len(rec.Logs) != tc.logs {
			t.Errorf("%s: %d ids in logs, want %d", tc.name, len(rec.Logs), tc.logs)
		}
		if inc, cond := e.inv.ranName("inc")-inc0, e.inv.ranName(tc.action.Name)-cond0; inc != tc.incRuns || cond != tc.condRuns {
			t.Errorf("%s: ran inc %d and the conductor %d times, want %d and %d", tc.name, inc, cond, tc.incRuns, tc.condRuns)
		}
	}
}

// TestConductorNesting: a conductor's component may be a sequence, and a
// sequence's component a conductor; each gets its own linked record.
func TestConductorNesting(t *testing.T) {
	t.Parallel()
	e := newComposeEnv(t, true)
	e.fn("inc", 256)
	e.fn("double", 256)
	e.seq("pair", "inc", "double")
	e.conductorAction("once", func(args map[string]any) (map[string]any, int) {
		if _, done := args["done"]; done {
			return map[string]any{"params": map[string]any{"n": args["n"]}}, whisk.StatusSuccess
		}
		return map[string]any{"action": "pair", "params": map[string]any{"n": args["n"]}, "state": map[string]any{"done": true}}, whisk.StatusSuccess
	})
	outer := e.seq("outer", "inc", "once")
	rec := e.invoke(outer, `{"n":0}`)
	if got := resultOf(t, rec); got["n"] != 4.0 { // ((0+1)+1)*2
		t.Fatalf("result = %s, want n=4", rec.Response.Result)
	}
	comp := e.stored(rec.Logs[1])
	if comp.Cause != rec.ActivationID || annotation(comp, annConductor) != "true" || annotation(comp, whisk.AnnTopmost) != "false" ||
		annotation(comp, whisk.AnnCausedBy) != `"sequence"` || len(comp.Logs) != 3 {
		t.Fatalf("composition record: cause %q annotations %s logs %q; want cause %s, conductor, not topmost, 3 ids",
			comp.Cause, anns(comp), comp.Logs, rec.ActivationID)
	}
	pair := e.stored(comp.Logs[1])
	if pair.Name != "pair" || pair.Cause != comp.ActivationID || len(pair.Logs) != 2 {
		t.Errorf("nested sequence record %s: cause %q logs %q; want pair caused by %s with 2 ids", pair.Name, pair.Cause, pair.Logs, comp.ActivationID)
	}
	for _, id := range pair.Logs {
		checkStep(t, e.stored(id), pair.ActivationID)
	}
}
