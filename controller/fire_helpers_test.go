package controller

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/embedded"
	"github.com/gust-faas/gust/whisk"
)

// asyncRunner stands in for the invokers at the JetStream seam: it pulls
// accepted non-blocking activations from the async stream, as invokers
// do, notes them, stores a success record whose result is the arguments,
// and acks.
type asyncRunner struct {
	st store.Store
	cc jetstream.ConsumeContext

	mu     sync.Mutex
	closed bool
	runs   map[string]int // by activation id
	msgs   []*bus.ActivationMessage
	wg     sync.WaitGroup
}

func startAsyncRunner(tb testing.TB, srv *server.Server, st store.Store) *asyncRunner {
	tb.Helper()
	js, err := jetstream.New(connect(tb, srv))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := js.CreateOrUpdateConsumer(ctx, bus.AsyncStream, jetstream.ConsumerConfig{
		Durable: bus.AsyncConsumer, AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: -1,
	})
	if err != nil {
		tb.Fatalf("async consumer: %v", err)
	}
	r := &asyncRunner{st: st, runs: map[string]int{}}
	if r.cc, err = cons.Consume(r.handle); err != nil {
		tb.Fatalf("consume: %v", err)
	}
	tb.Cleanup(func() {
		r.cc.Stop()
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		r.wg.Wait()
	})
	return r
}

func (r *asyncRunner) handle(m jetstream.Msg) {
	var msg bus.ActivationMessage
	if err := json.Unmarshal(m.Data(), &msg); err != nil || msg.Action == nil {
		_ = m.Term()
		return
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.runs[msg.ActivationID]++
	r.msgs = append(r.msgs, &msg)
	r.wg.Add(1)
	r.mu.Unlock()
	defer r.wg.Done()
	now := time.Now().UnixMilli()
	rec := &whisk.Activation{
		Namespace: msg.Namespace, Name: msg.Action.Name, Version: msg.Action.Version, Subject: msg.Subject,
		ActivationID: msg.ActivationID, Start: now, End: now, Cause: msg.Cause,
		Response:    whisk.NewResponse(whisk.StatusSuccess, msg.Args),
		Logs:        []string{},
		Annotations: whisk.KeyValues{}.Set(whisk.AnnPath, msg.Action.FQN().Path()),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.st.PutActivation(ctx, rec); err != nil {
		_ = m.Nak()
		return
	}
	_ = m.Ack()
}

// ran is how often activation id was delivered.
func (r *asyncRunner) ran(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[id]
}

// message returns the message of activation id, or nil.
func (r *asyncRunner) message(id string) *bus.ActivationMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.msgs {
		if m.ActivationID == id {
			return m
		}
	}
	return nil
}

// openFireStore opens the real embedded store in a temporary directory.
func openFireStore(tb testing.TB) *embedded.Store {
	tb.Helper()
	st, err := embedded.Open(filepath.Join(tb.TempDir(), "gust.db"), embedded.Options{NoSync: true})
	if err != nil {
		tb.Fatalf("embedded store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// runStoreController runs a controller with a store until stop (or the
// test's end); stop waits for Run to return.
func runStoreController(tb testing.TB, srv *server.Server, st store.Store, cfg Config) (c *Controller, stop func()) {
	tb.Helper()
	return runController(tb, cfg, Deps{NATS: connect(tb, srv), Logger: testLogger(tb), Store: st})
}

// Entities written straight into the store, as the gateway writes them.

func putDoc(tb testing.TB, st store.Store, ns, coll, name string, v any) {
	tb.Helper()
	doc, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.PutEntity(context.Background(), store.Key{Namespace: ns, Collection: coll, Name: name}, doc, true); err != nil {
		tb.Fatalf("put %s %s/%s: %v", coll, ns, name, err)
	}
}

func putTrigger(tb testing.TB, st store.Store, ns, name string, params whisk.KeyValues) {
	putDoc(tb, st, ns, store.Triggers, name, &whisk.Trigger{Namespace: ns, Name: name, Version: "0.0.1",
		Parameters: params, Annotations: whisk.KeyValues{}})
}

// putNodeAction stores action ns/[pkg/]name; its namespace field holds the
// package as the gateway writes it.
func putNodeAction(tb testing.TB, st store.Store, ns, name string, params, anns whisk.KeyValues) {
	f, err := whisk.ParseFQN(name, ns)
	if err != nil {
		tb.Fatal(err)
	}
	path := ns
	if f.Package != "" {
		path += "/" + f.Package
	}
	putDoc(tb, st, ns, store.Actions, name, &whisk.Action{Namespace: path, Name: f.Name, Version: "0.0.1",
		Exec: whisk.Exec{Kind: whisk.KindNode, Digest: "00"}, Parameters: params, Annotations: anns,
		Limits: whisk.DefaultLimits(), Rev: "r1"})
}

func putRule(tb testing.TB, st store.Store, ns, name, trigger, action, status string) {
	tb.Helper()
	tf, err := whisk.ParseFQN(trigger, ns)
	if err != nil {
		tb.Fatal(err)
	}
	af, err := whisk.ParseFQN(action, ns)
	if err != nil {
		tb.Fatal(err)
	}
	putDoc(tb, st, ns, store.Rules, name, &whisk.Rule{Namespace: ns, Name: name, Version: "0.0.1", Status: status,
		Trigger: whisk.Ref(tf), Action: whisk.Ref(af), Annotations: whisk.KeyValues{}})
}

// entries decodes a trigger record's logs.
func entries(tb testing.TB, rec *whisk.Activation) []ruleEntry {
	tb.Helper()
	out := make([]ruleEntry, 0, len(rec.Logs))
	for _, l := range rec.Logs {
		var e ruleEntry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			tb.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

// eventually polls cond every 20 ms until it holds or d passes.
func eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// triggerRecords lists the namespace's activation records of trigger
// name, oldest first.
func triggerRecords(tb testing.TB, st store.Store, ns, name string) []*whisk.Activation {
	tb.Helper()
	recs, err := st.ListActivations(context.Background(), ns, store.ActivationFilter{Name: name})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Start < recs[j].Start })
	return recs
}
