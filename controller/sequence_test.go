package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/whisk"
)

func TestSequenceComposes(t *testing.T) {
	t.Parallel()
	e := newComposeEnv(t, true)
	e.fn("inc", 128)
	e.fn("triple", 512, whisk.KeyValue{Key: "factor", Value: json.RawMessage("3")})
	e.inv.handle("triple", double)
	e.fn("inc2", 256)
	e.inv.handle("inc2", inc)
	s := e.seq("s", "inc", "triple", "inc2")

	msg := invocation(s, `{"n":1}`, true)
	rec, err := e.c.Invoke(context.Background(), msg, 20*time.Second)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	// (1+1)*3+1: each output is the next input; triple's parameter applies.
	if got := resultOf(t, rec); got["n"] != 7.0 || !rec.Response.Success {
		t.Fatalf("result = %s (%s), want n=7, success", rec.Response.Result, rec.Response.Status)
	}
	if rec.ActivationID != msg.ActivationID || rec.Name != "s" || rec.Namespace != "guest" || rec.Cause != "" {
		t.Errorf("record id %s name %s ns %s cause %q, want %s s guest and no cause", rec.ActivationID, rec.Name, rec.Namespace, rec.Cause, msg.ActivationID)
	}
	want := []string{stepID(msg.ActivationID, 0), stepID(msg.ActivationID, 1), stepID(msg.ActivationID, 2)}
	if !slices.Equal(rec.Logs, want) {
		t.Errorf("logs = %q, want the component ids %q", rec.Logs, want)
	}
	for key, want := range map[string]string{
		whisk.AnnTopmost: "true", whisk.AnnKind: `"sequence"`, whisk.AnnPath: `"guest/s"`,
		whisk.AnnLimits: `{"timeout":5000,"memory":512,"logs":10,"concurrency":1}`, whisk.AnnCausedBy: "",
	} {
		if got := annotation(rec, key); got != want {
			t.Errorf("annotation %s = %s, want %s", key, got, want)
		}
	}
	var sum int64
	for i, id := range rec.Logs {
		step := e.stored(id)
		checkStep(t, step, msg.ActivationID)
		if step.Name != []string{"inc", "triple", "inc2"}[i] {
			t.Errorf("step %d ran %s", i, step.Name)
		}
		sum += step.Duration
	}
	if rec.Duration != sum {
		t.Errorf("duration = %d, want the sum of the steps' %d", rec.Duration, sum)
	}
	if stored := e.stored(msg.ActivationID); !slices.Equal(stored.Logs, rec.Logs) || string(stored.Response.Result) != string(rec.Response.Result) {
		t.Errorf("stored record %+v differs from the returned one", stored)
	}
}

func TestSequenceErrorStopsChain(t *testing.T) {
	t.Parallel()
	e := newComposeEnv(t, true)
	e.fn("inc", 256)
	e.fn("fail", 256)
	e.fn("double", 256)
	s := e.seq("s", "inc", "fail", "double")
	rec := e.invoke(s, `{"n":1}`)
	if rec.Response.StatusCode != whisk.StatusApplicationError || rec.Response.Success || string(rec.Response.Result) != `{"error":"boom"}` {
		t.Errorf("response = %+v, want step 2's application error", rec.Response)
	}
	if len(rec.Logs) != 2 {
		t.Errorf("logs = %q, want the two steps that ran", rec.Logs)
	}
	if n := e.inv.ranName("double"); n != 0 {
		t.Errorf("step 3 ran %d times after step 2 failed", n)
	}
	checkStep(t, e.stored(rec.Logs[1]), rec.ActivationID)
}

// TestSequenceStepRefused: an invoker that answers without a record fails
// the sequence with a whisk internal error, as OpenWhisk.
func TestSequenceStepRefused(t *testing.T) {
	t.Parallel()
	e := newComposeEnv(t, true)
	e.fn("inc", 256)
	e.fn("broken", 256)
	e.inv.handle("broken", nil)
	rec := e.invoke(e.seq("s", "inc", "broken", "inc"), `{"n":1}`)
	if rec.Response.StatusCode != whisk.StatusInternalError || string(rec.Response.Result) != `{"error":"Sequence failed."}` || len(rec.Logs) != 1 {
		t.Errorf("response %s %s logs %q, want a whisk internal error after one step", rec.Response.Status, rec.Response.Result, rec.Logs)
	}
	if n := e.inv.ranName("inc"); n != 1 {
		t.Errorf("inc ran %d times, want once", n)
	}
}

func TestNestedSequenceRunsInline(t *testing.T) {
	t.Parallel()
	e := newComposeEnv(t, true)
	e.fn("inc", 128)
	e.fn("double", 384)
	e.seq("inner", "inc", "inc")
	outer := e.seq("outer", "double", "inner", "double")
	rec := e.invoke(outer, `{"n":1}`)
	if got := resultOf(t, rec); got["n"] != 8.0 { // (1*2+1+1)*2
		t.Fatalf("result = %s, want n=8", rec.Response.Result)
	}
	if len(rec.Logs) != 3 || rec.Logs[1] != stepID(rec.ActivationID, 1) {
		t.Fatalf("logs = %q, want 3 ids, the nested sequence's second", rec.Logs)
	}
	if got := annotation(rec, whisk.AnnLimits); !strings.Contains(got, `"memory":384`) {
		t.Errorf("limits = %s, want the largest memory, 384", got)
	}
	inner := e.stored(rec.Logs[1])
	if inner.Name != "inner" || inner.Cause != rec.ActivationID || annotation(inner, whisk.AnnTopmost) != "false" ||
		annotation(inner, whisk.AnnCausedBy) != `"sequence"` || annotation(inner, whisk.AnnKind) != `"sequence"` {
		t.Errorf("nested record %s: cause %q, annotations %s; want cause %s, topmost false, causedBy and kind sequence",
			inner.Name, inner.Cause, anns(inner), rec.ActivationID)
	}
	if got := resultOf(t, inner); got["n"] != 4.0 || len(inner.Logs) != 2 {
		t.Errorf("nested record result %s logs %q, want n=4 and two ids", inner.Response.Result, inner.Logs)
	}
	for _, id := range inner.Logs {
		checkStep(t, e.stored(id), inner.ActivationID)
	}
	checkStep(t, e.stored(rec.Logs[0]), rec.ActivationID)
	checkStep(t, e.stored(rec.Logs[2]), rec.ActivationID)
}

func TestSequenceComponentDeletedLater(t *testing.T) {
	t.Parallel()
	e := newComposeEnv(t, true)
	e.fn("inc", 256)
	e.fn("double", 256)
	s := e.seq("s", "inc", "double")
	if rec := e.invoke(s, `{"n":1}`); !rec.Response.Success {
		t.Fatalf("first run: %+v", rec.Response)
	}
	e.del("double")
	time.Sleep(5 * time.Millisecond) // past the component cache's TTL
	rec := e.invoke(s, `{"n":1}`)
	if rec.Response.StatusCode != whisk.StatusApplicationError ||
		string(rec.Response.Result) != `{"error":"Sequence component does not exist: /guest/double."}` {
		t.Errorf("response = %s %s, want an application error naming the missing component", rec.Response.Status, rec.Response.Result)
	}
	if len(rec.Logs) != 1 {
		t.Errorf("logs = %q, want only the step that ran", rec.Logs)
	}
	e.stored(rec.ActivationID)
}

// TestSequenceLimitsAtRunTime: what the gateway refuses at PUT can still
// happen when components change later; the run refuses it with a record.
func TestSequenceLimitsAtRunTime(t *testing.T) {
	t.Parallel()
	e := newComposeEnv(t, true)
	e.fn("inc", 256)
	thirty := make([]string, 30)
	for i := range thirty {
		thirty[i] = "inc"
	}
	e.seq("thirty", thirty...)
	long := e.seq("long", "thirty", "thirty")
	e.seq("b", "inc")
	a := e.seq("a", "inc", "b")
	e.seq("b", "a") // now a -> b -> a

	tests := []struct {
		name    string
		seq     *whisk.Action
		want    string
		wantRan int
	}{
		{"more than 50 atomic actions", long, `{"error":"Too many actions in the sequence."}`, 50},
		{"cycle", a, `{"error":"Sequence may not refer to itself: /guest/a."}`, 1},
	}
	for _, tc := range tests {
		before := e.inv.ranName("inc")
		rec := e.invoke(tc.seq, `{"n":0}`)
		if rec.Response.StatusCode != whisk.StatusApplicationError || string(rec.Response.Result) != tc.want {
			t.Errorf("%s: response %s %s, want an application error %s", tc.name, rec.Response.Status, rec.Response.Result, tc.want)
		}
		if ran := e.inv.ranName("inc") - before; ran != tc.wantRan {
			t.Errorf("%s: %d atomic actions ran, want %d", tc.name, ran, tc.wantRan)
		}
	}
}

func TestSequenceNonBlocking(t *testing.T) {
	t.Parallel()
	e := newComposeEnv(t, true)
	e.fn("inc", 256)
	e.fn("double", 256)
	s := e.seq("s", "inc", "double")
	msg := invocation(s, `{"n":2}`, false)
	rec, err := e.c.Invoke(context.Background(), msg, 0)
	if rec != nil || err != nil {
		t.Fatalf("Invoke = %v, %v; want nil, nil once accepted", rec, err)
	}
	rec = e.stored(msg.ActivationID)
	if got := resultOf(t, rec); got["n"] != 6.0 || len(rec.Logs) != 2 || annotation(rec, whisk.AnnTopmost) != "true" {
		t.Errorf("record result %s logs %q topmost %s, want n=6, two ids, topmost", rec.Response.Result, rec.Logs, annotation(rec, whisk.AnnTopmost))
	}
	for _, id := range rec.Logs {
		checkStep(t, e.stored(id), msg.ActivationID)
	}
	waitQueueEmpty(t, e)
}

// waitQueueEmpty waits until every composition in the queue is acked.
func waitQueueEmpty(t *testing.T, e *composeEnv) {
	t.Helper()
	js, err := jetstream.New(connect(t, e.srv))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "compose queue empty", func() bool {
		s, err := js.Stream(context.Background(), bus.ComposeStream)
		if err != nil {
			return false
		}
		info, err := s.Info(context.Background())
		return err == nil && info.State.Msgs == 0
	})
}

// TestSequenceOutlivesBlockingWait: the wait elapses while a step runs;
// the caller hears ErrStillRunning, the composition finishes from the
// queue, and the step that was running is awaited, not run again.
func TestSequenceOutlivesBlockingWait(t *testing.T) {
	t.Parallel()
	e := newComposeEnv(t, true)
	e.fn("inc", 256)
	e.fn("slow", 256)
	e.inv.handle("slow", double)
	e.inv.slow("slow", 600*time.Millisecond)
	s := e.seq("s", "inc", "slow", "inc")
	msg := invocation(s, `{"n":1}`, true)
	_, err := e.c.Invoke(context.Background(), msg, 200*time.Millisecond)
	if !errors.Is(err, ErrStillRunning) {
		t.Fatalf("Invoke = %v, want ErrStillRunning", err)
	}
	rec := e.stored(msg.ActivationID)
	if got := resultOf(t, rec); got["n"] != 5.0 || len(rec.Logs) != 3 {
		t.Fatalf("record result %s logs %q, want n=5 and 3 ids", rec.Response.Result, rec.Logs)
	}
	for i, id := range rec.Logs {
		if n := e.inv.ranID(id); n != 1 {
			t.Errorf("step %d ran %d times, want once", i, n)
		}
		checkStep(t, e.stored(id), msg.ActivationID)
	}
	waitQueueEmpty(t, e)
}

// TestSequenceResumeFindsRecordedSteps: a composition redelivered after a
// controller died finds the steps recorded before and runs only the rest.
func TestSequenceResumeFindsRecordedSteps(t *testing.T) {
	t.Parallel()
	e := newComposeEnv(t, true)
	e.fn("inc", 256)
	e.fn("double", 256)
	s := e.seq("s", "inc", "double", "inc")
	msg := invocation(s, `{"n":1}`, true)
	// What a first attempt left: steps 0 and 1 recorded.
	for i, step := range []struct {
		name   string
		result string
	}{{"inc", `{"n":2}`}, {"double", `{"n":4}`}} {
		rec := &whisk.Activation{
			Namespace: "guest", Name: step.name, Subject: "guest", ActivationID: stepID(msg.ActivationID, i),
			Start: time.Now().UnixMilli() - 1000, End: time.Now().UnixMilli() - 900, Duration: 100, Cause: msg.ActivationID,
			Response: whisk.NewResponse(whisk.StatusSuccess, json.RawMessage(step.result)), Logs: []string{},
			Annotations: whisk.KeyValues{{Key: whisk.AnnCausedBy, Value: json.RawMessage(`"sequence"`)}},
		}
		if err := e.st.PutActivation(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	cm := &bus.ComposeMessage{V: bus.Version, Activation: msg, Resume: true}
	if err := e.c.enqueueCompose(context.Background(), cm, msg.ActivationID); err != nil {
		t.Fatal(err)
	}
	rec := e.stored(msg.ActivationID)
	if got := resultOf(t, rec); got["n"] != 5.0 || len(rec.Logs) != 3 {
		t.Fatalf("record result %s logs %q, want n=5 from the recorded steps, 3 ids", rec.Response.Result, rec.Logs)
	}
	if a, b := e.inv.ranName("inc"), e.inv.ranName("double"); a != 1 || b != 0 {
		t.Errorf("ran inc %d and double %d times, want only the last step (inc once)", a, b)
	}
	if rec.Duration < 200 {
		t.Errorf("duration %d does not count the recorded steps", rec.Duration)
	}
	waitQueueEmpty(t, e)
}

// TestSequenceWaitsForInvokers: without invokers a blocking sequence is
// refused (nothing was accepted), a non-blocking one is kept until an
// invoker comes.
func TestSequenceWaitsForInvokers(t *testing.T) {
	t.Parallel()
	e := newComposeEnv(t, false)
	e.fn("inc", 256)
	s := e.seq("s", "inc", "inc")
	if _, err := e.c.Invoke(context.Background(), invocation(s, `{}`, true), time.Second); !errors.Is(err, ErrNoInvokers) {
		t.Errorf("blocking Invoke without invokers = %v, want ErrNoInvokers", err)
	}
	msg := invocation(s, `{"n":40}`, false)
	if _, err := e.c.Invoke(context.Background(), msg, 0); err != nil {
		t.Fatalf("non-blocking Invoke: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // it is tried and handed back
	e.inv = e.addInvoker("late")
	rec := e.stored(msg.ActivationID)
	if got := resultOf(t, rec); got["n"] != 42.0 {
		t.Errorf("result = %s, want n=42", rec.Response.Result)
	}
}

func TestCompositionsNeedAStore(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	c := startController(t, srv, testConfig())
	s := &whisk.Action{Namespace: "guest", Name: "s", Exec: whisk.Exec{Kind: whisk.KindSequence, Components: []string{"/guest/a"}}}
	for _, blocking := range []bool{true, false} {
		if _, err := c.Invoke(context.Background(), invocation(s, `{}`, blocking), time.Second); !errors.Is(err, ErrNoStore) {
			t.Errorf("blocking=%v: Invoke = %v, want ErrNoStore", blocking, err)
		}
	}
}

func TestStepIDs(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, parent := range []string{"a", "b", stepID("a", 0)} {
		for n := range 60 {
			id := stepID(parent, n)
			if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
				t.Fatalf("stepID(%s, %d) = %q, want 32 hex digits", parent, n, id)
			}
			if seen[id] {
				t.Fatalf("stepID(%s, %d) = %s repeats", parent, n, id)
			}
			seen[id] = true
			if again := stepID(parent, n); again != id {
				t.Fatalf("stepID is not deterministic: %s then %s", id, again)
			}
		}
	}
}

func TestComponentArgs(t *testing.T) {
	t.Parallel()
	a := &whisk.Action{Name: "x", Parameters: whisk.KeyValues{
		{Key: "p", Value: json.RawMessage(`1`)},
		{Key: "q", Value: json.RawMessage(`"d"`)},
		{Key: "secret", Value: json.RawMessage(`"s"`), Init: true},
	}}
	c := newComponent(whisk.FQN{Namespace: "guest", Name: "x"}, a, false, nil)
	tests := []struct{ input, want string }{
		{``, `{"p":1,"q":"d"}`},
		{`null`, `{"p":1,"q":"d"}`},
		{`{}`, `{"p":1,"q":"d"}`},
		{`{"q":"in","r":true}`, `{"p":1,"q":"in","r":true}`},
		{`[1,2]`, `[1,2]`},
	}
	for _, tc := range tests {
		got, err := c.argsFor(json.RawMessage(tc.input))
		if err != nil || string(got) != tc.want {
			t.Errorf("argsFor(%s) = %s, %v; want %s", tc.input, got, err, tc.want)
		}
	}
	if _, err := c.argsFor(json.RawMessage(`{"a":`)); err == nil {
		t.Error("argsFor accepted malformed JSON")
	}
	seq := newComponent(whisk.FQN{Namespace: "guest", Name: "s"}, &whisk.Action{Name: "s",
		Exec: whisk.Exec{Kind: whisk.KindSequence}, Parameters: whisk.KeyValues{}.Set(paramActions, []string{"/guest/x"})}, false, nil)
	if got, _ := seq.argsFor(json.RawMessage(`{"n":1}`)); string(got) != `{"n":1}` {
		t.Errorf("a sequence's input = %s, want it without _actions", got)
	}
}

// TestComponentThroughBinding: a component in a bound package gets the
// package's and the binding's parameters and the binding annotation.
func TestComponentThroughBinding(t *testing.T) {
	t.Parallel()
	e := newComposeEnv(t, true)
	ctx := context.Background()
	putPkg := func(ns, name, doc string) {
		if err := e.st.PutEntity(ctx, storeKey(ns, "packages", name), []byte(doc), true); err != nil {
			t.Fatal(err)
		}
	}
	putPkg("lib", "math", `{"namespace":"lib","name":"math","publish":true,"binding":{},"parameters":[{"key":"factor","value":5},{"key":"n","value":100}]}`)
	putPkg("guest", "mine", `{"namespace":"guest","name":"mine","binding":{"namespace":"lib","name":"math"},"parameters":[{"key":"factor","value":10}]}`)
	e.put(&whisk.Action{Namespace: "lib/math", Name: "double", Exec: whisk.Exec{Kind: whisk.KindNode, Digest: "00"}})
	s := e.put(&whisk.Action{Name: "s", Exec: whisk.Exec{Kind: whisk.KindSequence, Components: []string{"/guest/mine/double"}}})
	rec := e.invoke(s, `{"n":2}`)
	if got := resultOf(t, rec); got["n"] != 20.0 {
		t.Errorf("result = %s, want n=2*10 (input over package, binding over package)", rec.Response.Result)
	}
	step := e.stored(rec.Logs[0])
	if got := annotation(step, annBinding); got != `"guest/mine"` {
		t.Errorf("binding annotation = %s, want \"guest/mine\"", got)
	}
	// A private package of another namespace is not reachable.
	putPkg("lib", "private", `{"namespace":"lib","name":"private","binding":{}}`)
	e.put(&whisk.Action{Namespace: "lib/private", Name: "double", Exec: whisk.Exec{Kind: whisk.KindNode, Digest: "00"}})
	s2 := e.put(&whisk.Action{Name: "s2", Exec: whisk.Exec{Kind: whisk.KindSequence, Components: []string{"/lib/private/double"}}})
	rec = e.invoke(s2, `{"n":2}`)
	if want := `{"error":"Sequence component is not accessible: /lib/private/double."}`; string(rec.Response.Result) != want {
		t.Errorf("private component: result %s, want %s", rec.Response.Result, want)
	}
}

func TestComposeMessageRejected(t *testing.T) {
	t.Parallel()
	e := newComposeEnv(t, true)
	js, err := jetstream.New(connect(t, e.srv))
	if err != nil {
		t.Fatal(err)
	}
	for i, data := range []string{`nope`, `{"v":1}`, fmt.Sprintf(`{"v":1,"activation":{"activationId":"x","namespace":"guest","action":{"name":"a","exec":{"kind":"nodejs:20"}}}}`)} {
		if _, err := js.Publish(context.Background(), "t.compose", []byte(data), jetstream.WithMsgID(fmt.Sprint("bad", i))); err != nil {
			t.Fatal(err)
		}
	}
	waitQueueEmpty(t, e) // terminated, not redelivered forever
}

// TestSequenceSurvivesControllerStop: a controller stops while a step
// runs; the composition goes back to the queue with that step named,
// another controller finishes it, and the step runs once.
func TestSequenceSurvivesControllerStop(t *testing.T) {
	t.Parallel()
	for _, blocking := range []bool{true, false} {
		t.Run(fmt.Sprint("blocking=", blocking), func(t *testing.T) {
			t.Parallel()
			e := &composeEnv{t: t, srv: startNATS(t), st: openStore(t)}
			cfg := composeConfig()
			cfg.ID = "a"
			var stopA func()
			e.c, stopA = runComposer(t, e.srv, e.st, cfg)
			e.inv = e.addInvoker("inv0")
			e.fn("inc", 256)
			e.fn("slow", 256)
			e.inv.handle("slow", double)
			e.inv.slow("slow", 800*time.Millisecond)
			s := e.seq("s", "inc", "slow", "inc")

			msg := invocation(s, `{"n":1}`, blocking)
			errc := make(chan error, 1)
			go func() {
				_, err := e.c.Invoke(context.Background(), msg, 30*time.Second)
				errc <- err
			}()
			waitFor(t, "the slow step started", func() bool { return e.inv.ranName("slow") == 1 })
			stopA()
			err := <-errc
			if blocking && !errors.Is(err, ErrStillRunning) || !blocking && err != nil {
				t.Fatalf("Invoke = %v, want ErrStillRunning when blocking, else nil", err)
			}
			cfg.ID = "b"
			e.c = startComposer(t, e.srv, e.st, cfg)
			e.inv.beat(t)
			rec := e.stored(msg.ActivationID)
			if got := resultOf(t, rec); got["n"] != 5.0 || len(rec.Logs) != 3 {
				t.Fatalf("record result %s logs %q, want n=5 and 3 ids", rec.Response.Result, rec.Logs)
			}
			for i, id := range rec.Logs {
				if n := e.inv.ranID(id); n != 1 {
					t.Errorf("step %d ran %d times, want once", i, n)
				}
			}
			waitQueueEmpty(t, e)
		})
	}
}

func TestComposeConfig(t *testing.T) {
	t.Parallel()
	nc := connect(t, startNATS(t))
	for _, cfg := range []Config{
		{ComponentCacheTTL: -time.Second},
		{ComposeAckWait: -time.Second},
		{ComposeConcurrency: -1},
	} {
		if _, err := New(cfg, Deps{NATS: nc}); err == nil {
			t.Errorf("New(%+v) accepted a negative setting", cfg)
		}
	}
	c, err := New(Config{}, Deps{NATS: nc})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.ComponentCacheTTL != DefaultComponentCacheTTL || c.cfg.ComposeAckWait != DefaultComposeAckWait || c.cfg.ComposeConcurrency != DefaultComposeConcurrency {
		t.Errorf("defaults = %v %v %d", c.cfg.ComponentCacheTTL, c.cfg.ComposeAckWait, c.cfg.ComposeConcurrency)
	}
}

// TestIncompatibleComposeStream: Run refuses a compose stream it cannot
// use as a work queue rather than lose compositions.
func TestIncompatibleComposeStream(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	nc := connect(t, srv)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: bus.ComposeStream, Subjects: []string{"t.compose"}, Retention: jetstream.LimitsPolicy}); err != nil {
		t.Fatal(err)
	}
	c, err := New(testConfig(), Deps{NATS: nc, Logger: testLogger(t), Store: openStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(ctx); !errors.Is(err, errIncompatibleStream) {
		t.Errorf("Run = %v, want errIncompatibleStream", err)
	}
}
