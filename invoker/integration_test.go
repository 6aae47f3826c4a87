package invoker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/sandbox/process"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/embedded"
	"github.com/gust-faas/gust/whisk"
)

// env is a real stack for one test: an embedded nats-server with
// JetStream, the embedded store, the process sandbox driver running the
// real runtime proxy (this test binary, re-executed).
type env struct {
	t      testing.TB
	srv    *server.Server
	nc     *nats.Conn
	st     *embedded.Store
	drv    *process.Driver
	runDir string
	subj   bus.Subjects
	seq    atomic.Int64
}

// sandboxDirs counts the sandboxes' directories in the run directory (not
// the driver's prepared launchers).
func (e *env) sandboxDirs() int {
	ents, _ := os.ReadDir(e.runDir)
	return len(slices.DeleteFunc(ents, func(d os.DirEntry) bool { return d.Name() == "launchers" }))
}

func newEnv(t testing.TB) *env {
	t.Helper()
	if _, err := os.Stat("/usr/bin/node"); err != nil {
		t.Skip("needs /usr/bin/node for nodejs actions")
	}
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
		MaxPayload: 1 << 20, // nats-server's default, smaller than a record with 10 MB of logs
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	st, err := embedded.Open(filepath.Join(t.TempDir(), "gust.db"), embedded.Options{NoSync: true, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// Unix socket paths are short: keep the run directory near the root.
	base, err := os.MkdirTemp("", "gi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	tmp := filepath.Join(base, "t")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(base, "s")
	return &env{
		t: t, srv: srv, nc: nc, st: st, runDir: runDir,
		// TMPDIR: the proxy's work directory goes where the test removes
		// it (a SIGKILLed proxy cannot clean up after itself).
		drv:  process.New(process.Config{RunDir: runDir, Env: []string{"TMPDIR=" + tmp}, Logger: discardLogger()}),
		subj: bus.Subjects{Prefix: bus.DefaultPrefix},
	}
}

// start runs an invoker until the test ends (or the returned stop).
func (e *env) start(cfg Config) (*Invoker, func()) {
	e.t.Helper()
	if cfg.ID == "" {
		cfg.ID = "inv0"
	}
	inv, err := New(cfg, Deps{NATS: e.nc, Store: e.st, Driver: e.drv, Logger: discardLogger(), GoCache: goTestCache()})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inv.Run(ctx) }()
	select {
	case <-inv.Ready():
	case err := <-done:
		cancel()
		e.t.Fatalf("Run: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		e.t.Fatal("invoker not ready")
	}
	var stopped atomic.Bool
	stop := func() {
		if stopped.Swap(true) {
			return
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				e.t.Errorf("Run: %v", err)
			}
		case <-time.After(60 * time.Second):
			e.t.Errorf("Run did not return after its context ended")
		}
	}
	e.t.Cleanup(stop)
	return inv, stop
}

// goTestCache is a Go build cache kept across test runs (shared with the
// runtimes tests), so compiling a kind go action takes seconds, not minutes.
func goTestCache() string { return filepath.Join(os.TempDir(), "gust-runtimes-test-gocache") }

// action stores code and returns an action using it.
func (e *env) action(name, kind, code string, limits whisk.Limits) *whisk.Action {
	e.t.Helper()
	digest, err := e.st.PutCode(context.Background(), []byte(code))
	if err != nil {
		e.t.Fatal(err)
	}
	return &whisk.Action{
		Namespace: "guest", Name: name, Version: "0.0.1", Rev: "1",
		Exec:   whisk.Exec{Kind: kind, Digest: digest},
		Limits: limits,
	}
}

func (e *env) message(a *whisk.Action, args string) *bus.ActivationMessage {
	return &bus.ActivationMessage{
		V:            bus.Version,
		ActivationID: fmt.Sprintf("%032x", time.Now().UnixNano()+e.seq.Add(1)),
		TransID:      "tid",
		Namespace:    "guest",
		Subject:      "guest",
		Action:       a,
		Args:         json.RawMessage(args),
		Blocking:     true,
		Received:     time.Now().UnixMilli(),
		Annotations:  whisk.KeyValues{{Key: "topmost", Value: json.RawMessage("true")}},
	}
}

// invoke sends a blocking activation to the invoker and returns its result.
func (e *env) invoke(inv *Invoker, msg *bus.ActivationMessage) *bus.Result {
	e.t.Helper()
	data, _ := json.Marshal(msg)
	reply, err := e.nc.Request(e.subj.Invoke(inv.cfg.ID), data, 30*time.Second)
	if err != nil {
		e.t.Fatalf("request: %v", err)
	}
	var res bus.Result
	if err := json.Unmarshal(reply.Data, &res); err != nil {
		e.t.Fatalf("reply %s: %v", reply.Data, err)
	}
	if res.Activation == nil {
		e.t.Fatalf("reply without a record: %s", reply.Data)
	}
	return &res
}

// stored waits for the record of id in the store.
func (e *env) stored(id string) *whisk.Activation {
	e.t.Helper()
	var rec *whisk.Activation
	eventually(e.t, "record "+id+" in the store", func() bool {
		var err error
		rec, err = e.st.GetActivation(context.Background(), "guest", id)
		return err == nil
	})
	return rec
}

func ann(a *whisk.Activation, key string) string { return string(a.Annotations.Get(key)) }

func result(a *whisk.Activation) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(a.Response.Result, &m)
	return m
}

const helloJS = `
function main(p) {
  console.log("hello " + p.name);
  console.error("to stderr");
  return {
    payload: "Hello " + p.name,
    action: process.env.__OW_ACTION_NAME,
    namespace: process.env.__OW_NAMESPACE,
    activation: process.env.__OW_ACTIVATION_ID,
    apiHost: process.env.__OW_API_HOST,
    secret: process.env.SECRET || null,
  };
}
`

func TestInvokeBlockingNode(t *testing.T) {
	e := newEnv(t)
	inv, _ := e.start(Config{APIHost: "http://gust.test"})
	a := e.action("hello", "nodejs", helloJS, whisk.Limits{Timeout: 10000, Memory: 256, Logs: 1})

	msg := e.message(a, `{"name":"World"}`)
	msg.InitEnv = map[string]string{"SECRET": "s3"}
	res := e.invoke(inv, msg)
	rec := res.Activation
	if res.Error != "" || rec.StatusCode != whisk.StatusSuccess || !rec.Response.Success {
		t.Fatalf("result %+v, error %q", rec.Response, res.Error)
	}
	got := result(rec)
	want := map[string]any{
		"payload": "Hello World", "action": "/guest/hello", "namespace": "guest",
		"activation": msg.ActivationID, "apiHost": "http://gust.test", "secret": "s3",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("result[%s] = %v, want %v", k, got[k], v)
		}
	}
	if rec.ActivationID != msg.ActivationID || rec.Namespace != "guest" || rec.Name != "hello" || rec.Version != "0.0.1" || rec.Subject != "guest" {
		t.Errorf("record identity = %+v", rec)
	}
	if rec.Duration != rec.End-rec.Start || rec.Start < msg.Received {
		t.Errorf("start %d end %d duration %d received %d", rec.Start, rec.End, rec.Duration, msg.Received)
	}
	logs := strings.Join(rec.Logs, "\n")
	if len(rec.Logs) != 2 || !strings.Contains(logs, " stdout: hello World") || !strings.Contains(logs, " stderr: to stderr") {
		t.Errorf("logs = %q", rec.Logs)
	}
	for key, want := range map[string]string{
		whisk.AnnPath: `"guest/hello"`, whisk.AnnKind: `"nodejs:20"`, whisk.AnnTimeout: "false",
		whisk.AnnStart: `"cold"`, whisk.AnnLimits: `{"timeout":10000,"memory":256,"logs":1,"concurrency":1}`,
		"topmost": "true",
	} {
		if got := ann(rec, key); got != want {
			t.Errorf("annotation %s = %s, want %s", key, got, want)
		}
	}
	if ann(rec, whisk.AnnInitTime) == "" || ann(rec, whisk.AnnWaitTime) == "" {
		t.Errorf("cold start without initTime or waitTime: %v", rec.Annotations)
	}
	if s := e.stored(msg.ActivationID); s.Response.StatusCode != whisk.StatusSuccess || len(s.Logs) != 2 {
		t.Errorf("stored record = %+v", s)
	}

	// Warm: same sandbox, no init, only this activation's logs.
	msg2 := e.message(a, `{"name":"again"}`)
	rec2 := e.invoke(inv, msg2).Activation
	if ann(rec2, whisk.AnnStart) != `"warm"` || ann(rec2, whisk.AnnInitTime) != "" {
		t.Errorf("second activation: start %s initTime %s", ann(rec2, whisk.AnnStart), ann(rec2, whisk.AnnInitTime))
	}
	if len(rec2.Logs) != 2 || !strings.Contains(rec2.Logs[0]+rec2.Logs[1], "hello again") {
		t.Errorf("warm logs = %q", rec2.Logs)
	}
	e.stored(msg2.ActivationID)
	if s := inv.Stats(); s.ColdStarts != 1 || s.WarmStarts != 1 || s.Idle != 1 {
		t.Errorf("stats = %+v", s)
	}

	// An application error, then a developer error that retires the sandbox.
	a2 := e.action("fails", "nodejs", `function main(p) {
  if (p.app) return {error: "app says no"};
  return 42;
}`, whisk.Limits{})
	rec3 := e.invoke(inv, e.message(a2, `{"app":true}`)).Activation
	if rec3.StatusCode != whisk.StatusApplicationError || string(rec3.Response.Result) != `{"error":"app says no"}` {
		t.Errorf("application error record: %d %s", rec3.StatusCode, rec3.Response.Result)
	}
	rec4 := e.invoke(inv, e.message(a2, `{}`)).Activation
	if rec4.StatusCode != whisk.StatusDeveloperError || ann(rec4, whisk.AnnStart) != `"warm"` {
		t.Errorf("developer error record: %d %s start %s", rec4.StatusCode, rec4.Response.Result, ann(rec4, whisk.AnnStart))
	}
	rec5 := e.invoke(inv, e.message(a2, `{"app":true}`)).Activation
	if ann(rec5, whisk.AnnStart) != `"cold"` {
		t.Errorf("after a developer error start = %s, want a new sandbox", ann(rec5, whisk.AnnStart))
	}

	// A crash: a developer error, and the sandbox is not reused.
	crash := e.action("crash", "nodejs", `function main(p) { if (p.exit) process.exit(3); return {alive: true}; }`, whisk.Limits{})
	e.invoke(inv, e.message(crash, `{}`))
	rec7 := e.invoke(inv, e.message(crash, `{"exit":true}`)).Activation
	if rec7.StatusCode != whisk.StatusDeveloperError || ann(rec7, whisk.AnnStart) != `"warm"` {
		t.Errorf("crash record: %d %s start %s", rec7.StatusCode, rec7.Response.Result, ann(rec7, whisk.AnnStart))
	}
	if rec8 := e.invoke(inv, e.message(crash, `{}`)).Activation; ann(rec8, whisk.AnnStart) != `"cold"` || rec8.StatusCode != 0 {
		t.Errorf("after a crash: %d start %s", rec8.StatusCode, ann(rec8, whisk.AnnStart))
	}

	// Bad code: the init failure is a developer error with the runtime's message.
	bad := e.action("bad", "nodejs", `function main( {`, whisk.Limits{})
	rec6 := e.invoke(inv, e.message(bad, `{}`)).Activation
	if rec6.StatusCode != whisk.StatusDeveloperError || !strings.Contains(string(rec6.Response.Result), "error") {
		t.Errorf("init failure record: %d %s", rec6.StatusCode, rec6.Response.Result)
	}
	if ann(rec6, whisk.AnnInitTime) == "" {
		t.Errorf("init failure without initTime")
	}
}

func TestInvokeTimeout(t *testing.T) {
	e := newEnv(t)
	inv, _ := e.start(Config{})
	a := e.action("sleepy", "nodejs", `function main(p) {
  console.log("before");
  if (p.hang) { for (;;) {} }
  return {ok: true};
}`, whisk.Limits{Timeout: 1000, Memory: 128, Logs: 1}) // the cold /init must fit too, under -race
	rec := e.invoke(inv, e.message(a, `{}`)).Activation // warm it up
	if rec.StatusCode != whisk.StatusSuccess {
		t.Fatalf("warm-up: %+v", rec.Response)
	}
	sandboxes := e.sandboxDirs
	if n := sandboxes(); n != 1 {
		t.Fatalf("%d sandboxes, want 1", n)
	}

	start := time.Now()
	msg := e.message(a, `{"hang":true}`)
	rec = e.invoke(inv, msg).Activation
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a 1 s timeout took %v", d)
	}
	want := `{"error":"The action exceeded its time limits of 1000 milliseconds."}`
	if rec.StatusCode != whisk.StatusDeveloperError || string(rec.Response.Result) != want {
		t.Errorf("timeout record: %d %s, want %s", rec.StatusCode, rec.Response.Result, want)
	}
	if ann(rec, whisk.AnnTimeout) != "true" {
		t.Errorf("timeout annotation = %s", ann(rec, whisk.AnnTimeout))
	}
	if len(rec.Logs) != 1 || !strings.HasSuffix(rec.Logs[0], "stdout: before") {
		t.Errorf("logs of the timed-out activation = %q", rec.Logs)
	}
	if rec.Duration < 1000 {
		t.Errorf("duration %d < the time limit", rec.Duration)
	}
	// The hung sandbox is gone, and the next activation gets a new one.
	eventually(t, "the hung sandbox destroyed", func() bool { return sandboxes() == 0 })
	rec = e.invoke(inv, e.message(a, `{}`)).Activation
	if rec.StatusCode != whisk.StatusSuccess || ann(rec, whisk.AnnStart) != `"cold"` {
		t.Errorf("after the timeout: %d start %s", rec.StatusCode, ann(rec, whisk.AnnStart))
	}
	if s := e.stored(msg.ActivationID); ann(s, whisk.AnnTimeout) != "true" {
		t.Errorf("stored timeout record: %+v", s)
	}
}

func TestInvokeLogLimit(t *testing.T) {
	e := newEnv(t)
	inv, _ := e.start(Config{})
	// The action waits for its own stdout to drain: Node.js buffers pipe
	// output in memory once the pipe is full, and the launcher does not
	// flush it before answering (reported to runtimes/).
	a := e.action("chatty", "nodejs", `async function main(p) {
  const line = "x".repeat(1000);
  for (let i = 0; i < p.n; i++) console.log(line);
  console.error("done");
  if (process.stdout.writableLength > 0) await new Promise(r => process.stdout.once("drain", r));
  return {n: p.n};
}`, whisk.Limits{Logs: 1, Timeout: 10000})
	msg := e.message(a, `{"n":3000}`)
	res := e.invoke(inv, msg)
	rec := res.Activation
	if rec.StatusCode != whisk.StatusSuccess || result(rec)["n"] != 3000.0 || res.Error != "" {
		t.Fatalf("record: %+v (error %q)", rec.Response, res.Error)
	}
	// A megabyte of logs does not fit NATS's max payload: the reply leaves
	// them out, the stored record has them.
	if len(rec.Logs) != 0 {
		t.Errorf("reply with %d log lines over the max payload", len(rec.Logs))
	}
	rec = e.stored(msg.ActivationID)
	total := 0
	for _, l := range rec.Logs {
		total += len(l)
	}
	last := rec.Logs[len(rec.Logs)-1]
	if !strings.HasSuffix(last, "Logs were truncated because the total bytes size exceeds the limit of 1048576 bytes.") {
		t.Errorf("last line = %.100q", last)
	}
	if total > 1<<20+200 || len(rec.Logs) < 900 {
		t.Errorf("%d lines, %d bytes kept under a 1 MB limit", len(rec.Logs), total)
	}
	// The next activation of the same sandbox has only its own logs.
	rec = e.invoke(inv, e.message(a, `{"n":2}`)).Activation
	if ann(rec, whisk.AnnStart) != `"warm"` || len(rec.Logs) != 3 {
		t.Errorf("next activation: start %s, %d log lines, want warm and 3", ann(rec, whisk.AnnStart), len(rec.Logs))
	}
}

func TestInvokeConcurrentNode(t *testing.T) {
	e := newEnv(t)
	inv, _ := e.start(Config{})
	a := e.action("conc", "nodejs", `async function main(p) {
  console.log("shared");
  await new Promise(r => setTimeout(r, 200));
  return {i: p.i, concurrent: process.env.__OW_ALLOW_CONCURRENT || null};
}`, whisk.Limits{Concurrency: 4})
	type out struct {
		rec *whisk.Activation
	}
	results := make(chan out, 4)
	for i := range 4 {
		go func() {
			data, _ := json.Marshal(e.message(a, fmt.Sprintf(`{"i":%d}`, i)))
			reply, err := e.nc.Request(e.subj.Invoke(inv.cfg.ID), data, 30*time.Second)
			if err != nil {
				t.Error(err)
				results <- out{}
				return
			}
			var res bus.Result
			json.Unmarshal(reply.Data, &res)
			results <- out{res.Activation}
		}()
	}
	for range 4 {
		r := <-results
		if r.rec == nil {
			t.Fatal("no record")
		}
		if r.rec.StatusCode != whisk.StatusSuccess || len(r.rec.Logs) != 0 {
			t.Errorf("record %d %s, logs %q (want none with concurrency)", r.rec.StatusCode, r.rec.Response.Result, r.rec.Logs)
		}
	}
	if s := inv.Stats(); s.ColdStarts+s.PrewarmStarts != 1 {
		t.Errorf("4 concurrent activations with concurrency 4 used %d sandboxes: %+v", s.ColdStarts+s.PrewarmStarts, s)
	}
}

func TestInvokeGo(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a Go action")
	}
	e := newEnv(t)
	inv, _ := e.start(Config{})
	a := e.action("gohello", "go", `package main

func Main(args map[string]any) map[string]any {
	return map[string]any{"greeting": "Hello " + args["name"].(string)}
}
`, whisk.Limits{Timeout: 60000})
	rec := e.invoke(inv, e.message(a, `{"name":"Go"}`)).Activation
	if rec.StatusCode != whisk.StatusSuccess || result(rec)["greeting"] != "Hello Go" {
		t.Fatalf("record %d %s", rec.StatusCode, rec.Response.Result)
	}
	broken := e.action("gobroken", "go", "package main\nfunc Main(\n", whisk.Limits{Timeout: 60000})
	rec = e.invoke(inv, e.message(broken, `{}`)).Activation
	if rec.StatusCode != whisk.StatusDeveloperError {
		t.Fatalf("a compile error: record %d %s", rec.StatusCode, rec.Response.Result)
	}
}

// asyncStream creates the stream as the controller does.
func (e *env) asyncStream() jetstream.JetStream {
	e.t.Helper()
	js, err := jetstream.New(e.nc)
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = js.CreateStream(context.Background(), jetstream.StreamConfig{
		Name: bus.AsyncStream, Subjects: []string{e.subj.Async()},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return js
}

func (e *env) publish(js jetstream.JetStream, msg *bus.ActivationMessage) {
	e.t.Helper()
	msg.Blocking = false
	data, _ := json.Marshal(msg)
	if _, err := js.Publish(context.Background(), e.subj.Async(), data, jetstream.WithMsgID(msg.ActivationID)); err != nil {
		e.t.Fatal(err)
	}
}

// drained waits until the async consumer has nothing pending or unacked.
func (e *env) drained(js jetstream.JetStream) {
	e.t.Helper()
	eventually(e.t, "all async messages acked", func() bool {
		c, err := js.Consumer(context.Background(), bus.AsyncStream, bus.AsyncConsumer)
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
}

func TestAsyncNoneLost(t *testing.T) {
	e := newEnv(t)
	js := e.asyncStream()
	a := e.action("async", "nodejs", `function main(p) { console.log("async " + p.n); return {n: p.n}; }`, whisk.Limits{})

	// Published while no invoker runs: taken when one starts.
	early := e.message(a, `{"n":1}`)
	e.publish(js, early)
	inv, stop := e.start(Config{})
	rec := e.stored(early.ActivationID)
	if rec.StatusCode != whisk.StatusSuccess || result(rec)["n"] != 1.0 || len(rec.Logs) != 1 || !strings.HasSuffix(rec.Logs[0], "stdout: async 1") {
		t.Errorf("early record: %+v", rec)
	}
	// Published while it runs.
	var ids []string
	for i := range 5 {
		m := e.message(a, fmt.Sprintf(`{"n":%d}`, i+2))
		ids = append(ids, m.ActivationID)
		e.publish(js, m)
	}
	for _, id := range ids {
		e.stored(id)
	}
	e.drained(js)
	if s := inv.Stats(); s.ColdStarts+s.WarmStarts+s.PrewarmStarts != 6 {
		t.Errorf("6 activations ran %d times", s.ColdStarts+s.WarmStarts+s.PrewarmStarts)
	}
	stop()

	// After the invoker stopped, more work waits in the stream for the next.
	late := e.message(a, `{"n":99}`)
	e.publish(js, late)
	time.Sleep(50 * time.Millisecond)
	if _, err := e.st.GetActivation(context.Background(), "guest", late.ActivationID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ran without an invoker? %v", err)
	}
	e.start(Config{ID: "inv1"})
	e.stored(late.ActivationID)
	e.drained(js)
}

func TestAsyncRedeliveryRunsOnce(t *testing.T) {
	e := newEnv(t)
	js := e.asyncStream()
	// The durable consumer, as an invoker creates it.
	cons, err := js.CreateOrUpdateConsumer(context.Background(), bus.AsyncStream, jetstream.ConsumerConfig{
		Durable: bus.AsyncConsumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, MaxDeliver: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	a := e.action("once", "nodejs", `function main(p) { return {ran: true}; }`, whisk.Limits{})
	msg := e.message(a, `{}`)
	e.publish(js, msg)

	// An invoker took it, ran it, wrote the record and died before acking.
	m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	prior := &whisk.Activation{
		Namespace: "guest", Name: "once", ActivationID: msg.ActivationID, Start: time.Now().UnixMilli(),
		Response: whisk.NewResponse(0, json.RawMessage(`{"first":"run"}`)), Logs: []string{},
	}
	if err := e.st.PutActivation(context.Background(), prior); err != nil {
		t.Fatal(err)
	}
	if err := m.Nak(); err != nil { // redeliver now rather than after the ack wait
		t.Fatal(err)
	}

	inv, _ := e.start(Config{})
	e.drained(js)
	if s := inv.Stats(); s.ColdStarts+s.WarmStarts+s.PrewarmStarts != 0 {
		t.Errorf("the recorded activation ran again: %+v", s)
	}
	// A new activation still runs.
	fresh := e.message(a, `{}`)
	e.publish(js, fresh)
	if rec := e.stored(fresh.ActivationID); result(rec)["ran"] != true {
		t.Errorf("fresh record: %s", rec.Response.Result)
	}
}

func TestAsyncLongRunKeepsMessage(t *testing.T) {
	e := newEnv(t)
	js := e.asyncStream()
	inv, _ := e.start(Config{AckWait: 300 * time.Millisecond})
	a := e.action("long", "nodejs", `async function main(p) {
  await new Promise(r => setTimeout(r, 1200));
  return {done: true};
}`, whisk.Limits{})
	msg := e.message(a, `{}`)
	e.publish(js, msg)
	rec := e.stored(msg.ActivationID)
	if result(rec)["done"] != true {
		t.Fatalf("record: %s", rec.Response.Result)
	}
	e.drained(js)
	c, _ := js.Consumer(context.Background(), bus.AsyncStream, bus.AsyncConsumer)
	info, _ := c.Info(context.Background())
	if info.NumRedelivered != 0 || info.Config.AckWait != 300*time.Millisecond {
		t.Errorf("redelivered %d (ack wait %v): InProgress did not hold the message", info.NumRedelivered, info.Config.AckWait)
	}
	if s := inv.Stats(); s.ColdStarts+s.WarmStarts != 1 {
		t.Errorf("ran %d times", s.ColdStarts+s.WarmStarts)
	}
}

func TestDrainFinishesInFlight(t *testing.T) {
	e := newEnv(t)
	inv, stop := e.start(Config{})
	a := e.action("slow", "nodejs", `async function main(p) {
  await new Promise(r => setTimeout(r, 400));
  return {finished: true};
}`, whisk.Limits{})
	var hb atomic.Int32
	sub, err := e.nc.Subscribe(e.subj.Heartbeat(), func(m *nats.Msg) {
		var h bus.Heartbeat
		if json.Unmarshal(m.Data, &h) == nil && h.ID == "inv0" && h.MemoryMB == DefaultMemoryMB {
			hb.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	eventually(t, "a heartbeat", func() bool { return hb.Load() > 0 })

	msg := e.message(a, `{}`)
	data, _ := json.Marshal(msg)
	replyc := make(chan *nats.Msg, 1)
	go func() {
		r, err := e.nc.Request(e.subj.Invoke(inv.cfg.ID), data, 30*time.Second)
		if err != nil {
			t.Error(err)
		}
		replyc <- r
	}()
	eventually(t, "the activation running", func() bool { return inv.Stats().Busy == 1 })
	stop() // returns after the drain
	r := <-replyc
	var res bus.Result
	if r == nil || json.Unmarshal(r.Data, &res) != nil || res.Activation == nil || res.Activation.StatusCode != 0 {
		t.Fatalf("in-flight activation during drain: %v", r)
	}
	if _, err := e.st.GetActivation(context.Background(), "guest", msg.ActivationID); err != nil {
		t.Errorf("the drained activation's record was not written: %v", err)
	}
	if n := e.sandboxDirs(); n != 0 {
		t.Errorf("%d sandboxes left after Run returned", n)
	}
}

func TestInvokeLargeResults(t *testing.T) {
	e := newEnv(t)
	inv, _ := e.start(Config{})
	a := e.action("big", "nodejs", `function main(p) { return {s: "x".repeat(p.n)}; }`, whisk.Limits{})

	rec := e.invoke(inv, e.message(a, `{"n":1100000}`)).Activation
	if rec.StatusCode != whisk.StatusDeveloperError || !strings.Contains(string(rec.Response.Result), "exceeded the allowed length") {
		t.Errorf("result over 1 MB: %d %.200s", rec.StatusCode, rec.Response.Result)
	}

	// Under 1 MB, but the record is over NATS's max payload: the reply says
	// so, the store has the result.
	msg := e.message(a, `{"n":1048000}`)
	res := e.invoke(inv, msg)
	if res.Error == "" || res.Activation.StatusCode != whisk.StatusSuccess || len(res.Activation.Response.Result) != 0 {
		t.Errorf("reply: error %q, status %d, %d result bytes", res.Error, res.Activation.StatusCode, len(res.Activation.Response.Result))
	}
	if s := e.stored(msg.ActivationID); len(s.Response.Result) < 1048000 || s.StatusCode != whisk.StatusSuccess {
		t.Errorf("stored record: status %d, %d result bytes", s.StatusCode, len(s.Response.Result))
	}
}

func TestDrainTimeoutAborts(t *testing.T) {
	e := newEnv(t)
	js := e.asyncStream()
	inv, stop := e.start(Config{DrainTimeout: 200 * time.Millisecond})
	a := e.action("long", "nodejs", `async function main(p) {
  await new Promise(r => setTimeout(r, p.ms));
  return {slept: p.ms};
}`, whisk.Limits{})

	// One blocking, one asynchronous activation, both longer than the drain.
	blocking := e.message(a, `{"ms":5000}`)
	data, _ := json.Marshal(blocking)
	replyc := make(chan *nats.Msg, 1)
	go func() {
		r, _ := e.nc.Request(e.subj.Invoke(inv.cfg.ID), data, 30*time.Second)
		replyc <- r
	}()
	async := e.message(a, `{"ms":1500}`)
	e.publish(js, async)
	eventually(t, "both running", func() bool { return inv.Stats().Busy == 2 })

	start := time.Now()
	stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v to return with a 200 ms drain timeout", d)
	}
	r := <-replyc
	var res bus.Result
	if r == nil || json.Unmarshal(r.Data, &res) != nil || res.Activation == nil {
		t.Fatalf("no answer for the aborted blocking activation")
	}
	if res.Activation.StatusCode != whisk.StatusInternalError || !strings.Contains(res.Error, ErrShuttingDown.Error()) {
		t.Errorf("aborted blocking activation: status %d, error %q", res.Activation.StatusCode, res.Error)
	}
	if n := e.sandboxDirs(); n != 0 {
		t.Errorf("%d sandboxes left after Run returned", n)
	}
	// The asynchronous one went back to the stream: the next invoker runs it.
	if _, err := e.st.GetActivation(context.Background(), "guest", async.ActivationID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the aborted async activation was recorded: %v", err)
	}
	e.start(Config{ID: "inv1"})
	if rec := e.stored(async.ActivationID); rec.StatusCode != whisk.StatusSuccess {
		t.Errorf("redelivered async activation: %+v", rec.Response)
	}
	e.drained(js)
}

func TestInvokePrewarmed(t *testing.T) {
	e := newEnv(t)
	inv, _ := e.start(Config{Prewarm: []PrewarmConfig{{Kind: "nodejs", MemoryMB: 256, Count: 1}}})
	eventually(t, "a stem cell", func() bool { return inv.Stats().Prewarmed == 1 })
	a := e.action("pre", "nodejs", helloJS, whisk.Limits{Timeout: 10000, Memory: 256, Logs: 1})
	rec := e.invoke(inv, e.message(a, `{"name":"stem"}`)).Activation
	if rec.StatusCode != 0 || ann(rec, whisk.AnnStart) != `"prewarmed"` || ann(rec, whisk.AnnInitTime) == "" {
		t.Fatalf("record %d %s, start %s, initTime %s", rec.StatusCode, rec.Response.Result, ann(rec, whisk.AnnStart), ann(rec, whisk.AnnInitTime))
	}
	if len(rec.Logs) != 2 {
		t.Errorf("logs = %q", rec.Logs)
	}
	// The stem cell is replaced.
	eventually(t, "a new stem cell", func() bool { return inv.Stats().Prewarmed == 1 })
	// Another memory size does not take it.
	b := e.action("pre512", "nodejs", helloJS, whisk.Limits{Timeout: 10000, Memory: 512, Logs: 1})
	if rec := e.invoke(inv, e.message(b, `{"name":"x"}`)).Activation; ann(rec, whisk.AnnStart) != `"cold"` {
		t.Errorf("512 MB start = %s, want cold", ann(rec, whisk.AnnStart))
	}
}

func TestRunNeedsJetStream(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	inv, err := New(Config{}, Deps{NATS: nc, Store: nopStore{}, Driver: &fakeDriver{}, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := inv.Run(ctx); err == nil || !strings.Contains(err.Error(), bus.AsyncStream) {
		t.Errorf("Run without JetStream: %v, want an error about the async stream", err)
	}
	if err := inv.Run(ctx); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("second Run: %v, want ErrAlreadyRunning", err)
	}
}

// nopStore is a store for tests that never reach it.
type nopStore struct{}

func (nopStore) PutActivation(context.Context, *whisk.Activation) error { return nil }
func (nopStore) GetActivation(context.Context, string, string) (*whisk.Activation, error) {
	return nil, store.ErrNotFound
}
func (nopStore) ListActivations(context.Context, string, store.ActivationFilter) ([]*whisk.Activation, error) {
	return nil, nil
}
func (nopStore) CountActivations(context.Context, string, store.ActivationFilter) (int, error) {
	return 0, nil
}
func (nopStore) PutCode(context.Context, []byte) (string, error) { return "", nil }
func (nopStore) GetCode(context.Context, string) ([]byte, error) { return nil, store.ErrNotFound }
