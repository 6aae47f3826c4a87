package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/whisk"
)

// fakeLocal stands in for an invoker of the controller's process at the
// LocalInvoker seam. Its heartbeats come from a deaf fakeInvoker of the same
// id, so the controller can reach it only by the direct call.
type fakeLocal struct {
	id string

	mu     sync.Mutex
	delay  time.Duration
	refuse error // InvokeLocal returns no record and this
	fail   error // InvokeLocal returns a record and this
	ran    []string
	done   int
	wg     sync.WaitGroup
	closed bool
}

func newFakeLocal(tb testing.TB, id string) *fakeLocal {
	l := &fakeLocal{id: id}
	tb.Cleanup(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		l.wg.Wait()
	})
	return l
}

func (l *fakeLocal) ID() string { return l.id }

func (l *fakeLocal) InvokeLocal(ctx context.Context, msg *bus.ActivationMessage) (*whisk.Activation, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("test over")
	}
	l.wg.Add(1)
	defer l.wg.Done()
	delay, refuse, fail := l.delay, l.refuse, l.fail
	if refuse == nil {
		l.ran = append(l.ran, msg.ActivationID)
	}
	l.mu.Unlock()
	if refuse != nil {
		return nil, refuse
	}
	time.Sleep(delay) // an activation runs on whatever ctx does
	l.mu.Lock()
	l.done++
	l.mu.Unlock()
	return &whisk.Activation{
		Namespace: msg.Namespace, Name: msg.Action.Name, ActivationID: msg.ActivationID,
		Response: whisk.NewResponse(whisk.StatusSuccess, json.RawMessage(`{"ok":true}`)),
		Logs:     []string{l.id},
	}, fail
}

func (l *fakeLocal) set(fn func(l *fakeLocal)) {
	l.mu.Lock()
	fn(l)
	l.mu.Unlock()
}

func (l *fakeLocal) counts() (ran, done int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ran), l.done
}

// localSetup runs a controller whose process holds the invoker "local"
// (beating, deaf on NATS) next to the remote fake invoker "remote".
func localSetup(t *testing.T, cfg Config) (*Controller, *fakeLocal, *fakeInvoker, *fakeInvoker) {
	srv := startNATS(t)
	l := newFakeLocal(t, "local")
	c := startControllerLocal(t, srv, cfg, l)
	beats := newFake(t, srv, "t.", "local", deaf())
	remote := newFake(t, srv, "t.", "remote")
	beats.beat(t)
	remote.beat(t)
	waitRegistered(t, c, beats, remote)
	return c, l, beats, remote
}

// actionHomedOn finds an action whose placement home is id.
func actionHomedOn(t *testing.T, c *Controller, id string, memory int) *whisk.Action {
	t.Helper()
	for i := range 1000 {
		a := action(fmt.Sprintf("%s-%d", id, i), memory)
		if homeOf(c, a) == id {
			return a
		}
	}
	t.Fatalf("no action homed on %s", id)
	return nil
}

func TestLocalInvokerWhenPicked(t *testing.T) {
	t.Parallel()
	c, l, _, remote := localSetup(t, testConfig())

	msg := message(actionHomedOn(t, c, "local", 256), true)
	rec, err := c.Invoke(context.Background(), msg, 5*time.Second)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if rec.ActivationID != msg.ActivationID || len(rec.Logs) != 1 || rec.Logs[0] != "local" {
		t.Errorf("record %s logs %q, want %s from local", rec.ActivationID, rec.Logs, msg.ActivationID)
	}
	if ran, _ := l.counts(); ran != 1 || remote.count() != 0 {
		t.Errorf("local ran %d, remote %d; want 1, 0", ran, remote.count())
	}
	if s, _ := status(c, "local"); s.InFlightMB != 0 {
		t.Errorf("in flight after the call = %d MB, want 0", s.InFlightMB)
	}

	// Placed on the other invoker: over NATS, the local one untouched.
	rec, err = c.Invoke(context.Background(), message(actionHomedOn(t, c, "remote", 256), true), 5*time.Second)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if rec.Logs[0] != "remote" || remote.count() != 1 {
		t.Errorf("ran on %q (remote count %d), want remote", rec.Logs, remote.count())
	}
	if ran, _ := l.counts(); ran != 1 {
		t.Errorf("local ran %d, want still 1", ran)
	}
}

func TestLocalInvokerWaitElapsed(t *testing.T) {
	t.Parallel()
	c, l, _, _ := localSetup(t, testConfig())
	l.set(func(l *fakeLocal) { l.delay = 300 * time.Millisecond })

	_, err := c.Invoke(context.Background(), message(actionHomedOn(t, c, "local", 256), true), 50*time.Millisecond)
	if !errors.Is(err, ErrStillRunning) {
		t.Fatalf("err = %v, want ErrStillRunning", err)
	}
	// It still runs: its memory stays booked until it ends.
	if s, _ := status(c, "local"); s.InFlightMB != 256 {
		t.Errorf("in flight after the wait = %d MB, want 256", s.InFlightMB)
	}
	if _, done := l.counts(); done != 0 {
		t.Errorf("done = %d before its time", done)
	}
	waitFor(t, "the activation to end and release its memory", func() bool {
		s, _ := status(c, "local")
		_, done := l.counts()
		return s.InFlightMB == 0 && done == 1
	})
}

func TestLocalInvokerContextCanceled(t *testing.T) {
	t.Parallel()
	c, l, _, _ := localSetup(t, testConfig())
	l.set(func(l *fakeLocal) { l.delay = 200 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()

	_, err := c.Invoke(ctx, message(actionHomedOn(t, c, "local", 256), true), 5*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's", err)
	}
	waitFor(t, "the activation to end and release its memory", func() bool {
		s, _ := status(c, "local")
		_, done := l.counts()
		return s.InFlightMB == 0 && done == 1
	})
}

func TestLocalInvokerErrors(t *testing.T) {
	t.Parallel()
	t.Run("failure with a record", func(t *testing.T) {
		t.Parallel()
		c, l, _, _ := localSetup(t, testConfig())
		l.set(func(l *fakeLocal) { l.fail = errors.New("sandbox failure") })
		rec, err := c.Invoke(context.Background(), message(actionHomedOn(t, c, "local", 256), true), 5*time.Second)
		if err != nil || rec == nil || rec.Logs[0] != "local" {
			t.Fatalf("Invoke = %v, %v; want local's record (the failure is in it)", rec, err)
		}
	})
	t.Run("refused goes elsewhere", func(t *testing.T) {
		t.Parallel()
		c, l, _, remote := localSetup(t, testConfig())
		l.set(func(l *fakeLocal) { l.refuse = errors.New("invoker is shutting down") })
		rec, err := c.Invoke(context.Background(), message(actionHomedOn(t, c, "local", 256), true), 5*time.Second)
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		if rec.Logs[0] != "remote" || remote.count() != 1 {
			t.Errorf("ran on %q, want remote", rec.Logs)
		}
		s, _ := status(c, "local")
		if s.State == StateUp || s.InFlightMB != 0 {
			t.Errorf("local after refusing: %s, %d MB in flight; want down, 0", s.State, s.InFlightMB)
		}
	})
	t.Run("refused and no other", func(t *testing.T) {
		t.Parallel()
		srv := startNATS(t)
		l := newFakeLocal(t, "local")
		l.set(func(l *fakeLocal) { l.refuse = errors.New("invoker is shutting down") })
		c := startControllerLocal(t, srv, testConfig(), l)
		beats := newFake(t, srv, "t.", "local", deaf())
		beats.beat(t)
		waitRegistered(t, c, beats)
		_, err := c.Invoke(context.Background(), message(action("x", 256), true), 5*time.Second)
		if !errors.Is(err, ErrNoInvokers) {
			t.Fatalf("err = %v, want ErrNoInvokers", err)
		}
	})
}

func TestNewRejectsBadLocalID(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	if _, err := New(testConfig(), Deps{NATS: connect(t, srv), Local: &fakeLocal{id: "a b"}}); err == nil {
		t.Fatal("New accepted a local invoker id with a space")
	}
}
