package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gust-faas/gust/controller"
	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

const (
	triggersPath = "/api/v1/namespaces/_/triggers/"
	rulesPath    = "/api/v1/namespaces/_/rules/"
)

// firing is a gateway over a real store and a real controller (on a real
// nats-server with JetStream), with a stand-in for the invokers that pulls
// accepted activations from the stream and records them.
type firing struct {
	*harness
	ctl    *controller.Controller
	srv    *server.Server
	mu     sync.Mutex
	ran    map[string]*bus.ActivationMessage // by activation id
	closed bool
	wg     sync.WaitGroup
}

func newFiring(t *testing.T, st store.Store, cfg Config) *firing {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	dial := func() *nats.Conn {
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctl, err := controller.New(controller.Config{ID: "gw-test", AlarmLeaseTTL: time.Second, ComponentCacheTTL: time.Millisecond},
		controller.Deps{NATS: dial(), Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ctl.Ready():
	case err := <-done:
		t.Fatalf("controller: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("controller not ready")
	}

	h := newHarness(t, st, cfg)
	gw, err := New(cfg, Deps{Store: st, Controller: ctl})
	if err != nil {
		t.Fatal(err)
	}
	h.gw, h.ctrl = gw, nil
	f := &firing{harness: h, ctl: ctl, srv: srv, ran: map[string]*bus.ActivationMessage{}}

	js, err := jetstream.New(dial())
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	cons, err := js.CreateOrUpdateConsumer(cctx, bus.AsyncStream, jetstream.ConsumerConfig{Durable: bus.AsyncConsumer, AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cons.Consume(f.run)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cc.Stop()
		f.mu.Lock()
		f.closed = true
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f
}

// run records one accepted activation as an invoker would: success, the
// arguments as result.
func (f *firing) run(m jetstream.Msg) {
	var msg bus.ActivationMessage
	if json.Unmarshal(m.Data(), &msg) != nil || msg.Action == nil {
		_ = m.Term()
		return
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.ran[msg.ActivationID] = &msg
	f.wg.Add(1)
	f.mu.Unlock()
	defer f.wg.Done()
	now := time.Now().UnixMilli()
	rec := &whisk.Activation{Namespace: msg.Namespace, Name: msg.Action.Name, Version: msg.Action.Version, Subject: msg.Subject,
		ActivationID: msg.ActivationID, Start: now, End: now, Cause: msg.Cause,
		Response: whisk.NewResponse(whisk.StatusSuccess, msg.Args), Logs: []string{},
		Annotations: whisk.KeyValues{}.Set(whisk.AnnPath, msg.Action.FQN().Path())}
	if err := f.st.PutActivation(context.Background(), rec); err != nil {
		_ = m.Nak()
		return
	}
	_ = m.Ack()
}

func (f *firing) message(id string) *bus.ActivationMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ran[id]
}

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// triggerLog is one entry of a trigger activation's logs.
type triggerLog struct {
	StatusCode   int    `json:"statusCode"`
	Success      bool   `json:"success"`
	ActivationID string `json:"activationId"`
	Error        string `json:"error"`
	Rule         string `json:"rule"`
	Action       string `json:"action"`
}

// triggerRecord reads activation id and decodes its logs.
func (h *harness) triggerRecord(t *testing.T, id string) (whisk.Activation, []triggerLog) {
	t.Helper()
	r := h.do("GET", "/api/v1/namespaces/_/activations/"+id, guestAuth, nil)
	mustStatus(t, "GET trigger activation", r, 200)
	var rec whisk.Activation
	r.json(t, &rec)
	var logs []triggerLog
	for _, l := range rec.Logs {
		var e triggerLog
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		logs = append(logs, e)
	}
	return rec, logs
}

func (h *harness) putRule(t *testing.T, name, trigger, action string) response {
	t.Helper()
	return h.do("PUT", rulesPath+name, guestAuth, map[string]any{"trigger": trigger, "action": action})
}

func TestTriggerCRUD(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHarness(t, st, Config{})
		r := h.do("PUT", triggersPath+"t", guestAuth, map[string]any{
			"parameters": kv("p", 1), "annotations": kv("description", "a trigger"), "limits": map[string]any{},
		})
		mustStatus(t, "PUT", r, 200)
		var got map[string]any
		r.json(t, &got)
		if got["namespace"] != "guest" || got["name"] != "t" || got["version"] != "0.0.1" || got["publish"] != false {
			t.Errorf("PUT answered %s", r.body)
		}
		if l, ok := got["limits"].(map[string]any); !ok || len(l) != 0 {
			t.Errorf("limits %v, want {}", got["limits"])
		}
		if _, ok := got["rules"]; ok {
			t.Errorf("a new trigger shows rules: %s", r.body)
		}
		if _, ok := got["rev"]; ok {
			t.Errorf("the store's revision leaks: %s", r.body)
		}

		mustStatus(t, "PUT again", h.do("PUT", triggersPath+"t", guestAuth, map[string]any{}), 409)
		r = h.do("PUT", triggersPath+"t?overwrite=true", guestAuth, map[string]any{"publish": true})
		mustStatus(t, "PUT overwrite", r, 200)
		var tr whisk.Trigger
		r.json(t, &tr)
		if tr.Version != "0.0.2" || !tr.Publish || string(tr.Parameters.Get("p")) != "1" || string(tr.Annotations.Get("description")) != `"a trigger"` {
			t.Errorf("update: %s, want version 0.0.2, published, parameters and annotations kept", r.body)
		}

		h.putAction("a", nodeAction("x"))
		mustStatus(t, "PUT rule", h.putRule(t, "r", "/_/t", "/_/a"), 200)
		r = h.do("GET", triggersPath+"t", guestAuth, nil)
		mustStatus(t, "GET", r, 200)
		var view struct {
			Rules map[string]struct {
				Action whisk.EntityRef `json:"action"`
				Status string          `json:"status"`
			} `json:"rules"`
		}
		r.json(t, &view)
		if rr := view.Rules["guest/r"]; rr.Status != "active" || rr.Action != (whisk.EntityRef{Path: "guest", Name: "a"}) || len(view.Rules) != 1 {
			t.Errorf("GET rules %s", r.body)
		}

		mustStatus(t, "PUT t2", h.do("PUT", triggersPath+"t2", guestAuth, nil), 200)
		r = h.do("GET", "/api/v1/namespaces/_/triggers?limit=1&skip=1", guestAuth, nil)
		mustStatus(t, "list", r, 200)
		var list []map[string]any
		r.json(t, &list)
		if len(list) != 1 || list[0]["name"] != "t2" || list[0]["parameters"] != nil {
			t.Errorf("list page %s, want t2's summary", r.body)
		}
		r = h.do("GET", "/api/v1/namespaces/guest/triggers?count=true", guestAuth, nil)
		if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"triggers":2}` {
			t.Errorf("count: %d %s", r.status, r.body)
		}

		for _, tc := range []struct {
			name, method, path, auth string
			body                     any
			status                   int
			msg                      string
		}{
			{"bad feed", "PUT", triggersPath + "f", guestAuth, map[string]any{"annotations": kv("feed", "/a/b/c/d")}, 400, "Feed name is not valid"},
			{"feed not a string", "PUT", triggersPath + "f", guestAuth, map[string]any{"annotations": kv("feed", 5)}, 400, "Feed name is not valid"},
			{"limits not an object", "PUT", triggersPath + "f", guestAuth, map[string]any{"limits": 5}, 400, "limits must be an object"},
			{"malformed", "PUT", triggersPath + "f", guestAuth, `{"parameters":`, 400, "malformed"},
			{"bad name", "PUT", triggersPath + "%20bad", guestAuth, nil, 400, "illegal characters"},
			{"another namespace", "GET", "/api/v1/namespaces/other/triggers/t", guestAuth, nil, 403, "not authorized"},
			{"whisk.system", "PUT", "/api/v1/namespaces/whisk.system/triggers/t", guestAuth, nil, 403, "not authorized"},
			{"missing", "GET", triggersPath + "nope", guestAuth, nil, 404, "does not exist"},
			{"other's view", "GET", triggersPath + "t", otherAuth, nil, 404, "does not exist"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := h.do(tc.method, tc.path, tc.auth, tc.body)
				if r.status != tc.status || !strings.Contains(r.errorBody(t), tc.msg) {
					t.Errorf("%d %s, want %d with %q", r.status, r.body, tc.status, tc.msg)
				}
			})
		}
		if r := h.do("GET", triggersPath+"t", "", nil); r.status != 401 {
			t.Errorf("without credentials: %d", r.status)
		}
		if r := h.do("PUT", triggersPath+"f", guestAuth, map[string]any{"annotations": kv("feed", "/whisk.system/alarms/alarm")}); r.status != 200 {
			t.Errorf("a valid feed annotation: %d %s", r.status, r.body)
		}

		r = h.do("DELETE", triggersPath+"t", guestAuth, nil)
		mustStatus(t, "DELETE", r, 200)
		if err := json.Unmarshal(r.body, &tr); err != nil || tr.Name != "t" || tr.Version != "0.0.2" {
			t.Errorf("DELETE answered %s", r.body)
		}
		mustStatus(t, "GET deleted", h.do("GET", triggersPath+"t", guestAuth, nil), 404)
		mustStatus(t, "DELETE deleted", h.do("DELETE", triggersPath+"t", guestAuth, nil), 404)
		// Its rule stays, dangling and shown inactive.
		r = h.do("GET", rulesPath+"r", guestAuth, nil)
		mustStatus(t, "GET dangling rule", r, 200)
		if !strings.Contains(string(r.body), `"status":"inactive"`) {
			t.Errorf("a rule without its trigger: %s", r.body)
		}
	})
}

func TestRuleCRUD(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHarness(t, st, Config{})
		mustStatus(t, "PUT t", h.do("PUT", triggersPath+"t", guestAuth, nil), 200)
		mustStatus(t, "PUT t2", h.do("PUT", triggersPath+"t2", guestAuth, nil), 200)
		h.putAction("a", nodeAction("x"))
		h.putAction("pkg/b", nodeAction("x"))
		h.putPackage(otherAuth, "private", map[string]any{})
		mustStatus(t, "PUT other's action", h.do("PUT", "/api/v1/namespaces/_/actions/private/x", otherAuth, nodeAction("x")), 200)
		if err := InstallSystemPackage(context.Background(), st, SystemPackage{Name: "utils",
			Actions: []SystemAction{{Name: "echo", Exec: whisk.Exec{Kind: "nodejs", Code: "x"}}}}); err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			name   string
			body   any
			status int
			msg    string
		}{
			{"missing trigger", map[string]any{"trigger": "/_/nope", "action": "/_/a"}, 400, "trigger /guest/nope does not exist"},
			{"missing action", map[string]any{"trigger": "/_/t", "action": "/_/nope"}, 400, "action /guest/nope does not exist"},
			{"missing packaged action", map[string]any{"trigger": "/_/t", "action": "/_/nopkg/a"}, 400, "action /guest/nopkg/a does not exist"},
			{"no action", map[string]any{"trigger": "/_/t"}, 400, "rule requires a valid trigger and a valid action"},
			{"empty", nil, 400, "rule requires a valid trigger and a valid action"},
			{"malformed", `{"trigger":`, 400, "malformed"},
			{"bad name", map[string]any{"trigger": "/_/t", "action": "/a/b/c/d"}, 400, "not a fully qualified entity name"},
			{"another namespace's trigger", map[string]any{"trigger": "/other/t", "action": "/_/a"}, 403, "not authorized"},
			{"another namespace's private action", map[string]any{"trigger": "/_/t", "action": "/other/private/x"}, 403, "not authorized"},
			{"another namespace's loose action", map[string]any{"trigger": "/_/t", "action": "/other/x"}, 403, "not authorized"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := h.do("PUT", rulesPath+"bad", guestAuth, tc.body)
				if r.status != tc.status || !strings.Contains(r.errorBody(t), tc.msg) {
					t.Errorf("%d %s, want %d with %q", r.status, r.body, tc.status, tc.msg)
				}
			})
		}
		mustStatus(t, "nothing half-written", h.do("GET", rulesPath+"bad", guestAuth, nil), 404)

		r := h.putRule(t, "r", "/_/t", "/guest/a")
		mustStatus(t, "PUT rule", r, 200)
		var rule map[string]any
		r.json(t, &rule)
		want := map[string]any{"namespace": "guest", "name": "r", "version": "0.0.1", "publish": false, "status": "active",
			"trigger": map[string]any{"path": "guest", "name": "t"}, "action": map[string]any{"path": "guest", "name": "a"}}
		for k, v := range want {
			if b1, _ := json.Marshal(rule[k]); string(b1) != string(must(json.Marshal(v))) {
				t.Errorf("rule %s = %s, want %s", k, b1, must(json.Marshal(v)))
			}
		}
		mustStatus(t, "PUT again", h.putRule(t, "r", "/_/t", "/_/a"), 409)
		mustStatus(t, "PUT packaged", h.putRule(t, "rp", "t2", "pkg/b"), 200)
		mustStatus(t, "PUT shared", h.putRule(t, "rs", "t2", "/whisk.system/utils/echo"), 200)

		status := func(name string) string {
			t.Helper()
			r := h.do("GET", rulesPath+name, guestAuth, nil)
			mustStatus(t, "GET rule", r, 200)
			var v struct{ Status string }
			r.json(t, &v)
			return v.Status
		}
		setStatus := func(name string, body any, want int) response {
			t.Helper()
			r := h.do("POST", rulesPath+name, guestAuth, body)
			mustStatus(t, "POST rule status", r, want)
			return r
		}
		setStatus("r", map[string]string{"status": "inactive"}, 200)
		if s := status("r"); s != "inactive" {
			t.Errorf("after disable: %s", s)
		}
		setStatus("r", map[string]string{"status": "inactive"}, 200) // already: fine
		if r := setStatus("r", map[string]string{"status": "paused"}, 400); !strings.Contains(r.errorBody(t), "'paused' is not a recognized rule state") {
			t.Errorf("bad state: %s", r.body)
		}
		setStatus("r", "", 400)
		setStatus("nope", map[string]string{"status": "active"}, 404)

		// An update keeps the status and may re-point the rule.
		r = h.do("PUT", rulesPath+"r?overwrite=true", guestAuth, map[string]any{"trigger": "/_/t2"})
		mustStatus(t, "PUT overwrite", r, 200)
		var upd struct {
			Version, Status string
			Trigger, Action whisk.EntityRef
		}
		r.json(t, &upd)
		if upd.Version != "0.0.2" || upd.Status != "inactive" || upd.Trigger.Name != "t2" || upd.Action.Name != "a" {
			t.Errorf("update: %s", r.body)
		}
		setStatus("r", map[string]string{"status": "active"}, 200)
		if s := status("r"); s != "active" {
			t.Errorf("after enable: %s", s)
		}

		r = h.do("GET", "/api/v1/namespaces/_/rules", guestAuth, nil)
		mustStatus(t, "list", r, 200)
		var list []map[string]any
		r.json(t, &list)
		if len(list) != 3 || list[0]["name"] != "r" || list[0]["status"] != nil {
			t.Errorf("list %s: want 3 rules without status (as OpenWhisk)", r.body)
		}
		if r := h.do("GET", "/api/v1/namespaces/_/rules?count=true", guestAuth, nil); strings.TrimSpace(string(r.body)) != `{"rules":3}` {
			t.Errorf("count %s", r.body)
		}

		// A rule whose trigger is gone reads inactive and cannot be enabled.
		mustStatus(t, "DELETE t2", h.do("DELETE", triggersPath+"t2", guestAuth, nil), 200)
		if s := status("r"); s != "inactive" {
			t.Errorf("without its trigger: %s", s)
		}
		if r := setStatus("r", map[string]string{"status": "active"}, 404); !strings.Contains(r.errorBody(t), "Only rules with existing triggers can be activated") {
			t.Errorf("enable without trigger: %s", r.body)
		}
		setStatus("r", map[string]string{"status": "inactive"}, 200)

		r = h.do("DELETE", rulesPath+"r", guestAuth, nil)
		mustStatus(t, "DELETE", r, 200)
		if !strings.Contains(string(r.body), `"status":"inactive"`) {
			t.Errorf("DELETE answered %s", r.body)
		}
		mustStatus(t, "GET deleted", h.do("GET", rulesPath+"r", guestAuth, nil), 404)
		mustStatus(t, "other namespace", h.do("GET", "/api/v1/namespaces/other/rules/rs", guestAuth, nil), 403)
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestTriggerFire(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		f := newFiring(t, st, Config{})
		h := f.harness
		h.putAction("a1", map[string]any{"exec": map[string]any{"kind": "nodejs:20", "code": "x"}, "parameters": kv("x", 1)})
		h.putAction("a2", nodeAction("x"))
		mustStatus(t, "PUT t", h.do("PUT", triggersPath+"t", guestAuth, map[string]any{"parameters": kv("p", "trigger")}), 200)
		mustStatus(t, "PUT r1", h.putRule(t, "r1", "/_/t", "/_/a1"), 200)
		mustStatus(t, "PUT r2", h.putRule(t, "r2", "/_/t", "/_/a2"), 200)

		// Two active rules: both actions run, the record lists both.
		r := h.do("POST", triggersPath+"t", guestAuth, map[string]any{"name": "x"})
		mustStatus(t, "fire", r, 202)
		var acc struct{ ActivationID string }
		r.json(t, &acc)
		if acc.ActivationID == "" || r.header.Get("X-Openwhisk-Activation-Id") != acc.ActivationID {
			t.Fatalf("fire answered %s with header %q", r.body, r.header.Get("X-Openwhisk-Activation-Id"))
		}
		rec, logs := h.triggerRecord(t, acc.ActivationID)
		if rec.Name != "t" || !rec.Response.Success || string(rec.Response.Result) != `{"name":"x"}` || len(logs) != 2 {
			t.Fatalf("trigger record %+v", rec)
		}
		for i, want := range []triggerLog{
			{Success: true, Rule: "guest/r1", Action: "guest/a1"},
			{Success: true, Rule: "guest/r2", Action: "guest/a2"},
		} {
			got := logs[i]
			if got.Success != want.Success || got.Rule != want.Rule || got.Action != want.Action || got.StatusCode != 0 || got.ActivationID == "" {
				t.Errorf("entry %d: %+v, want %+v", i, got, want)
			}
		}
		for _, l := range logs {
			waitFor(t, 5*time.Second, l.Action+"'s activation appears", func() bool {
				return h.do("GET", "/api/v1/namespaces/_/activations/"+l.ActivationID, guestAuth, nil).status == 200
			})
		}
		var args map[string]any
		_ = json.Unmarshal(f.message(logs[0].ActivationID).Args, &args)
		if args["x"] != 1.0 || args["p"] != "trigger" || args["name"] != "x" {
			t.Errorf("a1 got %v", args)
		}

		// One rule disabled: one action runs.
		mustStatus(t, "disable r2", h.do("POST", rulesPath+"r2", guestAuth, map[string]string{"status": "inactive"}), 200)
		r = h.do("POST", triggersPath+"t", guestAuth, nil)
		mustStatus(t, "fire", r, 202)
		r.json(t, &acc)
		_, logs = h.triggerRecord(t, acc.ActivationID)
		if len(logs) != 2 || !logs[0].Success || logs[1].Success || !strings.Contains(logs[1].Error, "is inactive") {
			t.Errorf("entries %+v, want r1 fired and r2 inactive", logs)
		}
		waitFor(t, 5*time.Second, "a1 ran", func() bool { return f.message(logs[0].ActivationID) != nil })
		time.Sleep(100 * time.Millisecond)
		if f.message(controller.RuleActivationID(acc.ActivationID, "guest/r2")) != nil {
			t.Error("the disabled rule's action ran")
		}

		// No active rule: 204, nothing recorded.
		mustStatus(t, "disable r1", h.do("POST", rulesPath+"r1", guestAuth, map[string]string{"status": "inactive"}), 200)
		r = h.do("POST", triggersPath+"t", guestAuth, map[string]any{})
		mustStatus(t, "fire without active rules", r, 204)
		if len(r.body) != 0 || r.header.Get("X-Openwhisk-Activation-Id") != "" {
			t.Errorf("204 with body %q, header %q", r.body, r.header.Get("X-Openwhisk-Activation-Id"))
		}

		// A deleted action leaves its rule dangling: the entry fails.
		mustStatus(t, "enable r1", h.do("POST", rulesPath+"r1", guestAuth, map[string]string{"status": "active"}), 200)
		mustStatus(t, "DELETE a1", h.do("DELETE", "/api/v1/namespaces/_/actions/a1", guestAuth, nil), 200)
		r = h.do("POST", triggersPath+"t", guestAuth, nil)
		mustStatus(t, "fire a dangling rule", r, 202)
		r.json(t, &acc)
		_, logs = h.triggerRecord(t, acc.ActivationID)
		if len(logs) != 2 || logs[0].Success || logs[0].StatusCode != 1 || logs[0].Error != "The requested resource does not exist." {
			t.Errorf("entries %+v, want r1 failed: the action does not exist", logs)
		}

		for _, tc := range []struct {
			name, path, auth string
			body             any
			status           int
		}{
			{"missing trigger", triggersPath + "nope", guestAuth, nil, 404},
			{"array payload", triggersPath + "t", guestAuth, `[1]`, 400},
			{"malformed payload", triggersPath + "t", guestAuth, `{"a":`, 400},
			{"another namespace", "/api/v1/namespaces/other/triggers/t", guestAuth, nil, 403},
			{"too large", triggersPath + "t", guestAuth, `{"a":"` + strings.Repeat("x", whisk.MaxPayload) + `"}`, 413},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if r := h.do("POST", tc.path, tc.auth, tc.body); r.status != tc.status {
					t.Errorf("%d %s, want %d", r.status, r.body, tc.status)
				}
			})
		}

		// The namespace's fires per minute.
		gw, err := New(Config{FiresPerMinute: 2}, Deps{Store: st, Controller: f.ctl})
		if err != nil {
			t.Fatal(err)
		}
		limited := &harness{t: t, st: st, gw: gw}
		for i, want := range []int{202, 202, 429} {
			if r := limited.do("POST", triggersPath+"t", guestAuth, nil); r.status != want {
				t.Errorf("fire %d: %d %s, want %d", i, r.status, r.body, want)
			}
		}
	})
}

func TestTriggerFireNeedsAFirer(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	mustStatus(t, "PUT t", h.do("PUT", triggersPath+"t", guestAuth, nil), 200)
	mustStatus(t, "fire on a controller that cannot", h.do("POST", triggersPath+"t", guestAuth, nil), 500)
}

func TestAlarmsFeedThroughAPI(t *testing.T) {
	st := firstStore(t)
	f := newFiring(t, st, Config{})
	h := f.harness
	if err := InstallBuiltinPackages(context.Background(), st); err != nil {
		t.Fatalf("InstallBuiltinPackages: %v", err)
	}
	if err := InstallBuiltinPackages(context.Background(), st); err != nil {
		t.Fatalf("InstallBuiltinPackages again: %v", err)
	}
	r := h.do("GET", "/api/v1/namespaces/whisk.system/packages/alarms", guestAuth, nil)
	mustStatus(t, "GET alarms package", r, 200)
	var pkg struct {
		Feeds []struct{ Name string } `json:"feeds"`
	}
	r.json(t, &pkg)
	if len(pkg.Feeds) != 3 {
		t.Errorf("alarms package feeds %s", r.body)
	}
	// Users cannot make built-in actions of their own.
	r = h.do("PUT", "/api/v1/namespaces/_/actions/fake", guestAuth, map[string]any{"exec": map[string]any{"kind": whisk.KindBuiltin, "code": "x", "main": controller.BuiltinAlarm}})
	mustStatus(t, "PUT a builtin action", r, 400)

	h.putAction("a", nodeAction("x"))
	mustStatus(t, "PUT t", h.do("PUT", triggersPath+"t", guestAuth, map[string]any{"annotations": kv("feed", "/whisk.system/alarms/interval")}), 200)
	mustStatus(t, "PUT r", h.putRule(t, "r", "/_/t", "/_/a"), 200)
	feed := func(action string, args map[string]any) response {
		t.Helper()
		args["triggerName"] = "/_/t"
		args["authKey"] = guestUUID + ":" + guestKey
		return h.do("POST", "/api/v1/namespaces/whisk.system/actions/alarms/"+action+"?blocking=true", guestAuth, args)
	}

	// A malformed cron: 502 with a clear error, as the CLI expects to then
	// delete the trigger.
	r = feed("alarm", map[string]any{"lifecycleEvent": "CREATE", "cron": "often"})
	mustStatus(t, "CREATE bad cron", r, 502)
	var rec whisk.Activation
	r.json(t, &rec)
	if !strings.Contains(string(rec.Response.Result), "cron pattern 'often' is not valid") {
		t.Errorf("bad cron result %s", rec.Response.Result)
	}

	r = feed("interval", map[string]any{"lifecycleEvent": "CREATE", "seconds": 1})
	mustStatus(t, "CREATE interval", r, 200)
	r.json(t, &rec)
	if string(rec.Response.Result) != `{"status":"success"}` || rec.Namespace != "guest" {
		t.Errorf("CREATE record %+v", rec)
	}
	waitFor(t, 6*time.Second, "two alarm fires", func() bool {
		r := h.do("GET", "/api/v1/namespaces/_/activations?name=t&count=true", guestAuth, nil)
		var n struct{ Activations int }
		_ = json.Unmarshal(r.body, &n)
		return n.Activations >= 2
	})
	r = feed("interval", map[string]any{"lifecycleEvent": "READ"})
	mustStatus(t, "READ", r, 200)
	if !strings.Contains(string(r.body), `"seconds":1`) {
		t.Errorf("READ %s", r.body)
	}
	mustStatus(t, "DELETE", feed("interval", map[string]any{"lifecycleEvent": "DELETE"}), 200)
	mustStatus(t, "READ deleted", feed("interval", map[string]any{"lifecycleEvent": "READ"}), 502)
}
