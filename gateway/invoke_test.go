package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gust-faas/gust/controller"
	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

var activationIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

type invokeFn = func(ctx context.Context, msg *bus.ActivationMessage, wait time.Duration) (*whisk.Activation, error)

func TestInvoke(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHarness(t, st, Config{})
		h.putAction("hello", nodeAction("x"))
		h.putAction("pkg/inner", nodeAction("y"))

		respond := func(code int, result string) invokeFn {
			return func(_ context.Context, msg *bus.ActivationMessage, _ time.Duration) (*whisk.Activation, error) {
				return record(msg, code, json.RawMessage(result)), nil
			}
		}
		fail := func(err error) invokeFn {
			return func(context.Context, *bus.ActivationMessage, time.Duration) (*whisk.Activation, error) {
				return nil, err
			}
		}
		accept := func(context.Context, *bus.ActivationMessage, time.Duration) (*whisk.Activation, error) {
			return nil, nil
		}

		tests := []struct {
			name     string
			path     string
			body     any
			fn       invokeFn
			status   int
			body202  bool   // {"activationId"} expected
			result   string // expected body when result=true
			record   int    // expected record status code when a record is returned (-1: none)
			errMsg   string // expected error message (substring)
			blocking bool
			wait     time.Duration
			noHeader bool // no activation id header (rejected before an id exists)
		}{
			{name: "non-blocking", path: "hello", fn: accept, status: 202, body202: true, record: -1},
			{name: "non-blocking explicit", path: "hello?blocking=false", fn: accept, status: 202, body202: true, record: -1},
			{name: "blocking success", path: "hello?blocking=true", fn: respond(0, `{"payload":"Hello"}`), status: 200, record: 0, blocking: true, wait: DefaultMaxBlockingWait},
			{name: "blocking result", path: "hello?blocking=true&result=true", fn: respond(0, `{"payload":"Hello"}`), status: 200, result: `{"payload":"Hello"}`, record: -1, blocking: true, wait: DefaultMaxBlockingWait},
			{name: "array result", path: "hello?blocking=true&result=true", fn: respond(0, `[1,2]`), status: 200, result: `[1,2]`, record: -1, blocking: true, wait: DefaultMaxBlockingWait},
			{name: "no result", path: "hello?blocking=true&result=true", fn: respond(0, ``), status: 200, result: `{}`, record: -1, blocking: true, wait: DefaultMaxBlockingWait},
			{name: "application error", path: "hello?blocking=true", fn: respond(1, `{"error":"bad input"}`), status: 502, record: 1, blocking: true, wait: DefaultMaxBlockingWait},
			{name: "application error result", path: "hello?blocking=true&result=true", fn: respond(1, `{"error":"bad input"}`), status: 502, result: `{"error":"bad input"}`, record: -1, blocking: true, wait: DefaultMaxBlockingWait},
			{name: "developer error", path: "hello?blocking=true", fn: respond(2, `{"error":"The action did not initialize."}`), status: 502, record: 2, blocking: true, wait: DefaultMaxBlockingWait},
			{name: "internal error", path: "hello?blocking=true", fn: respond(3, `{"error":"whisk"}`), status: 500, record: 3, blocking: true, wait: DefaultMaxBlockingWait},
			{name: "still running", path: "hello?blocking=true&timeout=250", fn: fail(fmt.Errorf("waited 250ms: %w", controller.ErrStillRunning)), status: 202, body202: true, record: -1, blocking: true, wait: 250 * time.Millisecond},
			{name: "timeout max", path: "hello?blocking=true&timeout=60000", fn: respond(0, `{}`), status: 200, record: 0, blocking: true, wait: time.Minute},
			{name: "no invokers", path: "hello?blocking=true", fn: fail(fmt.Errorf("place: %w", controller.ErrNoInvokers)), status: 503, record: -1, errMsg: msgNoInvokers, blocking: true, wait: DefaultMaxBlockingWait},
			{name: "no invokers non-blocking", path: "hello", fn: fail(controller.ErrNoInvokers), status: 503, record: -1, errMsg: msgNoInvokers},
			{name: "overloaded", path: "hello?blocking=true", fn: fail(controller.ErrOverloaded), status: 429, record: -1, errMsg: msgOverloaded, blocking: true, wait: DefaultMaxBlockingWait},
			{name: "controller failure", path: "hello?blocking=true", fn: fail(fmt.Errorf("nats: connection closed")), status: 500, record: -1, errMsg: msgInternal, blocking: true, wait: DefaultMaxBlockingWait},
			{name: "packaged action", path: "pkg/inner?blocking=true", fn: respond(0, `{}`), status: 200, record: 0, blocking: true, wait: DefaultMaxBlockingWait},

			{name: "missing action", path: "nope?blocking=true", status: 404, record: -1, errMsg: msgNotFound, noHeader: true},
			{name: "missing package", path: "nopkg/inner", status: 404, record: -1, errMsg: msgNotFound, noHeader: true},
			{name: "timeout zero", path: "hello?blocking=true&timeout=0", status: 400, record: -1, errMsg: "Timeout must be number of milliseconds up to 60000.", noHeader: true},
			{name: "timeout too long", path: "hello?blocking=true&timeout=60001", status: 400, record: -1, errMsg: "up to 60000", noHeader: true},
			{name: "timeout not a number", path: "hello?blocking=true&timeout=5s", status: 400, record: -1, errMsg: "up to 60000", noHeader: true},
			{name: "bad blocking", path: "hello?blocking=maybe", status: 400, record: -1, errMsg: "'blocking' was malformed", noHeader: true},
			{name: "bad result", path: "hello?result=2", status: 400, record: -1, errMsg: "'result' was malformed", noHeader: true},
			{name: "malformed body", path: "hello", body: `{"a":`, status: 400, record: -1, errMsg: "malformed", noHeader: true},
			{name: "scalar body", path: "hello", body: `42`, status: 400, record: -1, errMsg: "must be a JSON object", noHeader: true},
			{name: "string body", path: "hello", body: `"s"`, status: 400, record: -1, errMsg: "must be a JSON object", noHeader: true},
			{name: "body over 1 MB", path: "hello", body: `{"a":"` + strings.Repeat("x", whisk.MaxPayload) + `"}`, status: 413, record: -1, errMsg: "Request larger than allowed", noHeader: true},
			{name: "bad name", path: "he%24llo", status: 400, record: -1, errMsg: "illegal characters", noHeader: true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h.ctrl.fn = tt.fn
				before := h.ctrl.count()
				r := h.do("POST", actionsPath+tt.path, guestAuth, tt.body)
				mustStatus(t, tt.name, r, tt.status)
				id := r.header.Get(headerActivationID)
				if tt.noHeader {
					if h.ctrl.count() != before {
						t.Error("controller called for a rejected request")
					}
					if id != "" {
						t.Errorf("activation id %q on a rejected request", id)
					}
				} else {
					if !activationIDRE.MatchString(id) {
						t.Fatalf("activation id header %q", id)
					}
					call := h.ctrl.last(t)
					if call.msg.ActivationID != id || call.msg.Blocking != tt.blocking || call.wait != tt.wait {
						t.Errorf("controller got id %s blocking %v wait %v, want %s %v %v", call.msg.ActivationID, call.msg.Blocking, call.wait, id, tt.blocking, tt.wait)
					}
					if call.msg.Namespace != "guest" || call.msg.Subject != "guest" || call.msg.V != bus.Version ||
						call.msg.TransID != r.header.Get("X-Request-ID") || call.msg.Action.Exec.Digest == "" || call.msg.Action.Exec.Code != "" {
						t.Errorf("message %+v action %+v", call.msg, call.msg.Action)
					}
				}
				switch {
				case tt.body202:
					if got := strings.TrimSpace(string(r.body)); got != `{"activationId":"`+id+`"}` {
						t.Errorf("202 body %s", got)
					}
				case tt.result != "":
					if got := strings.TrimSpace(string(r.body)); got != tt.result {
						t.Errorf("result %s, want %s", got, tt.result)
					}
				case tt.record >= 0:
					var rec whisk.Activation
					r.json(t, &rec)
					if rec.ActivationID != id || rec.Response.StatusCode != tt.record || rec.Response.Status != whisk.StatusName(tt.record) ||
						rec.Response.Success != (tt.record == 0) || rec.Logs == nil || rec.Annotations == nil {
						t.Errorf("record %s", r.body)
					}
				case tt.errMsg != "":
					if got := r.errorBody(t); !strings.Contains(got, tt.errMsg) {
						t.Errorf("error %q, want it to contain %q", got, tt.errMsg)
					}
				}
			})
		}
	})
}

func TestInvokeArguments(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	h.putAction("p", map[string]any{
		"exec": map[string]any{"kind": "nodejs", "code": "x"},
		"parameters": []map[string]any{
			{"key": "a", "value": 1},
			{"key": "b", "value": map[string]any{"deep": true}},
			{"key": "secret", "value": "s3cret", "init": true},
			{"key": "port", "value": 8080, "init": true},
		},
	})
	h.putAction("final", map[string]any{
		"exec":        map[string]any{"kind": "nodejs", "code": "x"},
		"parameters":  []map[string]any{{"key": "a", "value": 1}, {"key": "n", "value": nil}},
		"annotations": []map[string]any{{"key": "final", "value": true}},
	})
	h.putAction("bare", nodeAction("x"))
	h.putAction("withkey", map[string]any{
		"exec":        map[string]any{"kind": "nodejs", "code": "x"},
		"annotations": []map[string]any{{"key": "provide-api-key", "value": true}},
	})
	tests := []struct {
		name, path, body string
		status           int
		args             string // want, compared as JSON
	}{
		{"no body", "p", "", 202, `{"a":1,"b":{"deep":true}}`},
		{"empty object", "p", "{}", 202, `{"a":1,"b":{"deep":true}}`},
		{"null (wsk without parameters)", "p", "null\n", 202, `{"a":1,"b":{"deep":true}}`},
		{"override and add", "p", `{"b":"new","c":[1,{"x":"}"}]}`, 202, `{"a":1,"b":"new","c":[1,{"x":"}"}]}`},
		{"whitespace", "p", " \n{ \"a\" : 2 }\n", 202, `{"a":2,"b":{"deep":true}}`},
		{"escaped key", "p", `{"\u0061":3}`, 202, `{"b":{"deep":true},"a":3}`},
		{"init param is not an argument", "p", `{"secret":"mine"}`, 202, `{"a":1,"b":{"deep":true},"secret":"mine"}`},
		{"array passes as is", "p", `[1,2,3]`, 202, `[1,2,3]`},
		{"no parameters", "bare", `{"x":1}`, 202, `{"x":1}`},
		{"no parameters no body", "bare", ``, 202, `{}`},
		{"final parameter", "final", `{"a":2}`, 400, ""},
		{"final: undefined parameter may be set", "final", `{"n":2}`, 202, `{"a":1,"n":2}`},
		{"final: new key", "final", `{"z":2}`, 202, `{"a":1,"n":null,"z":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("POST", actionsPath+tt.path, guestAuth, tt.body)
			mustStatus(t, tt.name, r, tt.status)
			if tt.status != 202 {
				if got := r.errorBody(t); got != errFinal.Error() {
					t.Errorf("error %q", got)
				}
				return
			}
			call := h.ctrl.last(t)
			if got, want := decodeJSON(t, call.msg.Args), decodeJSON(t, []byte(tt.args)); !reflect.DeepEqual(got, want) {
				t.Errorf("args %s, want %s", call.msg.Args, tt.args)
			}
		})
	}
	h.do("POST", actionsPath+"p", guestAuth, nil)
	if env := h.ctrl.last(t).msg.InitEnv; !reflect.DeepEqual(env, map[string]string{"secret": "s3cret", "port": "8080"}) {
		t.Errorf("init env %v", env)
	}
	if key := h.ctrl.last(t).msg.APIKey; key != "" {
		t.Errorf("API key %q given to an action without provide-api-key", key)
	}
	h.do("POST", actionsPath+"withkey", guestAuth, nil)
	if key := h.ctrl.last(t).msg.APIKey; key != guestUUID+":"+guestKey {
		t.Errorf("API key %q, want the caller's uuid:key", key)
	}
}

func TestMergeArgsAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	a := &whisk.Action{Parameters: whisk.KeyValues{}.Set("a", 1).Set("b", "two")}
	ca := newCachedAction(a)
	body := []byte(`{"b":3,"c":{"d":[1,2]}}`)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ca.mergeArgs(body); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("mergeArgs allocates %v times, want 1 (the result)", allocs)
	}
	got, _ := ca.mergeArgs(body)
	if string(got) != `{"a":1,"b":3,"c":{"d":[1,2]}}` {
		t.Errorf("merged %s", got)
	}
}

func TestInvokeThrottles(t *testing.T) {
	st := firstStore(t)
	h := newHarness(t, st, Config{})
	ctx := context.Background()
	if err := st.PutIdentity(ctx, store.Identity{Namespace: "other", UUID: otherUUID, KeyHash: store.HashKey(otherKey), InvocationsPerMinute: 2, ConcurrentInvocations: 1}); err != nil {
		t.Fatal(err)
	}
	startMinute := time.Now().Unix() / 60
	h.putAction("a", nodeAction("x"))
	r := h.do("PUT", actionsPath+"a", otherAuth, nodeAction("x"))
	mustStatus(t, "other's action", r, 200)

	// concurrency: one blocking invocation in flight; a second is refused
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	h.ctrl.fn = func(_ context.Context, msg *bus.ActivationMessage, _ time.Duration) (*whisk.Activation, error) {
		if msg.Namespace == "other" {
			started <- struct{}{}
			<-release
		}
		return succeed(msg, json.RawMessage(`{}`)), nil
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := h.do("POST", actionsPath+"a?blocking=true", otherAuth, nil)
		if r.status != 200 {
			t.Errorf("first invocation: %d %s", r.status, r.body)
		}
	}()
	<-started
	r = h.do("POST", actionsPath+"a?blocking=true", otherAuth, nil)
	mustStatus(t, "second concurrent", r, 429)
	if got := r.errorBody(t); got != "Too many concurrent requests in flight (count: 1, allowed: 1)." {
		t.Errorf("error %q", got)
	}
	// guest is not affected by other's limits
	mustStatus(t, "guest meanwhile", h.do("POST", actionsPath+"a?blocking=true", guestAuth, nil), 200)
	close(release)
	wg.Wait()

	// rate: one invocation was admitted this minute (the refused one does
	// not count); one more passes, then the window is full.
	h.ctrl.fn = nil
	r = h.do("POST", actionsPath+"a", otherAuth, nil)
	mustStatus(t, "second in the minute", r, 202)
	r = h.do("POST", actionsPath+"a", otherAuth, nil)
	if time.Now().Unix()/60 != startMinute {
		t.Skip("the minute window rolled over during the test")
	}
	mustStatus(t, "third in the minute", r, 429)
	if got := r.errorBody(t); got != "Too many requests in the last minute (count: 2, allowed: 2)." {
		t.Errorf("error %q", got)
	}
}

func TestThrottleWindow(t *testing.T) {
	var th nsThrottle
	for i := range 3 {
		if err := th.acquire(100, 3, 10); err != nil {
			t.Fatalf("acquire %d: %v", i, err)
		}
		th.release()
	}
	if err := th.acquire(100, 3, 10); err == nil {
		t.Fatal("fourth in the window admitted")
	}
	if err := th.acquire(101, 3, 10); err != nil {
		t.Fatalf("next window: %v", err)
	}
	if n := th.inflight.Load(); n != 1 {
		t.Errorf("in flight %d, want 1", n)
	}
}

func TestActionCacheInvalidation(t *testing.T) {
	st := firstStore(t)
	h := newHarness(t, st, Config{ActionCacheTTL: time.Hour})
	v1 := h.putAction("a", nodeAction("v1"))
	mustStatus(t, "invoke v1", h.do("POST", actionsPath+"a", guestAuth, nil), 202)
	if got := h.ctrl.last(t).msg.Action.Version; got != v1.Version {
		t.Fatalf("invoked %s, want %s", got, v1.Version)
	}
	// an update through this gateway is seen at once
	v2 := h.putAction("a", nodeAction("v2"))
	mustStatus(t, "invoke v2", h.do("POST", actionsPath+"a", guestAuth, nil), 202)
	if got := h.ctrl.last(t).msg.Action; got.Version != v2.Version || got.Exec.Digest != store.Digest([]byte("v2")) {
		t.Fatalf("invoked %s %s after update, want %s", got.Version, got.Exec.Digest, v2.Version)
	}
	// so is a delete
	mustStatus(t, "delete", h.do("DELETE", actionsPath+"a", guestAuth, nil), 200)
	mustStatus(t, "invoke deleted", h.do("POST", actionsPath+"a", guestAuth, nil), 404)

	// a second gateway on the same store sees this one's writes after its TTL
	h.putAction("b", nodeAction("v1"))
	other, err := New(Config{ActionCacheTTL: 100 * time.Millisecond}, Deps{Store: st, Controller: h.ctrl})
	if err != nil {
		t.Fatal(err)
	}
	h2 := &harness{t: t, st: st, ctrl: h.ctrl, gw: other}
	mustStatus(t, "gw2 first", h2.do("POST", actionsPath+"b", guestAuth, nil), 202)
	v2 = h.putAction("b", nodeAction("v2"))
	mustStatus(t, "gw2 within ttl", h2.do("POST", actionsPath+"b", guestAuth, nil), 202)
	if got := h.ctrl.last(t).msg.Action.Version; got == v2.Version {
		t.Log("gw2 reloaded before its TTL (slow test machine?)")
	}
	time.Sleep(150 * time.Millisecond)
	mustStatus(t, "gw2 after ttl", h2.do("POST", actionsPath+"b", guestAuth, nil), 202)
	if got := h.ctrl.last(t).msg.Action.Version; got != v2.Version {
		t.Errorf("gw2 invoked %s after its TTL, want %s", got, v2.Version)
	}
}

func TestActionCacheSingleFlight(t *testing.T) {
	loads := 0
	var mu sync.Mutex
	gate := make(chan struct{})
	load := func(ctx context.Context, ns, pkg, name string) (*cachedAction, error) {
		mu.Lock()
		loads++
		mu.Unlock()
		<-gate
		return newCachedAction(&whisk.Action{Namespace: ns, Name: name}), nil
	}
	ac := newActionCache(time.Hour)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ac.get(context.Background(), time.Now().UnixNano(), "ns", "", "a", load); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(gate)
	wg.Wait()
	if loads != 1 {
		t.Errorf("%d loads for 8 concurrent misses, want 1", loads)
	}
	// a load racing with an invalidation is not cached
	gate2 := make(chan struct{})
	slow := func(ctx context.Context, ns, pkg, name string) (*cachedAction, error) {
		<-gate2
		return newCachedAction(&whisk.Action{Namespace: ns, Name: name, Version: "old"}), nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ac.get(context.Background(), time.Now().UnixNano(), "ns", "", "b", slow)
	}()
	time.Sleep(20 * time.Millisecond)
	ac.invalidate("ns", "", "b")
	close(gate2)
	<-done
	fresh := func(ctx context.Context, ns, pkg, name string) (*cachedAction, error) {
		return newCachedAction(&whisk.Action{Namespace: ns, Name: name, Version: "new"}), nil
	}
	ca, err := ac.get(context.Background(), time.Now().UnixNano(), "ns", "", "b", fresh)
	if err != nil || ca.action.Version != "new" {
		t.Errorf("after invalidation got %+v %v, want the new version", ca, err)
	}
}
