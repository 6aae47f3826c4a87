package linux

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gust-faas/gust/internal/goahead"
	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/runtimes"
	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/sandbox/internal/launch"
)

// Defaults.
const (
	defaultUIDBase      = 100000
	uidRange            = 65536
	defaultTmpMB        = 64
	defaultPidsMax      = 512
	defaultMemoryMB     = 256
	defaultShells       = 4
	defaultCgroupParent = "gust"
	defaultNetworkCIDR  = "10.200.0.0/16"
	socketName          = "rt.sock"
	maxSocketPath       = 107 // sun_path holds 108 bytes with the NUL
)

// Config configures a Driver. Only RunDir is required.
type Config struct {
	// RunDir holds one directory per sandbox: <RunDir>/<id>/sock/rt.sock
	// is the proxy's socket, <RunDir>/<id>/root the mount point of its
	// root. Created if missing.
	RunDir string
	// ProxyEntry is the re-exec entry point (internal/reexec) started as the
	// runtime proxy inside the sandbox; default "runtime"
	// (runtimes.ProxyEntry). Conformance tests set sandboxtest.StandInEntry.
	ProxyEntry string
	// SandboxBin is the gust-sandbox binary (cmd/gust-sandbox) that runs
	// the init and the proxy, which starts faster than this binary. Empty:
	// the one reexec.Sandbox finds (GUST_SANDBOX_BIN, else gust-sandbox next
	// to the running executable), if any. A binary that was not built with
	// this one, or lacks the init or ProxyEntry, is not used: New logs a
	// warning and the driver re-executes this binary, as it does without one.
	SandboxBin string
	// Env is added to the proxy's clean environment (PATH, HOME, LANG, the
	// socket and the kind).
	Env []string
	// CgroupParent is the cgroup, relative to each hierarchy's root, under
	// which sandboxes get theirs; default "gust/<a hash of RunDir>". It
	// belongs to this driver: New ends and removes whatever sandboxes a
	// previous driver with the same parent left there (killed with its
	// process, their sandboxes may have been frozen, which nothing else
	// would ever end).
	CgroupParent string
	// UIDBase is the first host uid and gid of the range mapped to 0..65535
	// in the sandbox's user namespace; default 100000. The proxy runs as
	// 65534, host uid UIDBase+65534.
	UIDBase int
	// TmpMB bounds the sandbox's /tmp (and /dev/shm); default 64, never more
	// than the sandbox's memory.
	TmpMB int
	// PidsMax bounds the number of tasks in a sandbox; default 512.
	PidsMax int
	// NetworkCIDR is the IPv4 range whose /30s link sandboxes with
	// Spec.Network to the host; default 10.200.0.0/16. Their traffic is
	// masqueraded (nftables: the nft command must be installed) and kept
	// off the host, 127/8, 169.254/16 and each other.
	NetworkCIDR string
	// DNS lists the name servers written to /etc/resolv.conf of sandboxes
	// with Spec.Network; default: the host's /etc/resolv.conf, bound
	// read-only (useless if it names a loopback address).
	DNS []string
	// Shells is how many sandboxes the driver keeps built ahead of need,
	// before their action is known (see shellPool); 0 means the default, 4,
	// and a negative number none. Networked shells, once a networked
	// sandbox was asked for, are min(Shells, 2) more.
	Shells int
	// Logger receives lifecycle events; default slog.Default().
	Logger *slog.Logger
}

// Driver runs each sandbox in new namespaces and cgroups.
type Driver struct {
	cfg Config
	log *slog.Logger
	bin *reexec.Binary // runs the init and the proxy; nil: this binary
	// launchers holds the prepared runtime launchers, "" when none.
	launchers string
	cg        *cgroupHost
	nets      *netPool
	sp        *spawner
	shells    *shellPool // without a network
	netShells *shellPool // with one (Spec.Network)

	closed atomic.Bool
}

var _ sandbox.Driver = (*Driver)(nil)

// New checks the host (Available), finds the cgroup hierarchies and the
// sandbox binary (SandboxBin), and makes the run directory and the parent
// cgroups.
func New(cfg Config) (*Driver, error) {
	if cfg.RunDir == "" {
		return nil, fmt.Errorf("%w: the linux driver has no RunDir", ErrBadSpec)
	}
	if cfg.ProxyEntry == "" {
		cfg.ProxyEntry = runtimes.ProxyEntry
	}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = defaultParent(cfg.RunDir)
	}
	if !filepath.IsLocal(cfg.CgroupParent) || filepath.Clean(cfg.CgroupParent) != cfg.CgroupParent {
		return nil, fmt.Errorf("%w: CgroupParent %q must be a clean relative path", ErrBadSpec, cfg.CgroupParent)
	}
	if cfg.UIDBase == 0 {
		cfg.UIDBase = defaultUIDBase
	}
	if cfg.UIDBase < 1 {
		return nil, fmt.Errorf("%w: UIDBase %d must be a positive host uid", ErrBadSpec, cfg.UIDBase)
	}
	if cfg.TmpMB <= 0 {
		cfg.TmpMB = defaultTmpMB
	}
	if cfg.PidsMax <= 0 {
		cfg.PidsMax = defaultPidsMax
	}
	if cfg.NetworkCIDR == "" {
		cfg.NetworkCIDR = defaultNetworkCIDR
	}
	if cfg.Shells == 0 {
		cfg.Shells = defaultShells
	}
	nets, err := newNetPool(cfg.NetworkCIDR)
	if err != nil {
		return nil, err
	}
	for _, ns := range cfg.DNS {
		if _, err := netip.ParseAddr(ns); err != nil {
			return nil, fmt.Errorf("%w: DNS server %q is not an IP address", ErrBadSpec, ns)
		}
	}
	if err := Available(); err != nil {
		return nil, err
	}
	cg, err := detectCgroups(cfg.CgroupParent)
	if err != nil {
		return nil, err
	}
	if err := cg.prepare(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.RunDir, 0o711); err != nil {
		return nil, fmt.Errorf("linux driver: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	d := &Driver{
		cfg: cfg, log: log.With("driver", "linux"), cg: cg, nets: nets,
		shells:    newShellPool("shell", false, cfg.Shells),
		netShells: newShellPool("netshell", true, min(cfg.Shells, maxNetShells)),
	}
	// The init binds its own binary into the sandbox and starts the proxy
	// from it: the sandbox binary must hold both.
	d.bin, err = reexec.Sandbox(cfg.SandboxBin, initEntry, spawnerEntry, cfg.ProxyEntry)
	if err != nil {
		d.log.Warn("not using the sandbox binary: sandboxes re-execute this binary, and start slower", "err", err)
	}
	// The spawner starts now, not on the first Create: a cold start should
	// not pay for it, and a driver that cannot start sandboxes should fail
	// here.
	d.sp = &spawner{bin: d.bin}
	if err := d.sp.ensure(); err != nil {
		return nil, err
	}
	if n := d.sweep(); n > 0 {
		d.log.Info("ended sandboxes a previous run left behind", "count", n, "cgroup_parent", cfg.CgroupParent)
	}
	d.launchers = launch.Launchers(cfg.RunDir, d.log) // after the sweep, which clears the run directory
	d.shells.refill(d)
	d.log.Debug("linux sandbox driver ready", "cgroup_version", cg.version(), "cgroup_parent", cfg.CgroupParent, "binary", d.binary())
	return d, nil
}

// defaultParent is the cgroup parent of a driver whose run directory is
// runDir: one per run directory, which one gust process uses at a time.
func defaultParent(runDir string) string {
	abs, err := filepath.Abs(runDir)
	if err != nil {
		abs = runDir
	}
	h := fnv.New64a()
	h.Write([]byte(abs))
	return fmt.Sprintf("%s/%012x", defaultCgroupParent, h.Sum64()>>16)
}

// sweep kills and removes the sandboxes a previous driver with this cgroup
// parent and run directory left (it died without destroying them), and
// returns how many there were. Frozen ones are thawed to let them die.
func (d *Driver) sweep() int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ids := d.cg.leftovers()
	for _, id := range ids {
		cg := d.cg.existing(id)
		if cg.pids != "" {
			cg.kill()
		}
		if cg.freezer != "" {
			_ = cg.thaw(ctx) // frozen tasks die only once thawed
		}
		if err := cg.remove(ctx); err != nil {
			d.log.Warn("cannot remove a sandbox a previous run left behind", "cgroup", id, "err", err)
		}
	}
	ents, _ := os.ReadDir(d.cfg.RunDir)
	for _, e := range ents { // sandboxes' directories, and the links to shells'
		if (e.IsDir() || e.Type()&fs.ModeSymlink != 0) && validID(e.Name()) == nil {
			_ = os.RemoveAll(filepath.Join(d.cfg.RunDir, e.Name()))
		}
	}
	return len(ids)
}

// Name implements sandbox.Driver.
func (d *Driver) Name() string { return "linux" }

// binary names the binary that runs the init and the proxy, for logs.
func (d *Driver) binary() string {
	if d.bin == nil {
		return "self"
	}
	return d.bin.Path()
}

// Close releases what the driver set up for all its sandboxes: the parent
// cgroups (if no sandbox is left in them) and the nftables table of
// sandboxes with network. Call it after destroying every sandbox; calling
// it again retries what was still in use.
func (d *Driver) Close() error {
	d.closed.Store(true)
	d.shells.close()
	d.netShells.close()
	d.sp.close()
	d.cg.cleanup()
	return d.nets.close()
}

// Create takes a shell (see shellPool) when one fits the spec; otherwise it
// makes the sandbox's directories and cgroups and starts its init, which
// builds the sandbox's root file system and, once in its cgroups, starts
// the proxy, which waits: Start only has to send the go-ahead. Building
// costs the clone, the init's exec, the mounts and the first cgroup attach
// (7-11 ms on v1 after an idle spell).
func (d *Driver) Create(ctx context.Context, spec sandbox.Spec) (_ sandbox.Sandbox, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d.closed.Load() {
		return nil, ErrClosed
	}
	if err := validID(spec.ID); err != nil {
		return nil, err
	}
	if spec.MemoryMB < 0 {
		return nil, fmt.Errorf("%w: memory %d MB", ErrBadSpec, spec.MemoryMB)
	}
	memMB := spec.MemoryMB
	if memMB == 0 {
		memMB = defaultMemoryMB
	}
	if p := d.shellsFor(spec, memMB); p != nil {
		s, err := d.takeShell(p, spec, memMB)
		if err != nil {
			return nil, err
		}
		if s != nil {
			return s, nil
		}
	}
	return d.create(ctx, spec, memMB)
}

// create builds a sandbox for spec: Create's work when no shell fits.
func (d *Driver) create(ctx context.Context, spec sandbox.Spec, memMB int) (_ *Sandbox, err error) {
	dir := filepath.Join(d.cfg.RunDir, spec.ID)
	sockDir := filepath.Join(dir, "sock")
	sock := filepath.Join(sockDir, socketName)
	if len(sock) > maxSocketPath {
		return nil, fmt.Errorf("%w: socket path %s is longer than %d bytes; use a shorter RunDir", ErrBadSpec, sock, maxSocketPath)
	}
	if err := os.Mkdir(dir, 0o711); err != nil {
		return nil, fmt.Errorf("linux sandbox %s: %w", spec.ID, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if err := os.Mkdir(filepath.Join(dir, "root"), 0o755); err != nil {
		return nil, fmt.Errorf("linux sandbox %s: %w", spec.ID, err)
	}
	if err := os.Mkdir(sockDir, 0o700); err != nil {
		return nil, fmt.Errorf("linux sandbox %s: %w", spec.ID, err)
	}
	var link *sandboxNet
	if spec.Network {
		if err := d.nets.egress(); err != nil {
			return nil, fmt.Errorf("linux sandbox %s: %w", spec.ID, err)
		}
		if link, err = d.nets.alloc(); err != nil {
			return nil, fmt.Errorf("linux sandbox %s: %w", spec.ID, err)
		}
		defer func() {
			if err != nil {
				d.nets.free(link)
			}
		}()
	}
	hostUID := d.cfg.UIDBase + sandboxUID
	if err := os.Chown(sockDir, hostUID, hostUID); err != nil {
		return nil, fmt.Errorf("linux sandbox %s: %w", spec.ID, err)
	}
	cg, err := d.cg.create(spec.ID, memMB, d.cfg.PidsMax)
	if err != nil {
		return nil, fmt.Errorf("linux sandbox %s: cgroups: %w", spec.ID, err)
	}
	s := &Sandbox{
		d: d, spec: spec, dir: dir, sock: sock, cg: cg, net: link,
		done: make(chan struct{}),
	}
	s.memMB.Store(int32(memMB))
	if err := s.launch(ctx); err != nil {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if rerr := cg.remove(rctx); rerr != nil {
			err = fmt.Errorf("%w; and %w", err, rerr)
		}
		return nil, fmt.Errorf("linux sandbox %s: %w", spec.ID, err)
	}
	return s, nil
}

// validID checks that id can name a directory and a cgroup.
func validID(id string) error {
	if err := launch.CheckID(id); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSpec, err)
	}
	return nil
}

// Sandbox states, in order.
const (
	stateCreated int32 = iota
	stateRunning       // Start was called; the proxy may not be ready yet
	stateStopped
	stateDestroyed
)

// Sandbox is one sandbox: its init process, cgroups and directory.
type Sandbox struct {
	d     *Driver
	spec  sandbox.Spec
	memMB atomic.Int32 // a shell's changes when it is taken
	dir   string       // <RunDir>/<id>, or a shell's directory
	link  string       // <RunDir>/<id>, a link to dir, when built as a shell
	sock  string       // host path of the proxy's socket
	cg    *cgroup
	net   *sandboxNet // nil without Spec.Network

	state atomic.Int32 // read without mu on the Connect path

	mu     sync.Mutex // guards the fields below and state transitions
	pidfd  *os.File   // the init's, pollable: signals never reach a recycled pid
	syncW  *os.File   // the init's go-ahead, then its lifeline; nil once closed
	status *os.File   // the init's reports
	exited bool       // the init has exited: never signal it again
	paused bool
	reason string // why the sandbox died, once it has

	done   chan struct{}  // closed by the owner goroutine, wait
	copies sync.WaitGroup // output copied to a Spec writer that is not a file
}

var (
	_ sandbox.Sandbox      = (*Sandbox)(nil)
	_ sandbox.Pauser       = (*Sandbox)(nil)
	_ sandbox.ExitReporter = (*Sandbox)(nil)
)

// ID implements sandbox.Sandbox.
func (s *Sandbox) ID() string { return s.spec.ID }

// Done implements sandbox.Sandbox.
func (s *Sandbox) Done() <-chan struct{} { return s.done }

// SocketPath is the host path of the proxy's unix socket.
func (s *Sandbox) SocketPath() string { return s.sock }

// Start lets the init drop its privileges and start the proxy, then waits
// until the proxy's socket accepts a connection. On failure the sandbox is
// stopped; Destroy still releases it.
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
	s.state.Store(stateRunning)
	syncW := s.syncW
	s.mu.Unlock()

	// The socket stays open after the go-ahead: it is the init's lifeline,
	// closed by Stop, or by the kernel when this process dies, however it
	// dies. The init then exits, and the kernel kills the whole sandbox.
	// (Pdeathsig alone cannot do it: the init's credential changes clear it.)
	err := ctx.Err()
	if err == nil {
		err = s.goAhead(syncW)
	}
	if err == nil {
		err = s.expect(ctx, msgStarted)
	}
	if err == nil {
		err = launch.WaitSocket(ctx, s.sock, s.done)
	}
	if err != nil {
		_ = s.Stop(context.Background()) // bounded: the init is SIGKILLed
		if r := s.ExitReason(); r != "" {
			err = fmt.Errorf("%w (%s)", err, r)
		}
		return fmt.Errorf("sandbox %s: %w: %w", s.spec.ID, sandbox.ErrStartFailed, err)
	}
	return nil
}

// launch starts the init in its namespaces and cgroups and waits until it
// has built the sandbox. On failure nothing is left running.
func (s *Sandbox) launch(ctx context.Context) (err error) {
	cfg := initConfig{
		Entry:     s.d.cfg.ProxyEntry,
		TmpMB:     min(s.d.cfg.TmpMB, int(s.memMB.Load())),
		Hostname:  "sandbox",
		Network:   s.spec.Network,
		Root:      filepath.Join(s.dir, "root"),
		SockDir:   filepath.Join(s.dir, "sock"),
		Launchers: s.d.launchers,
		DNS:       s.d.cfg.DNS,
	}
	if s.net != nil {
		cfg.Addr, cfg.Gateway = s.net.addr.String(), s.net.gateway.String()
	}
	arg, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	syncR, syncW, err := seqpacketPair("init-lifeline", "init-go-ahead")
	if err != nil {
		return fmt.Errorf("the init's go-ahead socket: %w", err)
	}
	defer syncR.Close()
	status, statusW, err := os.Pipe()
	if err != nil {
		syncW.Close()
		return err
	}
	defer statusW.Close()

	env := []string{reexec.Env(initEntry), envInitConfig + "=" + string(arg)}
	var cgdir *os.File
	if s.d.cg.version() == 2 {
		if cgdir, err = s.cg.openDir(); err != nil {
			syncW.Close()
			status.Close()
			return err
		}
		defer cgdir.Close()
	}
	pid, exited, err := s.spawn(ctx, env, syncR, statusW, cgdir)
	if err != nil {
		syncW.Close()
		status.Close()
		return err
	}
	s.mu.Lock()
	s.syncW, s.status = syncW, status
	s.mu.Unlock()
	go s.wait(exited)
	err = s.placed(pid)
	if err == nil {
		_, err = syncW.Write([]byte(msgPlaced))
	}
	if err == nil {
		err = s.expect(ctx, msgReady)
	}
	if err != nil {
		s.Stop(context.Background()) // bounded: the init is SIGKILLed
		s.status.Close()
		s.pidfd.Close()
	}
	return err
}

// spawn has the driver's spawner start the init and returns its pid and
// the channel its exit status comes on. The init writes to /dev/null until
// the go-ahead gives it the sandbox's output.
func (s *Sandbox) spawn(ctx context.Context, env []string, syncR, statusW, cgdir *os.File) (int, <-chan spawnExit, error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, nil, err
	}
	defer null.Close()
	pid, pidfd, exited, err := s.d.sp.start(ctx, env, []*os.File{syncR, statusW, null, null}, s.d.cfg.UIDBase, cgdir)
	if err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	s.pidfd = pidfd
	s.mu.Unlock()
	return pid, exited, nil
}

// goAhead sends the init what starting the proxy takes: its environment,
// which names the action's kind, and the sandbox's stdout and stderr.
func (s *Sandbox) goAhead(syncW *os.File) error {
	env := append([]string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/tmp",
		"TMPDIR=/tmp",
		"LANG=C.UTF-8",
		runtimes.EnvSocket + "=" + sockDirInside + "/" + socketName,
		runtimes.EnvKind + "=" + s.spec.Kind,
		fmt.Sprintf("%s=%d", runtimes.EnvAdopt, adoptFD),
		reexec.Env(s.d.cfg.ProxyEntry),
	}, s.d.cfg.Env...)
	if s.d.launchers != "" {
		env = append(env, runtimes.EnvLaunchers+"="+launchersInside)
	}
	stdout, err := s.outputFile(s.spec.Stdout)
	if err != nil {
		return err
	}
	defer s.closeOutput(stdout, s.spec.Stdout)
	stderr, err := s.outputFile(s.spec.Stderr)
	if err != nil {
		return err
	}
	defer s.closeOutput(stderr, s.spec.Stderr)
	// The files are blocking from now on, as os/exec leaves them.
	return goahead.Send(int(syncW.Fd()), goahead.Message{Env: env}, int(stdout.Fd()), int(stderr.Fd()))
}

// placed puts a started init into its v1 cgroups and its network.
func (s *Sandbox) placed(pid int) error {
	if s.d.cg.version() == 1 {
		if err := s.cg.attach(pid); err != nil {
			return err
		}
	}
	if s.net != nil {
		return s.net.hostSide(pid)
	}
	return nil
}

// expect reads the init's next report, until ctx ends, and fails unless
// it is want.
func (s *Sandbox) expect(ctx context.Context, want string) error {
	if dl, ok := ctx.Deadline(); ok {
		s.status.SetReadDeadline(dl)
	} else {
		s.status.SetReadDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { s.status.SetReadDeadline(time.Now()) })
	defer stop()
	// Reports are short lines written at once: one read gets a whole one.
	var buf [1024]byte
	n, err := s.status.Read(buf[:])
	msg := string(buf[:n])
	switch {
	case msg == want:
		return nil
	case strings.HasPrefix(msg, msgError):
		return errors.New("sandbox init: " + strings.TrimSpace(msg[len(msgError):]))
	case n > 0:
		return fmt.Errorf("sandbox init: unexpected report %q", msg)
	case errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil:
		return ctx.Err()
	case err == io.EOF:
		return errors.New("the sandbox init exited")
	default:
		return fmt.Errorf("reading the sandbox init's report: %w", err)
	}
}

// wait is the owner goroutine of the init process: it sees the init end
// through its pidfd, then takes its status from the spawner, which reaps it
// (a spawner that died reports nothing: the status is then unknown).
func (s *Sandbox) wait(exited <-chan spawnExit) {
	var ex spawnExit
	if rc, err := s.pidfd.SyscallConn(); err == nil {
		_ = rc.Read(func(fd uintptr) bool {
			n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
			return n > 0
		})
	}
	select {
	case ex = <-exited:
	case <-time.After(time.Second):
	}
	copied := make(chan struct{})
	go func() { s.copies.Wait(); close(copied) }()
	select {
	case <-copied:
	case <-time.After(time.Second): // a child outlived the init with the pipe open
	}
	reason := s.exitReason(ex)
	s.mu.Lock()
	s.exited = true
	stopped := s.state.Load() >= stateStopped
	s.reason = reason
	id := s.spec.ID // a shell's changes when it is taken
	s.mu.Unlock()
	if stopped {
		s.d.log.Debug("sandbox stopped", "sandbox", id)
	} else {
		s.d.log.Debug("sandbox exited on its own", "sandbox", id, "reason", reason)
	}
	close(s.done)
}

// kill sends the init SIGKILL through its pidfd.
func (s *Sandbox) kill() {
	if rc, err := s.pidfd.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _ = unix.PidfdSendSignal(int(fd), unix.SIGKILL, nil, 0) })
	}
}

// outputFile is the file the init writes w's output to: w itself, /dev/null
// for nil, else a pipe copied to w (as os/exec does).
func (s *Sandbox) outputFile(w io.Writer) (*os.File, error) {
	switch w := w.(type) {
	case nil:
		return os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	case *os.File:
		return w, nil
	}
	r, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.copies.Add(1)
	go func() {
		defer s.copies.Done()
		_, _ = io.Copy(w, r)
		r.Close()
	}()
	return pw, nil
}

// closeOutput closes an outputFile that is not w itself, once the init has
// its copy.
func (s *Sandbox) closeOutput(f *os.File, w io.Writer) {
	if wf, ok := w.(*os.File); !ok || wf != f {
		f.Close()
	}
}

// exitReason says why the init ended.
func (s *Sandbox) exitReason(ex spawnExit) string {
	if s.cg.oomKills() > 0 {
		return s.oomReason()
	}
	if !ex.known {
		return "the sandbox ended (its status is unknown: the sandbox spawner is gone)"
	}
	ws := ex.status
	switch {
	case ws.Signaled():
		return "the sandbox was killed by signal " + ws.Signal().String()
	case ws.ExitStatus() > 128 && ws.ExitStatus() < 128+65:
		return "the runtime was killed by signal " + syscall.Signal(ws.ExitStatus()-128).String()
	case ws.ExitStatus() == 125:
		return "the sandbox init failed"
	}
	return fmt.Sprintf("the runtime exited with status %d", ws.ExitStatus())
}

func (s *Sandbox) oomReason() string {
	return fmt.Sprintf("the action exceeded its memory limit of %d MB", s.memMB.Load())
}

// ExitReason implements sandbox.ExitReporter. While the sandbox lives it
// reports an OOM kill of any of its processes; once it has died, why.
func (s *Sandbox) ExitReason() string {
	s.mu.Lock()
	reason, live := s.reason, s.state.Load() < stateDestroyed
	s.mu.Unlock()
	if reason == "" && live && s.cg.oomKills() > 0 {
		return s.oomReason()
	}
	return reason
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

// Pause freezes every process of the sandbox and returns once the kernel
// reports them frozen.
func (s *Sandbox) Pause(ctx context.Context) error { return s.setPaused(ctx, true) }

// Resume thaws a paused sandbox.
func (s *Sandbox) Resume(ctx context.Context) error { return s.setPaused(ctx, false) }

func (s *Sandbox) setPaused(ctx context.Context, pause bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state.Load() {
	case stateRunning:
	case stateCreated:
		return fmt.Errorf("sandbox %s: %w", s.spec.ID, sandbox.ErrNotStarted)
	default:
		return fmt.Errorf("sandbox %s: %w", s.spec.ID, sandbox.ErrStopped)
	}
	if s.paused == pause {
		return nil
	}
	var err error
	if pause {
		err = s.cg.freeze(ctx)
	} else {
		err = s.cg.thaw(ctx)
	}
	if err != nil {
		if pause { // do not leave it half frozen
			_ = s.cg.thaw(context.Background())
		}
		return fmt.Errorf("sandbox %s: %w", s.spec.ID, err)
	}
	s.paused = pause
	return nil
}

// Stop kills the init, which takes the whole pid namespace with it, and
// everything in the cgroups; it waits until the init is reaped or ctx
// ends. It is idempotent.
func (s *Sandbox) Stop(ctx context.Context) error {
	s.mu.Lock()
	if st := s.state.Load(); st == stateCreated || st == stateRunning {
		s.state.Store(stateStopped)
		if !s.exited {
			s.kill() // through a pidfd: never a recycled pid
		}
		s.cg.kill()
		if s.paused { // frozen tasks die only once thawed
			_ = s.cg.thaw(ctx)
			s.paused = false
		}
		if s.syncW != nil {
			s.syncW.Close()
			s.syncW = nil
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

// Destroy stops the sandbox, removes its cgroups and its directory. It is
// idempotent.
func (s *Sandbox) Destroy(ctx context.Context) error {
	if err := s.Stop(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Load() == stateDestroyed {
		return nil
	}
	if s.reason == "" && s.cg.oomKills() > 0 {
		s.reason = s.oomReason()
	}
	if err := s.cg.remove(ctx); err != nil {
		return fmt.Errorf("sandbox %s: %w", s.spec.ID, err)
	}
	if s.net != nil {
		s.net.remove()
		s.d.nets.free(s.net)
		s.net = nil
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("sandbox %s: %w", s.spec.ID, err)
	}
	if s.link != "" {
		os.Remove(s.link)
	}
	s.status.Close()
	s.pidfd.Close()
	s.state.Store(stateDestroyed)
	return nil
}
