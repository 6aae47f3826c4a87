package process

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/runtimes"
	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/sandbox/internal/launch"
)

// SocketName is the name of the proxy's socket in a sandbox's directory.
const SocketName = "rt.sock"

// maxSocketPath is the longest path a unix socket address can hold
// (sun_path is 108 bytes with the terminating NUL).
const maxSocketPath = 107

// Config configures a Driver.
type Config struct {
	// RunDir holds one directory per sandbox (<RunDir>/<id>/rt.sock). It is
	// created if missing. Required.
	RunDir string
	// ProxyEntry is the re-exec entry point (internal/reexec) started as the
	// runtime proxy; default "runtime" (runtimes.ProxyEntry). Conformance
	// tests set sandboxtest.StandInEntry.
	ProxyEntry string
	// SandboxBin is the gust-sandbox binary (cmd/gust-sandbox) that runs
	// the proxy, which starts faster than this binary. Empty: the one
	// reexec.Sandbox finds (GUST_SANDBOX_BIN, else gust-sandbox next to the
	// running executable), if any. A binary that was not built with this
	// one, or lacks ProxyEntry, is not used: New logs a warning and the
	// driver re-executes this binary, as it does without one.
	SandboxBin string
	// Command, if set, builds the command to run instead of re-executing
	// ProxyEntry. The driver still adds the environment (to cmd.Env, or to a
	// clean one when cmd.Env is nil), the process group and the output.
	Command func(spec sandbox.Spec) *exec.Cmd
	// Env is added to the proxy's clean environment (PATH, HOME, LANG, the
	// socket and the kind).
	Env []string
	// Logger receives lifecycle events at debug level; default slog.Default().
	Logger *slog.Logger
}

// Driver starts runtime proxies as plain child processes.
type Driver struct {
	cfg Config
	log *slog.Logger
	bin *reexec.Binary // runs the proxy; nil: this binary
	// launchers holds the prepared runtime launchers, "" when none.
	launchers string
}

var _ sandbox.Driver = (*Driver)(nil)

// New returns a driver, with the sandbox binary it found (SandboxBin).
// Configuration errors (an empty RunDir) surface in Create.
func New(cfg Config) *Driver {
	if cfg.ProxyEntry == "" {
		cfg.ProxyEntry = runtimes.ProxyEntry
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	d := &Driver{cfg: cfg, log: log.With("driver", "process")}
	var err error
	d.bin, err = reexec.Sandbox(cfg.SandboxBin, cfg.ProxyEntry)
	if err != nil {
		d.log.Warn("not using the sandbox binary: sandboxes re-execute this binary, and start slower", "err", err)
	} else if d.bin != nil {
		d.log.Debug("process sandboxes run the sandbox binary", "binary", d.bin.Path())
	}
	if cfg.RunDir != "" {
		d.launchers = launch.Launchers(cfg.RunDir, d.log)
	}
	return d
}

// Name implements sandbox.Driver.
func (d *Driver) Name() string { return "process" }

// Create makes the sandbox's directory. The process starts in Start.
func (d *Driver) Create(ctx context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d.cfg.RunDir == "" {
		return nil, fmt.Errorf("%w: the process driver has no RunDir", ErrBadSpec)
	}
	if err := ValidID(spec.ID); err != nil {
		return nil, err
	}
	dir := filepath.Join(d.cfg.RunDir, spec.ID)
	sock := filepath.Join(dir, SocketName)
	if len(sock) > maxSocketPath {
		return nil, fmt.Errorf("%w: socket path %s is longer than %d bytes; use a shorter RunDir", ErrBadSpec, sock, maxSocketPath)
	}
	if err := os.MkdirAll(d.cfg.RunDir, 0o711); err != nil {
		return nil, fmt.Errorf("process sandbox %s: %w", spec.ID, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("process sandbox %s: %w", spec.ID, err)
	}
	return &Sandbox{d: d, spec: spec, dir: dir, sock: sock, done: make(chan struct{})}, nil
}

// ValidID checks that id can name a directory and a cgroup: 1 to 64 of
// [A-Za-z0-9_.-], not "." or "..".
func ValidID(id string) error {
	if err := launch.CheckID(id); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSpec, err)
	}
	return nil
}

// Sandbox states, in order.
const (
	stateCreated int32 = iota
	stateRunning       // Start was called; the process may not be ready yet
	stateStopped
	stateDestroyed
)

// Sandbox is one runtime proxy process and its directory.
type Sandbox struct {
	d    *Driver
	spec sandbox.Spec
	dir  string
	sock string

	state atomic.Int32 // read without mu on the Connect path

	mu     sync.Mutex // guards the fields below and state transitions
	pid    int        // the process group; 0 before Start
	exited bool       // the group leader has exited: never signal pid again
	reason string     // why the process exited, once it has

	done chan struct{} // closed by the owner goroutine (or Stop before Start)
}

var (
	_ sandbox.Sandbox      = (*Sandbox)(nil)
	_ sandbox.ExitReporter = (*Sandbox)(nil)
)

// ID implements sandbox.Sandbox.
func (s *Sandbox) ID() string { return s.spec.ID }

// Done implements sandbox.Sandbox.
func (s *Sandbox) Done() <-chan struct{} { return s.done }

// SocketPath is the host path of the proxy's unix socket.
func (s *Sandbox) SocketPath() string { return s.sock }

// Start launches the proxy and waits until its socket accepts a connection.
// On failure the sandbox is stopped; Destroy still releases it.
func (s *Sandbox) Start(ctx context.Context) error {
	s.mu.Lock()
	switch s.state.Load() {
	case stateRunning:
		s.mu.Unlock()
		return fmt.Errorf("sandbox %s: %w", s.spec.ID, ErrAlreadyStarted)
	case stateStopped, stateDestroyed:
		s.mu.Unlock()
		return fmt.Errorf("sandbox %s: %w", s.spec.ID, sandbox.ErrStopped)
	}
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("sandbox %s: %w: %w", s.spec.ID, sandbox.ErrStartFailed, err)
	}
	cmd := s.command()
	if err := cmd.Start(); err != nil {
		s.state.Store(stateStopped)
		s.reason = "the runtime could not be started: " + err.Error()
		close(s.done)
		s.mu.Unlock()
		return fmt.Errorf("sandbox %s: %w: %w", s.spec.ID, sandbox.ErrStartFailed, err)
	}
	s.pid = cmd.Process.Pid
	s.state.Store(stateRunning)
	s.mu.Unlock()
	go s.wait(cmd)

	if err := launch.WaitSocket(ctx, s.sock, s.done); err != nil {
		_ = s.Stop(context.Background()) // bounded: the process is SIGKILLed
		if r := s.ExitReason(); r != "" {
			err = fmt.Errorf("%w (%s)", err, r)
		}
		return fmt.Errorf("sandbox %s: %w: %w", s.spec.ID, sandbox.ErrStartFailed, err)
	}
	s.d.log.Debug("sandbox started", "sandbox", s.spec.ID, "pid", s.pid)
	return nil
}

// command builds the proxy's command line, environment and process attributes.
func (s *Sandbox) command() *exec.Cmd {
	var cmd *exec.Cmd
	if s.d.cfg.Command != nil {
		cmd = s.d.cfg.Command(s.spec)
	}
	if cmd == nil {
		cmd = s.d.bin.Command(s.d.cfg.ProxyEntry)
		cmd.Env = []string{reexec.Env(s.d.cfg.ProxyEntry)}
	}
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Env = append(cmd.Env,
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME="+s.dir,
		// The runtime's work files go in the sandbox's directory, which
		// Destroy removes even when the proxy was killed.
		"TMPDIR="+s.dir,
		"LANG=C.UTF-8",
		runtimes.EnvSocket+"="+s.sock,
		runtimes.EnvKind+"="+s.spec.Kind,
	)
	if s.d.launchers != "" {
		cmd.Env = append(cmd.Env, runtimes.EnvLaunchers+"="+s.d.launchers)
	}
	cmd.Env = append(cmd.Env, s.d.cfg.Env...)
	cmd.Dir = s.dir
	cmd.Stdout = s.spec.Stdout
	cmd.Stderr = s.spec.Stderr
	// A straggler that left the process group may hold a copied stdout
	// open; do not let it keep the owner goroutine waiting.
	cmd.WaitDelay = time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// wait is the owner goroutine of the process: it learns of the leader's exit
// without reaping it (so its pid still names the group), kills what is left
// of the group, then reaps and closes done.
func (s *Sandbox) wait(cmd *exec.Cmd) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, s.pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	s.mu.Lock()
	_ = syscall.Kill(-s.pid, syscall.SIGKILL) // the leader is a zombie: the group is still ours
	s.exited = true
	s.mu.Unlock()

	err := cmd.Wait()
	reason := exitReason(cmd.ProcessState, err)
	s.mu.Lock()
	stopped := s.state.Load() >= stateStopped
	s.reason = reason
	s.mu.Unlock()
	if stopped {
		s.d.log.Debug("sandbox stopped", "sandbox", s.spec.ID)
	} else {
		s.d.log.Debug("sandbox exited on its own", "sandbox", s.spec.ID, "reason", reason)
	}
	close(s.done)
}

func exitReason(ps *os.ProcessState, err error) string {
	if ps == nil {
		if err != nil {
			return "the runtime failed: " + err.Error()
		}
		return ""
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "the runtime was killed by signal " + ws.Signal().String()
	}
	return fmt.Sprintf("the runtime exited with status %d", ps.ExitCode())
}

// ExitReason implements sandbox.ExitReporter: why the process exited, or ""
// while it runs.
func (s *Sandbox) ExitReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// Connect opens a connection to the proxy's socket.
func (s *Sandbox) Connect(ctx context.Context) (net.Conn, error) {
	switch s.state.Load() {
	case stateRunning:
	case stateCreated:
		return nil, fmt.Errorf("sandbox %s: %w", s.spec.ID, sandbox.ErrNotStarted)
	default:
		return nil, fmt.Errorf("sandbox %s: %w", s.spec.ID, sandbox.ErrStopped)
	}
	var d net.Dialer
	return d.DialContext(ctx, "unix", s.sock)
}

// Stop kills the process group and waits until the process is reaped or
// ctx ends. It is idempotent.
func (s *Sandbox) Stop(ctx context.Context) error {
	s.mu.Lock()
	switch s.state.Load() {
	case stateCreated:
		s.state.Store(stateStopped)
		close(s.done)
	case stateRunning:
		s.state.Store(stateStopped)
		if !s.exited {
			_ = syscall.Kill(-s.pid, syscall.SIGKILL)
		}
	}
	s.mu.Unlock()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sandbox %s: stop: %w", s.spec.ID, ctx.Err())
	}
}

// Destroy stops the sandbox and removes its directory. It is idempotent.
func (s *Sandbox) Destroy(ctx context.Context) error {
	if err := s.Stop(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Load() == stateDestroyed {
		return nil
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("sandbox %s: %w", s.spec.ID, err)
	}
	s.state.Store(stateDestroyed)
	return nil
}
