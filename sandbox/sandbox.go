package sandbox

import (
	"context"
	"errors"
	"io"
	"net"
)

// Sentinel errors.
var (
	ErrNotStarted  = errors.New("sandbox not started")
	ErrStopped     = errors.New("sandbox stopped")
	ErrStartFailed = errors.New("sandbox failed to start")
	ErrUnsupported = errors.New("not supported by this driver")
)

// Spec describes one sandbox.
type Spec struct {
	// ID is unique among live sandboxes of a driver; it names directories
	// and cgroups.
	ID string
	// Kind is the canonical runtime kind (whisk.KindNode, ...).
	Kind string
	// MemoryMB is the memory limit; drivers that can enforce it do.
	MemoryMB int
	// Network opts in to outbound network access. Without it the sandbox
	// has no network at all.
	Network bool
	// Stdout and Stderr receive the runtime's output, where log sentinels
	// mark the end of each activation. Passing *os.File avoids a copy.
	Stdout, Stderr io.Writer
}

// Driver creates sandboxes.
type Driver interface {
	// Name is the driver's name as the --sandbox flag spells it.
	Name() string
	// Create prepares a sandbox (directories, cgroups) without starting it.
	Create(ctx context.Context, spec Spec) (Sandbox, error)
}

// Sandbox is one isolated runtime.
type Sandbox interface {
	ID() string
	// Start launches the runtime proxy and returns when it accepts
	// connections, or with ErrStartFailed wrapping the reason.
	Start(ctx context.Context) error
	// Connect opens a new connection to the runtime proxy.
	Connect(ctx context.Context) (net.Conn, error)
	// Stop kills every process in the sandbox.
	Stop(ctx context.Context) error
	// Destroy stops the sandbox and releases all it holds.
	Destroy(ctx context.Context) error
	// Done is closed when the sandbox's processes have exited.
	Done() <-chan struct{}
}

// Pauser is implemented by sandboxes that can freeze and thaw their
// processes (the cgroup freezer). A paused sandbox uses no CPU.
type Pauser interface {
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
}

// ExitReporter is implemented by sandboxes that can say why they died,
// e.g. "the action exceeded its memory limit" after an OOM kill.
type ExitReporter interface {
	ExitReason() string
}
