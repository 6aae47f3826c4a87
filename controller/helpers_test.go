package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/whisk"
)

// startNATS runs a real nats-server with JetStream on a random port.
func startNATS(tb testing.TB) *server.Server {
	tb.Helper()
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: tb.TempDir(),
		NoLog: true, NoSigs: true, MaxPayload: 8 << 20,
	})
	if err != nil {
		tb.Fatalf("nats-server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		tb.Fatal("nats-server not ready")
	}
	tb.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

func connect(tb testing.TB, srv *server.Server) *nats.Conn {
	tb.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

func testLogger(tb testing.TB) *slog.Logger {
	if t, ok := tb.(*testing.T); ok {
		return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.DiscardHandler)
}

// testConfig is a Config for tests: invokers that beat once stay alive for
// the test, however slow the machine (see shortLived).
func testConfig() Config {
	return Config{ID: "test", Prefix: "t.", DeadAfter: time.Minute}
}

// shortLived is testConfig for tests of invokers dying.
func shortLived() Config {
	cfg := testConfig()
	cfg.DeadAfter = 400 * time.Millisecond
	return cfg
}

// startController runs a controller until the test ends.
func startController(tb testing.TB, srv *server.Server, cfg Config) *Controller {
	tb.Helper()
	return startControllerLocal(tb, srv, cfg, nil)
}

// startControllerLocal is startController with an in-process invoker.
func startControllerLocal(tb testing.TB, srv *server.Server, cfg Config, local LocalInvoker) *Controller {
	tb.Helper()
	c, _ := runController(tb, cfg, Deps{NATS: connect(tb, srv), Logger: testLogger(tb), Local: local})
	return c
}

// runController runs a controller until stop or the end of the test; stop
// waits for Run to return.
func runController(tb testing.TB, cfg Config, deps Deps) (c *Controller, stop func()) {
	tb.Helper()
	c, err := New(cfg, deps)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case <-c.Ready():
	case err := <-done:
		cancel()
		tb.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		tb.Fatal("controller not ready after 10s")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("Run: %v", err)
			}
		})
	}
	tb.Cleanup(stop)
	return c, stop
}

// fakeInvoker stands in for an invoker at the NATS seam: it answers
// activations on its invoke subject with a record whose Logs[0] is its id,
// and beats on demand or on a ticker.
type fakeInvoker struct {
	id   string
	nc   *nats.Conn
	subj bus.Subjects

	mu       sync.Mutex
	memoryMB int
	freeMB   int
	warm     []string
	delay    time.Duration
	ran      []string // activation ids, in arrival order

	wg      sync.WaitGroup // delayed replies and the beat loop
	stopHB  chan struct{}
	hbOnce  sync.Once
	deaf    bool
	closed  bool // under mu: the test is over, serve no more
	stopped chan struct{}
}

type fakeOpt func(*fakeInvoker)

func withMemory(mb int) fakeOpt         { return func(f *fakeInvoker) { f.memoryMB, f.freeMB = mb, mb } }
func withDelay(d time.Duration) fakeOpt { return func(f *fakeInvoker) { f.delay = d } }
func withWarm(keys ...string) fakeOpt   { return func(f *fakeInvoker) { f.warm = keys } }

// deaf leaves the invoke subject unsubscribed: it beats but cannot answer.
func deaf() fakeOpt { return func(f *fakeInvoker) { f.deaf = true } }

func newFake(tb testing.TB, srv *server.Server, prefix, id string, opts ...fakeOpt) *fakeInvoker {
	tb.Helper()
	f := &fakeInvoker{
		id: id, nc: connect(tb, srv), subj: bus.Subjects{Prefix: prefix},
		memoryMB: 2048, freeMB: 2048, stopHB: make(chan struct{}), stopped: make(chan struct{}),
	}
	for _, o := range opts {
		o(f)
	}
	if !f.deaf {
		if _, err := f.nc.Subscribe(f.subj.Invoke(id), f.serve); err != nil {
			tb.Fatalf("fake %s: %v", id, err)
		}
	}
	if err := f.nc.Flush(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		f.stopBeating()
		f.mu.Lock()
		f.closed = true
		f.mu.Unlock()
		close(f.stopped)
		f.wg.Wait()
	})
	return f
}

func (f *fakeInvoker) serve(m *nats.Msg) {
	var msg bus.ActivationMessage
	if err := json.Unmarshal(m.Data, &msg); err != nil {
		_ = m.Respond([]byte(`{"v":1,"error":"bad message"}`))
		return
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.ran = append(f.ran, msg.ActivationID)
	delay := f.delay
	if delay > 0 {
		f.wg.Add(1) // under mu: never concurrent with the cleanup's Wait
	}
	f.mu.Unlock()
	rec := &whisk.Activation{
		Namespace: msg.Namespace, Name: msg.Action.Name, ActivationID: msg.ActivationID,
		Response: whisk.NewResponse(whisk.StatusSuccess, json.RawMessage(`{"ok":true}`)),
		Logs:     []string{f.id},
	}
	b, _ := json.Marshal(bus.Result{V: bus.Version, Activation: rec})
	if delay == 0 {
		_ = m.Respond(b)
		return
	}
	go func() {
		defer f.wg.Done()
		select {
		case <-time.After(delay):
			_ = m.Respond(b)
		case <-f.stopped:
		}
	}()
}

// beat publishes one heartbeat and waits until the server has it.
func (f *fakeInvoker) beat(tb testing.TB) {
	tb.Helper()
	f.mu.Lock()
	hb := bus.Heartbeat{V: bus.Version, ID: f.id, MemoryMB: f.memoryMB, FreeMB: f.freeMB, Warm: f.warm, Sent: time.Now().UnixMilli()}
	f.mu.Unlock()
	b, _ := json.Marshal(hb)
	if err := f.nc.Publish(f.subj.Heartbeat(), b); err != nil {
		tb.Errorf("fake %s: heartbeat: %v", f.id, err)
	}
	if err := f.nc.Flush(); err != nil {
		tb.Errorf("fake %s: heartbeat: %v", f.id, err)
	}
}

// beatEvery beats on a ticker until stopBeating.
func (f *fakeInvoker) beatEvery(tb testing.TB, d time.Duration) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			f.beat(tb)
			select {
			case <-t.C:
			case <-f.stopHB:
				return
			}
		}
	}()
}

func (f *fakeInvoker) stopBeating() { f.hbOnce.Do(func() { close(f.stopHB) }) }

func (f *fakeInvoker) set(fn func(f *fakeInvoker)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

func (f *fakeInvoker) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ran)
}

// waitFor polls cond until it holds or the test's patience runs out.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// status returns the controller's view of one invoker.
func status(c *Controller, id string) (InvokerStatus, bool) {
	for _, s := range c.Invokers() {
		if s.ID == id {
			return s, true
		}
	}
	return InvokerStatus{}, false
}

// waitRegistered waits until c sees each fake up with its latest numbers.
func waitRegistered(tb testing.TB, c *Controller, fakes ...*fakeInvoker) {
	tb.Helper()
	for _, f := range fakes {
		f.mu.Lock()
		free, nwarm := f.freeMB, len(f.warm)
		f.mu.Unlock()
		waitFor(tb, "invoker "+f.id+" registered", func() bool {
			s, ok := status(c, f.id)
			return ok && s.State == StateUp && s.FreeMB == free && s.Warm == nwarm
		})
	}
}

// action builds an action with memory MB.
func action(name string, memory int) *whisk.Action {
	return &whisk.Action{
		Namespace: "guest", Name: name, Version: "0.0.1", Rev: "1",
		Exec:   whisk.Exec{Kind: "nodejs:20", Digest: "sha256:00"},
		Limits: whisk.Limits{Timeout: 1000, Memory: memory, Logs: 10, Concurrency: 1},
	}
}

var idSeq struct {
	sync.Mutex
	n int
}

func message(a *whisk.Action, blocking bool) *bus.ActivationMessage {
	idSeq.Lock()
	idSeq.n++
	id := fmt.Sprintf("act%029d", idSeq.n)
	idSeq.Unlock()
	return &bus.ActivationMessage{
		ActivationID: id, Namespace: "guest", Subject: "guest", Action: a,
		Args: json.RawMessage(`{"name":"gust"}`), Blocking: blocking,
	}
}

// ranOn invokes a blocking activation of a and returns the id of the
// invoker that ran it.
func ranOn(tb testing.TB, c *Controller, a *whisk.Action) string {
	tb.Helper()
	rec, err := c.Invoke(context.Background(), message(a, true), 5*time.Second)
	if err != nil {
		tb.Fatalf("Invoke %s: %v", a.Name, err)
	}
	if len(rec.Logs) != 1 {
		tb.Fatalf("Invoke %s: record logs %q, want the invoker id", a.Name, rec.Logs)
	}
	return rec.Logs[0]
}

// homeOf is the invoker that placement by hash gives a among c's invokers.
func homeOf(c *Controller, a *whisk.Action) string {
	s := c.reg.snap.Load()
	return s.invs[int(placementHash(a.Namespace, a.Name)%uint64(len(s.invs)))].id
}
