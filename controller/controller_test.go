package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/whisk"
)

func TestInvokeBlockingRoundTrip(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	c := startController(t, srv, testConfig())
	f := newFake(t, srv, "t.", "node-0.example.com", withMemory(1024), withWarm("guest/other@7"))
	f.beat(t)
	waitRegistered(t, c, f)

	a := action("hello", 256)
	msg := message(a, true)
	rec, err := c.Invoke(context.Background(), msg, 5*time.Second)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if rec.ActivationID != msg.ActivationID || rec.Name != "hello" || !rec.Response.Success {
		t.Errorf("record = %+v, want a successful record of %s for hello", rec, msg.ActivationID)
	}
	if msg.V != bus.Version || msg.Received == 0 {
		t.Errorf("message V=%d Received=%d, want them stamped", msg.V, msg.Received)
	}
	s, _ := status(c, f.id)
	want := InvokerStatus{ID: f.id, State: StateUp, MemoryMB: 1024, FreeMB: 1024, InFlightMB: 0, Warm: 1}
	s.LastSeen = time.Time{}
	if s != want {
		t.Errorf("status = %+v, want %+v", s, want)
	}
	if n := c.mux.pending(); n != 0 {
		t.Errorf("pending calls = %d after the reply, want 0", n)
	}
}

func TestBadHeartbeatsAreIgnored(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	c := startController(t, srv, testConfig())
	nc := connect(t, srv)
	for _, b := range []string{`nope`, `{"v":1,"id":"","memoryMB":1}`, `{"v":1,"id":"a*","memoryMB":1}`, `{"v":1,"id":"a b"}`, `{"v":1,"id":"x.","memoryMB":1}`} {
		if err := nc.Publish("t.heartbeat", []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil { // the server has them before good's
		t.Fatal(err)
	}
	good := newFake(t, srv, "t.", "good")
	good.beat(t)
	waitRegistered(t, c, good)
	if got := c.Invokers(); len(got) != 1 || got[0].ID != "good" {
		t.Errorf("Invokers = %+v, want only good", got)
	}
}

func TestWarmAffinity(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	c := startController(t, srv, testConfig())
	fakes := []*fakeInvoker{
		newFake(t, srv, "t.", "inv0"), newFake(t, srv, "t.", "inv1"), newFake(t, srv, "t.", "inv2"),
	}
	byID := map[string]*fakeInvoker{}
	for _, f := range fakes {
		f.beat(t)
		byID[f.id] = f
	}
	waitRegistered(t, c, fakes...)

	t.Run("remembered placement beats home", func(t *testing.T) {
		a := action("remembered", 256)
		home := byID[homeOf(c, a)]
		// Home is busy with others' work: the first placement probes on.
		home.set(func(f *fakeInvoker) { f.freeMB = 0 })
		home.beat(t)
		waitRegistered(t, c, home)
		first := ranOn(t, c, a)
		if first == home.id {
			t.Fatalf("placed on full home %s", home.id)
		}
		// Home has room again, but the sandbox is warm on first.
		home.set(func(f *fakeInvoker) { f.freeMB = f.memoryMB })
		home.beat(t)
		waitRegistered(t, c, home)
		for i := range 5 {
			if got := ranOn(t, c, a); got != first {
				t.Fatalf("invocation %d ran on %s, want %s where it is warm", i+2, got, first)
			}
		}
	})

	t.Run("advertised warm sandbox beats home", func(t *testing.T) {
		a := action("advertised", 256)
		home := homeOf(c, a)
		var warm *fakeInvoker
		for _, f := range fakes {
			if f.id != home {
				warm = f
				break
			}
		}
		warm.set(func(f *fakeInvoker) { f.warm = []string{bus.WarmKey(a)} })
		warm.beat(t)
		waitRegistered(t, c, warm)
		if got := ranOn(t, c, a); got != warm.id {
			t.Errorf("ran on %s, want %s which advertises it warm (home %s)", got, warm.id, home)
		}
		// Another revision is not warm there: it goes home.
		b := *a
		b.Rev = "2"
		if got := ranOn(t, c, &b); got != home {
			t.Errorf("new revision ran on %s, want home %s", got, home)
		}
	})
}

func TestWarmInvokerWithoutCapacity(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	c := startController(t, srv, testConfig())
	a := action("busy", 256)
	small := newFake(t, srv, "t.", "small", withMemory(256), withDelay(300*time.Millisecond), withWarm(bus.WarmKey(a)))
	big := newFake(t, srv, "t.", "big", withMemory(2048))
	small.beat(t)
	big.beat(t)
	waitRegistered(t, c, small, big)

	first := make(chan string, 1)
	go func() {
		rec, err := c.Invoke(context.Background(), message(a, true), 5*time.Second)
		if err != nil {
			t.Errorf("first Invoke: %v", err)
			first <- ""
			return
		}
		first <- rec.Logs[0]
	}()
	waitFor(t, "the first activation to reach small", func() bool { return small.count() == 1 })
	if s, _ := status(c, "small"); s.InFlightMB != 256 {
		t.Errorf("small in flight = %d MB, want 256", s.InFlightMB)
	}
	if got := ranOn(t, c, a); got != "big" {
		t.Errorf("second ran on %s, want big: small is warm but full", got)
	}
	if got := <-first; got != "small" {
		t.Errorf("first ran on %s, want small, which advertised it warm", got)
	}
	waitFor(t, "small's memory released", func() bool { s, _ := status(c, "small"); return s.InFlightMB == 0 })
}

func TestHomeSpread(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	c1 := startController(t, srv, testConfig())
	cfg2 := testConfig()
	cfg2.ID = "test2"
	c2 := startController(t, srv, cfg2)
	var fakes []*fakeInvoker
	for i := range 3 {
		f := newFake(t, srv, "t.", fmt.Sprintf("inv%d", i))
		f.beat(t)
		fakes = append(fakes, f)
	}
	waitRegistered(t, c1, fakes...)
	waitRegistered(t, c2, fakes...)

	const actions = 300
	placed := map[string]string{}
	for i := range actions {
		a := action(fmt.Sprintf("action-%d", i), 256)
		placed[a.Name] = ranOn(t, c1, a)
	}
	for _, f := range fakes {
		// 100 expected each; a fair hash stays well inside 60..140.
		if n := f.count(); n < 60 || n > 140 {
			t.Errorf("%s ran %d of %d actions, want about a third", f.id, n, actions)
		}
	}
	// Another controller, with no memory of these placements, agrees.
	for i := range actions {
		a := action(fmt.Sprintf("action-%d", i), 256)
		if got, want := ranOn(t, c2, a), placed[a.Name]; got != want {
			t.Errorf("%s: controller 2 placed it on %s, controller 1 on %s", a.Name, got, want)
		}
	}
}

func TestDeadInvokerGetsNoWork(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	cfg := shortLived()
	c := startController(t, srv, cfg)
	quiet := newFake(t, srv, "t.", "quiet")
	alive := newFake(t, srv, "t.", "alive")
	quiet.beatEvery(t, 50*time.Millisecond)
	alive.beatEvery(t, 50*time.Millisecond)
	waitRegistered(t, c, quiet, alive)

	quiet.stopBeating() // still subscribed: it would answer if chosen
	time.Sleep(cfg.DeadAfter + 100*time.Millisecond)
	if s, _ := status(c, "quiet"); s.State != StateDown {
		t.Errorf("quiet state = %q, want %q", s.State, StateDown)
	}
	before := quiet.count()
	for i := range 30 {
		if got := ranOn(t, c, action(fmt.Sprintf("dead-%d", i), 256)); got != "alive" {
			t.Fatalf("action %d ran on %s, want alive", i, got)
		}
	}
	if quiet.count() != before {
		t.Errorf("the silent invoker got %d activations", quiet.count()-before)
	}

	// Beating again brings it back into placement.
	quiet.beat(t)
	waitRegistered(t, c, quiet)
	var back bool
	for i := range 30 {
		if ranOn(t, c, action(fmt.Sprintf("back-%d", i), 256)) == "quiet" {
			back = true
		}
	}
	if !back {
		t.Error("quiet got no work after it beat again")
	}
}

func TestNoInvokers(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	c := startController(t, srv, shortLived())
	_, err := c.Invoke(context.Background(), message(action("lonely", 256), true), time.Second)
	if !errors.Is(err, ErrNoInvokers) {
		t.Fatalf("Invoke with no invokers: err = %v, want ErrNoInvokers", err)
	}

	// An invoker that beat once and died also leaves none.
	f := newFake(t, srv, "t.", "once")
	f.beat(t)
	waitRegistered(t, c, f)
	waitFor(t, "the invoker to die", func() bool { s, _ := status(c, "once"); return s.State == StateDown })
	if _, err = c.Invoke(context.Background(), message(action("lonely", 256), true), time.Second); !errors.Is(err, ErrNoInvokers) {
		t.Fatalf("Invoke with a dead invoker: err = %v, want ErrNoInvokers", err)
	}
	if f.count() != 0 {
		t.Errorf("the dead invoker ran %d activations", f.count())
	}
}

func TestNonBlockingIsDurableAndDeduplicated(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	c := startController(t, srv, testConfig()) // no invoker anywhere
	ctx := context.Background()

	a := action("later", 256)
	m1, m2 := message(a, false), message(a, false)
	for _, m := range []*bus.ActivationMessage{m1, m1, m2, m1} {
		rec, err := c.Invoke(ctx, m, time.Second)
		if rec != nil || err != nil {
			t.Fatalf("non-blocking Invoke(%s) = %v, %v; want nil, nil", m.ActivationID, rec, err)
		}
	}

	js, err := jetstream.New(connect(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, bus.AsyncStream)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Errorf("stream holds %d messages, want 2 (duplicates by activation id stored once)", info.State.Msgs)
	}
	cfg := info.Config
	if cfg.Retention != jetstream.WorkQueuePolicy || cfg.Storage != jetstream.FileStorage || cfg.MaxAge != DefaultAsyncMaxAge ||
		cfg.Duplicates != DefaultAsyncDuplicates || len(cfg.Subjects) != 1 || cfg.Subjects[0] != "t.async" {
		t.Errorf("stream config = %+v, want a file work queue on t.async with max age %v", cfg, DefaultAsyncMaxAge)
	}

	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "check", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		var msg bus.ActivationMessage
		if err := json.Unmarshal(m.Data(), &msg); err != nil {
			t.Fatalf("stored message: %v", err)
		}
		if msg.Blocking || msg.V != bus.Version || msg.Action == nil || msg.Action.Name != "later" {
			t.Errorf("stored message = %+v", msg)
		}
		got = append(got, msg.ActivationID)
		if err := m.Ack(); err != nil {
			t.Error(err)
		}
	}
	if len(got) != 2 || got[0] != m1.ActivationID || got[1] != m2.ActivationID {
		t.Errorf("stored ids = %v, want [%s %s]", got, m1.ActivationID, m2.ActivationID)
	}
}

func TestWaitElapsed(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	c := startController(t, srv, testConfig())
	f := newFake(t, srv, "t.", "slow", withDelay(300*time.Millisecond))
	f.beat(t)
	waitRegistered(t, c, f)

	_, err := c.Invoke(context.Background(), message(action("slow", 256), true), 50*time.Millisecond)
	if !errors.Is(err, ErrStillRunning) {
		t.Fatalf("err = %v, want ErrStillRunning", err)
	}
	// The invoker still runs it: its memory stays booked until the late reply.
	if s, _ := status(c, "slow"); s.InFlightMB != 256 {
		t.Errorf("in flight after the wait = %d MB, want 256", s.InFlightMB)
	}
	waitFor(t, "the late reply to release the memory", func() bool {
		s, _ := status(c, "slow")
		return s.InFlightMB == 0 && c.mux.pending() == 0
	})
}

func TestAbandonedCallExpires(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	cfg := shortLived() // sweeps every DeadAfter/3
	cfg.LateReplyGrace = 50 * time.Millisecond
	c := startController(t, srv, cfg)
	f := newFake(t, srv, "t.", "mute", withDelay(time.Hour)) // never answers in time
	f.beat(t)
	waitRegistered(t, c, f)
	a := action("forever", 256)
	a.Limits.Timeout = whisk.MinTimeout

	_, err := c.Invoke(context.Background(), message(a, true), 20*time.Millisecond)
	if !errors.Is(err, ErrStillRunning) {
		t.Fatalf("err = %v, want ErrStillRunning", err)
	}
	waitFor(t, "the abandoned call to expire", func() bool {
		s, _ := status(c, "mute")
		return s.InFlightMB == 0 && c.mux.pending() == 0
	})
}

func TestContextCanceled(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	c := startController(t, srv, testConfig())
	f := newFake(t, srv, "t.", "slow", withDelay(200*time.Millisecond))
	f.beat(t)
	waitRegistered(t, c, f)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.Invoke(ctx, message(action("slow", 256), true), 5*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's error", err)
	}
	waitFor(t, "the late reply to release the memory", func() bool { s, _ := status(c, "slow"); return s.InFlightMB == 0 })
}

func TestNoRespondersRetriesElsewhere(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	c := startController(t, srv, testConfig())
	a := action("ghosted", 256)
	// The ghost beats and looks warm, but its invoke subscription is gone.
	ghost := newFake(t, srv, "t.", "ghost", deaf(), withWarm(bus.WarmKey(a)))
	live := newFake(t, srv, "t.", "live")
	ghost.beat(t)
	live.beat(t)
	waitRegistered(t, c, ghost, live)

	if got := ranOn(t, c, a); got != "live" {
		t.Errorf("ran on %s, want live", got)
	}
	if s, _ := status(c, "ghost"); s.State != StateDown || s.InFlightMB != 0 {
		t.Errorf("ghost = %+v, want down with nothing in flight", s)
	}
	ghost.beat(t)
	waitFor(t, "the ghost's next heartbeat", func() bool { s, _ := status(c, "ghost"); return s.State == StateUp })

	// With only the ghost alive, the activation has nowhere to go.
	c2cfg := testConfig()
	c2cfg.ID = "solo"
	c2 := startController(t, srv, c2cfg)
	ghost.beat(t)
	waitRegistered(t, c2, ghost)
	if _, err := c2.Invoke(context.Background(), message(action("x", 256), true), time.Second); !errors.Is(err, ErrNoInvokers) {
		// live beat only before c2 started, so c2 knows the ghost alone.
		t.Errorf("err = %v, want ErrNoInvokers", err)
	}
}

func TestOverload(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		factor  float64
		wantErr error
	}{
		{"force-placed by default", 0, nil},
		{"refused past the overload factor", 0.5, ErrOverloaded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startNATS(t)
			cfg := testConfig()
			cfg.OverloadFactor = tc.factor
			c := startController(t, srv, cfg)
			f := newFake(t, srv, "t.", "tiny", withMemory(256), withDelay(200*time.Millisecond))
			f.beat(t)
			waitRegistered(t, c, f)
			a := action("crowd", 256)

			first := make(chan error, 1)
			go func() {
				_, err := c.Invoke(context.Background(), message(a, true), 5*time.Second)
				first <- err
			}()
			waitFor(t, "the first activation to arrive", func() bool { return f.count() == 1 })
			_, err := c.Invoke(context.Background(), message(a, true), 5*time.Second)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("second Invoke: err = %v, want %v", err, tc.wantErr)
			}
			if err := <-first; err != nil {
				t.Errorf("first Invoke: %v", err)
			}
		})
	}
}

func TestInvokerErrorReply(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	c := startController(t, srv, testConfig())
	beater := newFake(t, srv, "t.", "odd", deaf())
	nc := connect(t, srv)
	var reply atomic.Pointer[[]byte]
	sub, err := nc.Subscribe("t.invoke.odd", func(m *nats.Msg) { _ = m.Respond(*reply.Load()) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	beater.beat(t)
	waitRegistered(t, c, beater)

	internal := &whisk.Activation{ActivationID: "x", Response: whisk.NewResponse(whisk.StatusInternalError, whisk.ErrorResult("no sandbox"))}
	withRecord, _ := json.Marshal(bus.Result{V: 1, Activation: internal, Error: "no sandbox"})
	for _, tc := range []struct {
		name    string
		reply   string
		wantRec bool
	}{
		{"error with record", string(withRecord), true},
		{"error without record", `{"v":1,"error":"boom"}`, false},
		{"empty result", `{"v":1}`, false},
		{"not json", `nope`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(tc.reply)
			reply.Store(&b)
			rec, err := c.Invoke(context.Background(), message(action("odd", 256), true), 5*time.Second)
			if tc.wantRec {
				if err != nil || rec == nil || rec.Response.StatusCode != whisk.StatusInternalError {
					t.Errorf("Invoke = %+v, %v; want the internal-error record", rec, err)
				}
				return
			}
			if err == nil || rec != nil {
				t.Errorf("Invoke = %+v, %v; want an error", rec, err)
			}
			if errors.Is(err, ErrStillRunning) || errors.Is(err, ErrNoInvokers) {
				t.Errorf("err = %v, want a plain error", err)
			}
		})
	}
}

func TestStopWhileWaiting(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	c, err := New(testConfig(), Deps{NATS: connect(t, srv), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Invoke(context.Background(), message(action("early", 256), false), time.Second); !errors.Is(err, ErrNoInvokers) {
		t.Errorf("Invoke before Run: err = %v, want ErrNoInvokers", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case <-c.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	f := newFake(t, srv, "t.", "slow", withDelay(time.Hour))
	f.beat(t)
	waitRegistered(t, c, f)

	waiting := make(chan error, 1)
	go func() {
		_, err := c.Invoke(context.Background(), message(action("slow", 256), true), time.Minute)
		waiting <- err
	}()
	waitFor(t, "the activation to arrive", func() bool { return f.count() == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if err := <-waiting; !errors.Is(err, ErrStillRunning) {
		t.Errorf("waiting Invoke: err = %v, want ErrStillRunning", err)
	}
	if _, err := c.Invoke(context.Background(), message(action("late", 256), true), time.Second); !errors.Is(err, ErrNoInvokers) {
		t.Errorf("Invoke after stop: err = %v, want ErrNoInvokers", err)
	}
	if err := c.Run(context.Background()); err == nil {
		t.Error("second Run: want an error")
	}
}

func TestInvokeRejectsBadMessages(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	c := startController(t, srv, testConfig())
	noID := message(action("a", 256), true)
	noID.ActivationID = ""
	noAction := message(nil, true)
	for _, tc := range []struct {
		name string
		msg  *bus.ActivationMessage
		wait time.Duration
	}{
		{"nil message", nil, time.Second},
		{"no action", noAction, time.Second},
		{"no activation id", noID, time.Second},
		{"non-positive wait", message(action("a", 256), true), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := c.Invoke(context.Background(), tc.msg, tc.wait)
			if err == nil || rec != nil {
				t.Errorf("Invoke = %v, %v; want an error", rec, err)
			}
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	nc := connect(t, srv)
	for _, tc := range []struct {
		name string
		cfg  Config
		deps Deps
	}{
		{"no connection", Config{}, Deps{}},
		{"id with a space", Config{ID: "a b"}, Deps{NATS: nc}},
		{"id with an empty token", Config{ID: "a..b"}, Deps{NATS: nc}},
		{"wildcard id", Config{ID: "a*"}, Deps{NATS: nc}},
		{"prefix without dot", Config{Prefix: "gust"}, Deps{NATS: nc}},
		{"prefix with wildcard", Config{Prefix: "g.>."}, Deps{NATS: nc}},
		{"negative DeadAfter", Config{DeadAfter: -time.Second}, Deps{NATS: nc}},
		{"ForgetAfter < DeadAfter", Config{DeadAfter: time.Minute, ForgetAfter: time.Second}, Deps{NATS: nc}},
		{"negative OverloadFactor", Config{OverloadFactor: -1}, Deps{NATS: nc}},
		{"negative replicas", Config{AsyncReplicas: -1}, Deps{NATS: nc}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg, tc.deps); err == nil {
				t.Error("New: want an error")
			}
		})
	}
	c, err := New(Config{}, Deps{NATS: nc})
	if err != nil {
		t.Fatalf("New with defaults: %v", err)
	}
	if c.cfg.Prefix != bus.DefaultPrefix || c.cfg.DeadAfter != bus.DeadAfter || c.cfg.ID == "" {
		t.Errorf("defaults = %+v", c.cfg)
	}
}

func TestExistingStream(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		cfg    jetstream.StreamConfig
		wantOK bool
	}{
		{"compatible work queue", jetstream.StreamConfig{Name: bus.AsyncStream, Subjects: []string{"t.async"},
			Retention: jetstream.WorkQueuePolicy, Storage: jetstream.MemoryStorage}, true},
		{"not a work queue", jetstream.StreamConfig{Name: bus.AsyncStream, Subjects: []string{"t.async"},
			Retention: jetstream.LimitsPolicy}, false},
		{"other subject", jetstream.StreamConfig{Name: bus.AsyncStream, Subjects: []string{"elsewhere"},
			Retention: jetstream.WorkQueuePolicy}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startNATS(t)
			nc := connect(t, srv)
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := js.CreateStream(ctx, tc.cfg); err != nil {
				t.Fatal(err)
			}
			c, err := New(testConfig(), Deps{NATS: nc, JetStream: js, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- c.Run(runCtx) }()
			select {
			case <-c.Ready():
				if !tc.wantOK {
					t.Error("Run accepted an incompatible stream")
				}
				stop()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			case err := <-done:
				stop()
				if tc.wantOK || err == nil {
					t.Errorf("Run = %v, want ok=%v", err, tc.wantOK)
				}
			}
		})
	}
}

func TestRunWaitsForJetStream(t *testing.T) {
	t.Parallel()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	c, err := New(testConfig(), Deps{NATS: connect(t, srv)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case <-c.Ready():
		t.Fatal("ready without JetStream")
	case err := <-done:
		t.Fatalf("Run gave up: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := srv.EnableJetStream(&server.JetStreamConfig{StoreDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not ready 10s after JetStream came up")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
