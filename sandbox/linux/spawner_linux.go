package linux

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/internal/rights"
)

// The spawner starts the sandboxes' inits on the driver's behalf.
//
// An init starts in a new user namespace whose uid and gid maps its parent
// writes while it waits, so Go cannot start it with vfork and forks
// instead: a copy of the parent's page tables, and a copy-on-write fault
// for each page the parent writes afterwards. From gust, whose heap and
// store grow under load, that made a sandbox's creation cost 5.6-7.1 ms
// from a small process and 34 ms from one holding 500 MB. The spawner is a
// small process of the sandbox binary, started once with vfork (no new
// namespace), that forks the inits instead and reports their exits.
//
// The driver and the spawner speak over a SOCK_SEQPACKET socket, one JSON
// message a packet:
//
//	driver:  spawnRequest, with its files as SCM_RIGHTS
//	spawner: spawnReply{ID, Pid} with a pidfd of the init, or {ID, Err}
//	spawner: spawnReply{ID, Exited, Status} once the init is reaped
//
// An init's lifeline is still the driver's pipe (fdSync); the spawner holds
// no end of it, so its death does not end the sandboxes. Their exits are
// then seen through their pidfds, without a status.
const spawnerEntry = "sandbox-spawner"

// fdSpawner is the spawner's end of the socket.
const fdSpawner = 3

// spawnRequest asks for one init.
type spawnRequest struct {
	ID  uint64   `json:"id"`
	Env []string `json:"env"`
	// UIDBase is the host uid (and gid) that uid 0 of the sandbox's user
	// namespace maps to.
	UIDBase int `json:"uid_base"`
	// CgroupFD: the last file is the cgroup v2 directory to start it in.
	CgroupFD bool `json:"cgroup_fd,omitempty"`
}

// spawnReply answers a spawnRequest, then reports the init's end.
type spawnReply struct {
	ID     uint64 `json:"id"`
	Pid    int    `json:"pid,omitempty"`
	Err    string `json:"err,omitempty"`
	Exited bool   `json:"exited,omitempty"`
	Status int    `json:"status,omitempty"` // a syscall.WaitStatus
}

// The files of a request, in order; the cgroup directory follows them when
// CgroupFD is set.
const (
	spawnSync = iota
	spawnStatus
	spawnStdout
	spawnStderr
	spawnFiles
)

func init() {
	reexec.Register(spawnerEntry, spawnerMain)
}

// initAttr is how an init is started: its namespaces, its id maps, and
// the capabilities it keeps across the exec.
func initAttr(uidBase int) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID |
			unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: uidBase, Size: uidRange}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: uidBase, Size: uidRange}},
		GidMappingsEnableSetgroups: true,
		// No Credential: the init keeps host uid 0 (unmapped in the new
		// namespace) until it has opened the driver's directories. An
		// unmapped uid loses every capability at exec; these survive as
		// ambient capabilities.
		AmbientCaps: initCaps,
		Pdeathsig:   syscall.SIGKILL,
	}
}

// spawnerMain serves the driver until its end of the socket closes.
func spawnerMain() {
	// A terminal's ^C reaches the whole process group: the driver decides
	// when the sandboxes end, not the signal. Caught, not ignored: an
	// ignored signal would stay ignored in the inits and everything they
	// start.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	f := os.NewFile(fdSpawner, "spawner")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox spawner:", err)
		os.Exit(125)
	}
	conn := c.(*net.UnixConn)
	var wmu sync.Mutex
	reply := func(r spawnReply, fds ...int) {
		b, _ := json.Marshal(r)
		var oob []byte
		if len(fds) > 0 {
			oob = unix.UnixRights(fds...)
		}
		wmu.Lock()
		_, _, _ = conn.WriteMsgUnix(b, oob, nil)
		wmu.Unlock()
	}
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(8*4))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			os.Exit(0) // the driver is gone; its inits end with their lifelines
		}
		var req spawnRequest
		err = json.Unmarshal(buf[:n], &req)
		files, ferr := receivedFiles(oob[:oobn])
		if err == nil {
			err = ferr
		}
		if err == nil && len(files) != spawnFiles+boolInt(req.CgroupFD) {
			err = fmt.Errorf("%d files, want %d", len(files), spawnFiles+boolInt(req.CgroupFD))
		}
		if err != nil {
			closeAll(files)
			reply(spawnReply{ID: req.ID, Err: err.Error()})
			continue
		}
		go spawn(req, files, reply) // a start takes a fork and an exec: others need not wait
	}
}

// spawn starts one init and reaps it on a goroutine of its own.
func spawn(req spawnRequest, files []*os.File, reply func(spawnReply, ...int)) {
	defer closeAll(files)
	cmd := reexec.Command(initEntry)
	cmd.Env = req.Env
	cmd.ExtraFiles = []*os.File{files[spawnSync], files[spawnStatus]} // fdSync, fdStatus
	cmd.Stdout, cmd.Stderr = files[spawnStdout], files[spawnStderr]
	cmd.SysProcAttr = initAttr(req.UIDBase)
	if req.CgroupFD {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(files[spawnFiles].Fd())
	}
	if err := cmd.Start(); err != nil {
		reply(spawnReply{ID: req.ID, Err: err.Error()})
		return
	}
	// Non-blocking, so that the driver's poller can wait on it.
	pidfd, err := unix.PidfdOpen(cmd.Process.Pid, unix.PIDFD_NONBLOCK)
	if err == unix.EINVAL { // before Linux 5.10
		if pidfd, err = unix.PidfdOpen(cmd.Process.Pid, 0); err == nil {
			if err = unix.SetNonblock(pidfd, true); err != nil {
				unix.Close(pidfd)
			}
		}
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		reply(spawnReply{ID: req.ID, Err: "pidfd_open: " + err.Error()})
		return
	}
	reply(spawnReply{ID: req.ID, Pid: cmd.Process.Pid}, pidfd)
	unix.Close(pidfd)
	go func() {
		_ = cmd.Wait()
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		reply(spawnReply{ID: req.ID, Exited: true, Status: int(ws)})
	}()
}

// receivedFiles turns the descriptors of a message into files.
func receivedFiles(oob []byte) ([]*os.File, error) {
	fds, err := rights.Parse(oob)
	files := make([]*os.File, 0, len(fds))
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		files = append(files, os.NewFile(uintptr(fd), "received"))
	}
	return files, err
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// spawner is the driver's side: it starts the spawner process on first use
// and again if it died, and routes its replies.
type spawner struct {
	bin *reexec.Binary

	readers sync.WaitGroup // one per spawner process: read, which reaps it

	mu     sync.Mutex    // guards the fields below
	conn   *net.UnixConn // to the live spawner process; nil before one starts and after it is gone
	nextID uint64
	calls  map[uint64]*spawnCall
}

// spawnCall is one init's: its start's answer, then its exit.
type spawnCall struct {
	conn    *net.UnixConn     // of the spawner process asked
	started chan spawnStarted // cap 1
	exited  chan spawnExit    // cap 1
}

type spawnStarted struct {
	pid   int
	pidfd *os.File
	err   error
}

// spawnExit is an init's end: its wait status, if the spawner reported one.
type spawnExit struct {
	status syscall.WaitStatus
	known  bool
}

// start asks for an init with env, files and uidBase (and cgdir on cgroup
// v2), and returns its pid, a pidfd of it and the channel its exit comes
// on.
func (sp *spawner) start(ctx context.Context, env []string, files []*os.File, uidBase int, cgdir *os.File) (int, *os.File, <-chan spawnExit, error) {
	sp.mu.Lock()
	if err := sp.ensureLocked(); err != nil {
		sp.mu.Unlock()
		return 0, nil, nil, err
	}
	sp.nextID++
	id := sp.nextID
	conn := sp.conn
	call := &spawnCall{conn: conn, started: make(chan spawnStarted, 1), exited: make(chan spawnExit, 1)}
	sp.calls[id] = call
	sp.mu.Unlock()

	req := spawnRequest{ID: id, Env: env, UIDBase: uidBase, CgroupFD: cgdir != nil}
	fds := make([]int, 0, len(files)+1)
	for _, f := range files {
		fds = append(fds, int(f.Fd())) // blocking from now on, as os/exec leaves them
	}
	if cgdir != nil {
		fds = append(fds, int(cgdir.Fd()))
	}
	b, err := json.Marshal(req)
	if err == nil {
		_, _, err = conn.WriteMsgUnix(b, unix.UnixRights(fds...), nil)
	}
	if err != nil {
		sp.forget(id)
		return 0, nil, nil, fmt.Errorf("sandbox spawner: %w", err)
	}
	var st spawnStarted
	select {
	case st = <-call.started:
	case <-ctx.Done():
		// An init started after all ends with its lifeline, which the
		// caller closes on this error.
		sp.forget(id)
		return 0, nil, nil, ctx.Err()
	}
	if st.err != nil {
		sp.forget(id)
		return 0, nil, nil, st.err
	}
	return st.pid, st.pidfd, call.exited, nil
}

// forget drops a call that will hear nothing more.
func (sp *spawner) forget(id uint64) {
	sp.mu.Lock()
	delete(sp.calls, id)
	sp.mu.Unlock()
}

// ensure starts the spawner process if there is none alive.
func (sp *spawner) ensure() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.ensureLocked()
}

// ensureLocked is ensure with sp.mu held.
func (sp *spawner) ensureLocked() error {
	if sp.conn != nil {
		return nil
	}
	ours, theirs, err := seqpacketPair("spawner", "spawner")
	if err != nil {
		return fmt.Errorf("sandbox spawner: %w", err)
	}
	defer theirs.Close()
	cmd := sp.bin.Command(spawnerEntry)
	cmd.Env = []string{reexec.Env(spawnerEntry)}
	cmd.ExtraFiles = []*os.File{theirs} // fdSpawner
	cmd.Stderr = os.Stderr
	// No Pdeathsig: it follows the thread that started the child, not the
	// process. The spawner ends when its socket does, as gust's process
	// ends, however it ends.
	if err := cmd.Start(); err != nil {
		ours.Close()
		return fmt.Errorf("sandbox spawner: %w", err)
	}
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("sandbox spawner: %w", err)
	}
	if sp.calls == nil {
		sp.calls = map[uint64]*spawnCall{}
	}
	sp.conn = c.(*net.UnixConn)
	sp.readers.Add(1)
	go func(conn *net.UnixConn) {
		defer sp.readers.Done()
		sp.read(conn, cmd)
	}(sp.conn)
	return nil
}

// read routes one spawner process's replies until it is gone, then fails
// the starts still waiting for it. The inits it started go on; their exits
// come through their pidfds (Sandbox.wait).
func (sp *spawner) read(conn *net.UnixConn, cmd *exec.Cmd) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			break
		}
		files, ferr := receivedFiles(oob[:oobn])
		var r spawnReply
		if err := json.Unmarshal(buf[:n], &r); err != nil {
			closeAll(files)
			continue
		}
		sp.mu.Lock()
		call := sp.calls[r.ID]
		if r.Exited {
			delete(sp.calls, r.ID)
		}
		sp.mu.Unlock()
		switch {
		case call == nil:
			closeAll(files)
		case r.Exited:
			call.exited <- spawnExit{status: syscall.WaitStatus(r.Status), known: true}
		case r.Err != "":
			closeAll(files)
			call.started <- spawnStarted{err: errors.New("sandbox spawner: " + r.Err)}
		case ferr != nil || len(files) != 1:
			closeAll(files)
			call.started <- spawnStarted{err: fmt.Errorf("sandbox spawner: no pidfd for init %d", r.Pid)}
		default:
			call.started <- spawnStarted{pid: r.Pid, pidfd: files[0]}
		}
	}
	conn.Close()
	_ = cmd.Wait()
	gone := errors.New("sandbox spawner: the process is gone")
	sp.mu.Lock()
	if sp.conn == conn {
		sp.conn = nil // the next start starts another
	}
	for id, call := range sp.calls {
		if call.conn != conn {
			continue
		}
		select {
		case call.started <- spawnStarted{err: gone}:
		default: // started already: its exit comes through its pidfd
		}
		// Its status will never come: the owner need not wait for it
		// once the pidfd says the init is gone.
		select {
		case call.exited <- spawnExit{}:
		default:
		}
		delete(sp.calls, id)
	}
	sp.mu.Unlock()
}

// close ends the spawner process and waits until it is reaped; inits it
// started go on.
func (sp *spawner) close() {
	sp.mu.Lock()
	if sp.conn != nil {
		sp.conn.Close()
		sp.conn = nil
	}
	sp.mu.Unlock()
	sp.readers.Wait()
}

// seqpacketPair makes a connected pair of close-on-exec SOCK_SEQPACKET
// sockets, named a and b: the spawner's channel, and each init's go-ahead
// and lifeline.
func seqpacketPair(a, b string) (*os.File, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), a), os.NewFile(uintptr(fds[1]), b), nil
}
