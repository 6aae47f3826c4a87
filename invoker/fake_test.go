package invoker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/gust-faas/gust/runtimes"
	"github.com/gust-faas/gust/sandbox"
)

// fakeDriver is a sandbox.Driver for pool logic tests: its sandboxes run
// nothing; the test kills them (die) and reads what the pool did to them.
type fakeDriver struct {
	pausable bool
	startErr error

	mu      sync.Mutex
	created []*fakeSandbox
}

func (d *fakeDriver) Name() string { return "fake" }

func (d *fakeDriver) Create(ctx context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
	fs := &fakeSandbox{spec: spec, done: make(chan struct{}), startErr: d.startErr}
	d.mu.Lock()
	d.created = append(d.created, fs)
	d.mu.Unlock()
	if d.pausable {
		return &fakePausable{fs}, nil
	}
	return fs, nil
}

func (d *fakeDriver) sandboxes() []*fakeSandbox {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*fakeSandbox(nil), d.created...)
}

// live counts sandboxes created and not destroyed.
func (d *fakeDriver) live() int {
	n := 0
	for _, s := range d.sandboxes() {
		if !s.destroyed.Load() {
			n++
		}
	}
	return n
}

type fakeSandbox struct {
	spec     sandbox.Spec
	startErr error
	done     chan struct{}
	once     sync.Once

	destroyed atomic.Bool
	paused    atomic.Bool
	pauses    atomic.Int32
	resumes   atomic.Int32
}

func (s *fakeSandbox) ID() string                      { return s.spec.ID }
func (s *fakeSandbox) Start(ctx context.Context) error { return s.startErr }
func (s *fakeSandbox) Connect(ctx context.Context) (net.Conn, error) {
	return nil, errors.New("fake sandbox: no runtime")
}
func (s *fakeSandbox) Stop(ctx context.Context) error { s.die(); return nil }
func (s *fakeSandbox) Destroy(ctx context.Context) error {
	s.die()
	s.destroyed.Store(true)
	return nil
}
func (s *fakeSandbox) Done() <-chan struct{} { return s.done }

// die simulates the sandbox's processes exiting.
func (s *fakeSandbox) die() { s.once.Do(func() { close(s.done) }) }

type fakePausable struct{ *fakeSandbox }

func (s *fakePausable) Pause(ctx context.Context) error {
	s.pauses.Add(1)
	s.paused.Store(true)
	return nil
}

func (s *fakePausable) Resume(ctx context.Context) error {
	s.resumes.Add(1)
	s.paused.Store(false)
	return nil
}

// nopClient stands in for the runtime client in pool tests.
type nopClient struct{}

func (nopClient) init(context.Context, *runtimes.InitRequest) (bool, error) { return true, nil }
func (nopClient) run(context.Context, *runtimes.RunRequest) (runOutcome, error) {
	return runOutcome{}, nil
}
func (nopClient) close() {}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
