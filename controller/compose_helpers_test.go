package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/embedded"
	"github.com/gust-faas/gust/whisk"
)

// actionFunc is what a funcInvoker runs for one action: the arguments in,
// the result and status code out.
type actionFunc func(args map[string]any) (map[string]any, int)

// funcInvoker stands in for an invoker at the NATS seam: it runs a Go
// function per action name, stores each record as the real invoker does
// (with the message's cause and annotations), then replies with it.
type funcInvoker struct {
	id   string
	nc   *nats.Conn
	st   store.Store
	subj bus.Subjects

	mu     sync.Mutex
	fns    map[string]actionFunc
	delays map[string]time.Duration
	runs   map[string]int // by activation id
	byName map[string]int
	closed bool

	wg      sync.WaitGroup
	stopped chan struct{}
}

func newFuncInvoker(tb testing.TB, srv *server.Server, st store.Store, prefix, id string) *funcInvoker {
	tb.Helper()
	f := &funcInvoker{
		id: id, nc: connect(tb, srv), st: st, subj: bus.Subjects{Prefix: prefix},
		fns: map[string]actionFunc{}, delays: map[string]time.Duration{},
		runs: map[string]int{}, byName: map[string]int{}, stopped: make(chan struct{}),
	}
	if _, err := f.nc.Subscribe(f.subj.Invoke(id), f.serve); err != nil {
		tb.Fatal(err)
	}
	if err := f.nc.Flush(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		f.mu.Lock()
		f.closed = true
		f.mu.Unlock()
		close(f.stopped)
		f.wg.Wait()
	})
	return f
}

// handle registers fn for action name; a nil fn makes the invoker refuse
// the action (a reply with an error and no record).
func (f *funcInvoker) handle(name string, fn actionFunc) {
	f.mu.Lock()
	f.fns[name] = fn
	f.mu.Unlock()
}

func (f *funcInvoker) slow(name string, d time.Duration) {
	f.mu.Lock()
	f.delays[name] = d
	f.mu.Unlock()
}

func (f *funcInvoker) ranID(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs[id]
}

func (f *funcInvoker) ranName(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byName[name]
}

func (f *funcInvoker) beat(tb testing.TB) {
	tb.Helper()
	b, _ := json.Marshal(bus.Heartbeat{V: bus.Version, ID: f.id, MemoryMB: 4096, FreeMB: 4096, Sent: time.Now().UnixMilli()})
	if err := f.nc.Publish(f.subj.Heartbeat(), b); err != nil {
		tb.Fatal(err)
	}
	if err := f.nc.Flush(); err != nil {
		tb.Fatal(err)
	}
}

func (f *funcInvoker) serve(m *nats.Msg) {
	var msg bus.ActivationMessage
	if err := json.Unmarshal(m.Data, &msg); err != nil || msg.Action == nil {
		_ = m.Respond([]byte(`{"v":1,"error":"bad message"}`))
		return
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	fn, ok := f.fns[msg.Action.Name]
	delay := f.delays[msg.Action.Name]
	if ok && fn == nil { // refuse: a reply without a record
		f.mu.Unlock()
		_ = m.Respond([]byte(`{"v":1,"error":"cannot run this"}`))
		return
	}
	f.runs[msg.ActivationID]++
	f.byName[msg.Action.Name]++
	f.wg.Add(1) // under mu: never concurrent with the cleanup's Wait
	f.mu.Unlock()
	go func() {
		defer f.wg.Done()
		start := time.Now()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-f.stopped:
				return
			}
		}
		code, result := whisk.StatusSuccess, json.RawMessage(`{}`)
		if fn == nil {
			code, result = whisk.StatusDeveloperError, whisk.ErrorResult("no function for "+msg.Action.Name)
		} else {
			var args map[string]any
			_ = json.Unmarshal(msg.Args, &args)
			res, c := fn(args)
			code = c
			result, _ = json.Marshal(res)
		}
		end := time.Now()
		limits, _ := json.Marshal(msg.Action.Limits)
		anns := whisk.KeyValues{
			{Key: whisk.AnnPath, Value: jsonString(msg.Action.FQN().Path())},
			{Key: whisk.AnnKind, Value: jsonString(msg.Action.Exec.Kind)},
			{Key: whisk.AnnLimits, Value: limits},
		}
		rec := &whisk.Activation{
			Namespace: msg.Namespace, Name: msg.Action.Name, Version: msg.Action.Version, Subject: msg.Subject,
			ActivationID: msg.ActivationID, Start: start.UnixMilli(), End: end.UnixMilli(),
			Duration: max(end.Sub(start).Milliseconds(), 1), StatusCode: code, Cause: msg.Cause,
			Response: whisk.NewResponse(code, result), Logs: []string{}, Annotations: append(anns, msg.Annotations...),
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = f.st.PutActivation(ctx, rec)
		cancel()
		b, _ := json.Marshal(bus.Result{V: bus.Version, Activation: rec})
		_ = m.Respond(b)
	}()
}

// Functions the tests compose. Each reads and writes the number n.
func inc(args map[string]any) (map[string]any, int) {
	n, _ := args["n"].(float64)
	return map[string]any{"n": n + 1}, whisk.StatusSuccess
}

func double(args map[string]any) (map[string]any, int) {
	n, _ := args["n"].(float64)
	factor, ok := args["factor"].(float64)
	if !ok {
		factor = 2
	}
	return map[string]any{"n": n * factor}, whisk.StatusSuccess
}

func fail(map[string]any) (map[string]any, int) {
	return map[string]any{"error": "boom"}, whisk.StatusApplicationError
}

// composeEnv is a real nats-server with JetStream, the real embedded store,
// a controller with that store, and one funcInvoker.
type composeEnv struct {
	t   *testing.T
	srv *server.Server
	st  *embedded.Store
	c   *Controller
	inv *funcInvoker
}

func composeConfig() Config {
	cfg := testConfig()
	cfg.ComponentCacheTTL = time.Millisecond // see deletions at once
	return cfg
}

func newComposeEnv(t *testing.T, withInvoker bool) *composeEnv {
	t.Helper()
	e := &composeEnv{t: t, srv: startNATS(t), st: openStore(t)}
	e.c = startComposer(t, e.srv, e.st, composeConfig())
	if withInvoker {
		e.inv = e.addInvoker("inv0")
	}
	return e
}

func (e *composeEnv) addInvoker(id string) *funcInvoker {
	inv := newFuncInvoker(e.t, e.srv, e.st, "t.", id)
	for name, fn := range map[string]actionFunc{"inc": inc, "double": double, "fail": fail} {
		inv.handle(name, fn)
	}
	inv.beat(e.t)
	waitFor(e.t, "invoker "+id+" registered", func() bool {
		s, ok := status(e.c, id)
		return ok && s.State == StateUp
	})
	return inv
}

func openStore(tb testing.TB) *embedded.Store {
	tb.Helper()
	st, err := embedded.Open(filepath.Join(tb.TempDir(), "gust.db"), embedded.Options{NoSync: true, Logger: testLogger(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// startComposer runs a controller with a store until the test ends.
func startComposer(tb testing.TB, srv *server.Server, st store.Store, cfg Config) *Controller {
	c, _ := runComposer(tb, srv, st, cfg)
	return c
}

// runComposer runs a controller with a store until stop or the end of the
// test.
func runComposer(tb testing.TB, srv *server.Server, st store.Store, cfg Config) (c *Controller, stop func()) {
	tb.Helper()
	return runController(tb, cfg, Deps{NATS: connect(tb, srv), Logger: testLogger(tb), Store: st})
}

// put stores an action document in namespace guest and returns it.
func (e *composeEnv) put(a *whisk.Action) *whisk.Action {
	e.t.Helper()
	if a.Namespace == "" {
		a.Namespace = "guest"
	}
	if a.Version == "" {
		a.Version = "0.0.1"
	}
	if a.Limits == (whisk.Limits{}) {
		a.Limits = whisk.Limits{Timeout: 5000, Memory: 256, Logs: 10, Concurrency: 1}
	}
	a.Rev = strconv.FormatInt(time.Now().UnixNano(), 36)
	doc, err := json.Marshal(a)
	if err != nil {
		e.t.Fatal(err)
	}
	ns, pkg, _ := cutPkg(a.Namespace)
	name := a.Name
	if pkg != "" {
		name = pkg + "/" + name
	}
	if err := e.st.PutEntity(context.Background(), store.Key{Namespace: ns, Collection: store.Actions, Name: name}, doc, true); err != nil {
		e.t.Fatal(err)
	}
	return a
}

func cutPkg(ns string) (string, string, bool) {
	for i := 0; i < len(ns); i++ {
		if ns[i] == '/' {
			return ns[:i], ns[i+1:], true
		}
	}
	return ns, "", false
}

// fn stores an atomic action that the funcInvoker runs as fn name.
func (e *composeEnv) fn(name string, memory int, params ...whisk.KeyValue) *whisk.Action {
	return e.put(&whisk.Action{
		Name: name, Exec: whisk.Exec{Kind: whisk.KindNode, Digest: "00"},
		Limits:     whisk.Limits{Timeout: 5000, Memory: memory, Logs: 10, Concurrency: 1},
		Parameters: params,
	})
}

// seq stores a sequence of the named components of namespace guest.
func (e *composeEnv) seq(name string, components ...string) *whisk.Action {
	fq := make([]string, len(components))
	for i, c := range components {
		fq[i] = "/guest/" + c
	}
	return e.put(&whisk.Action{
		Name: name, Exec: whisk.Exec{Kind: whisk.KindSequence, Components: fq},
		Parameters: whisk.KeyValues{}.Set(paramActions, fq),
	})
}

func (e *composeEnv) del(name string) {
	e.t.Helper()
	if err := e.st.DeleteEntity(context.Background(), store.Key{Namespace: "guest", Collection: store.Actions, Name: name}); err != nil {
		e.t.Fatal(err)
	}
}

func newActivationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func invocation(a *whisk.Action, args string, blocking bool) *bus.ActivationMessage {
	return &bus.ActivationMessage{
		ActivationID: newActivationID(), TransID: "tid", Namespace: "guest", Subject: "guest",
		Action: a, Args: json.RawMessage(args), Blocking: blocking,
	}
}

// invoke runs a blocking invocation of a on args.
func (e *composeEnv) invoke(a *whisk.Action, args string) *whisk.Activation {
	e.t.Helper()
	rec, err := e.c.Invoke(context.Background(), invocation(a, args, true), 20*time.Second)
	if err != nil {
		e.t.Fatalf("Invoke %s: %v", a.Name, err)
	}
	return rec
}

// stored waits for record id of namespace guest in the store.
func (e *composeEnv) stored(id string) *whisk.Activation {
	e.t.Helper()
	var rec *whisk.Activation
	waitFor(e.t, "record "+id+" in the store", func() bool {
		var err error
		rec, err = e.st.GetActivation(context.Background(), "guest", id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			e.t.Fatalf("GetActivation %s: %v", id, err)
		}
		return err == nil
	})
	return rec
}

func resultOf(tb testing.TB, rec *whisk.Activation) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Response.Result, &m); err != nil {
		tb.Fatalf("result %s of %s: %v", rec.Response.Result, rec.ActivationID, err)
	}
	return m
}

func annotation(rec *whisk.Activation, key string) string { return string(rec.Annotations.Get(key)) }

// checkStep checks that component record rec is linked to its
// composition: cause and causedBy.
func checkStep(tb testing.TB, rec *whisk.Activation, cause string) {
	tb.Helper()
	if rec.Cause != cause || annotation(rec, whisk.AnnCausedBy) != `"sequence"` {
		tb.Errorf("step %s (%s): cause %q, causedBy %s; want cause %s, causedBy \"sequence\"",
			rec.ActivationID, rec.Name, rec.Cause, annotation(rec, whisk.AnnCausedBy), cause)
	}
	if annotation(rec, whisk.AnnTopmost) != "" {
		tb.Errorf("step %s (%s) has a topmost annotation", rec.ActivationID, rec.Name)
	}
}

func storeKey(ns, collection, name string) store.Key {
	return store.Key{Namespace: ns, Collection: collection, Name: name}
}

// anns is a record's annotations as JSON, for messages.
func anns(rec *whisk.Activation) string {
	b, _ := json.Marshal(rec.Annotations)
	return string(b)
}
