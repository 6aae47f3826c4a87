package linux

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gust-faas/gust/internal/goahead"
	"github.com/gust-faas/gust/internal/reexec"
)

// The sandbox's init is this binary, or the sandbox binary (gust-sandbox,
// Driver.bin), re-executed at initEntry inside the new namespaces. It binds
// its own binary read-only at exeInside and starts the proxy from it. In
// Driver.Create it builds the root file system while the driver puts it in
// the sandbox's cgroups; once told it is placed, it drops every privilege,
// starts the runtime proxy as the unprivileged user, waiting for its
// go-ahead, and reports msgReady. In Sandbox.Start it passes the go-ahead
// (the proxy's environment and the sandbox's output) on to the proxy,
// reports msgStarted and stays as pid 1 to reap orphans; it exits with the
// status of the sandbox's main process (the proxy, or the launcher the
// proxy left to it, see reap), which ends the pid namespace and kills
// whatever is left.
// A failure is reported as "error: ...\n".
const initEntry = "sandbox-init"

// Files the driver passes to the init (exec.Cmd.ExtraFiles, from fd 3).
const (
	// fdSync is a SOCK_SEQPACKET socket from the driver: msgPlaced once the
	// init is in its cgroups, the go-ahead from Start (internal/goahead),
	// then the lifeline: EOF from Stop or the driver's death.
	fdSync   = 3
	fdStatus = 4 // write end: the init's reports, one line each
)

// msgPlaced tells the init that the driver has put it in its cgroups (and
// its network): what it starts from then on is in them too.
const msgPlaced = "placed"

// The init's reports.
const (
	msgReady   = "ready\n"
	msgStarted = "started\n"
	msgError   = "error: "
)

// initCaps are the capabilities, in the sandbox's user namespace, that the
// init keeps through its exec (as ambient capabilities) to build the
// sandbox; it drops them all before it starts the proxy.
var initCaps = []uintptr{
	unix.CAP_SYS_ADMIN, // mount, pivot_root, sethostname, unshare
	unix.CAP_NET_ADMIN, // lo and eth0 up, addresses, route
	unix.CAP_SETUID,    // become root of the namespace, start the proxy as nobody
	unix.CAP_SETGID,    // the same for groups
	unix.CAP_SETPCAP,   // empty the bounding set
}

// Paths inside the sandbox.
const (
	sockDirInside   = "/run/gust"
	exeInside       = "/.gust/gust" // the init's binary: gust or gust-sandbox
	launchersInside = "/.gust/launchers"
	sandboxUID      = 65534 // nobody
)

// envInitConfig carries the init's configuration, as JSON: in the
// environment, unlike the command line, the sandbox cannot read it.
const envInitConfig = "GUST_SANDBOX_INIT"

// initConfig is the init's configuration: what it needs to build the
// sandbox. What depends on the action comes with the go-ahead
// (internal/goahead), so that a sandbox can be built before its action is
// known (the driver's shells).
type initConfig struct {
	Entry    string   `json:"entry"` // the proxy's re-exec entry point
	TmpMB    int      `json:"tmp_mb"`
	Hostname string   `json:"hostname"`
	Network  bool     `json:"network"`  // a resolv.conf; eth0 is there
	Addr     string   `json:"addr"`     // eth0's address (/30)
	Gateway  string   `json:"gateway"`  // the host's side
	DNS      []string `json:"dns"`      // name servers, else the host's resolv.conf
	Root     string   `json:"root"`     // host path: mount point of the new root
	SockDir  string   `json:"sock_dir"` // host path: bound at sockDirInside
	// Launchers is the host path of the prepared runtime launchers
	// (runtimes.PrepareLaunchers), bound read-only at launchersInside; ""
	// for none.
	Launchers string `json:"launchers,omitempty"`
}

func init() {
	reexec.Register(initEntry, sandboxInit)
	// prctl, capset and the bounding set act on one thread: the init does
	// all of it, and forks the proxy, from the main thread.
	if key, val, _ := strings.Cut(reexec.Env(initEntry), "="); os.Getenv(key) == val {
		runtime.LockOSThread()
	}
}

func sandboxInit() {
	status := os.NewFile(fdStatus, "status")
	unix.CloseOnExec(fdSync)
	unix.CloseOnExec(fdStatus)
	fail := func(err error) {
		fmt.Fprintf(status, "%s%v\n", msgError, err)
		os.Exit(125)
	}
	var cfg initConfig
	if err := json.Unmarshal([]byte(os.Getenv(envInitConfig)), &cfg); err != nil {
		fail(fmt.Errorf("configuration: %w", err))
	}
	os.Unsetenv(envInitConfig)
	if err := prepare(&cfg); err != nil {
		fail(err)
	}
	if err := awaitPlaced(); err != nil {
		fail(err)
	}
	// The proxy starts now, as the unprivileged user, and waits for the
	// go-ahead: its exec and the Go runtime's start are done before Start.
	pid, goAhead, adopt, err := startProxy(&cfg)
	if err != nil {
		fail(err)
	}
	if _, err := status.WriteString(msgReady); err != nil {
		os.Exit(125)
	}
	// Sandbox.Start sends the go-ahead, which goes on to the proxy; Stop or
	// Destroy close the socket.
	m, stdout, stderr, err := goahead.Receive(fdSync)
	if err == io.EOF {
		os.Exit(125)
	}
	if err == nil {
		err = goahead.Send(goAhead, m, stdout, stderr)
		unix.Close(stdout)
		unix.Close(stderr)
	}
	if err != nil {
		fail(err)
	}
	unix.Close(goAhead)
	// Then the socket is the lifeline: its end (Stop, or the driver's
	// process gone however it died) ends the init, and with it, as the pid
	// namespace's init, every process of the sandbox.
	go func() {
		var b [1]byte
		for {
			if n, err := unix.Read(fdSync, b[:]); n <= 0 && err != unix.EINTR {
				os.Exit(137)
			}
		}
	}()
	if _, err := status.WriteString(msgStarted); err != nil {
		os.Exit(125)
	}
	status.Close()
	os.Exit(reap(pid, adopt))
}

// awaitPlaced waits for msgPlaced; the end of the socket instead ends the
// init.
func awaitPlaced() error {
	buf := make([]byte, 64)
	for {
		n, err := unix.Read(fdSync, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return fmt.Errorf("waiting to be placed: %w", err)
		case n == 0:
			os.Exit(125)
		case string(buf[:n]) != msgPlaced:
			return fmt.Errorf("unexpected message %q from the driver", buf[:n])
		}
		return nil
	}
}

// prepare builds the sandbox: it runs in Driver.Create.
func prepare(cfg *initConfig) error {
	// The init starts with the driver's host uid 0, which the namespace
	// does not map: it can search the driver's directories (as their
	// owner), which the namespace's root may not. Mount the new root there
	// and enter it, open the socket directory, then become the namespace's
	// root, whose files the namespace's file systems can hold, and build
	// the rest with paths relative to the new root.
	if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	if err := unix.Mount("tmpfs", cfg.Root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m,nr_inodes=4096,mode=755,uid=0,gid=0"); err != nil {
		return fmt.Errorf("mounting the root tmpfs: %w", err)
	}
	if err := unix.Chdir(cfg.Root); err != nil {
		return fmt.Errorf("entering the new root: %w", err)
	}
	sockDir, err := unix.Open(cfg.SockDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", cfg.SockDir, err)
	}
	exe, err := openSelf()
	if err != nil {
		return err
	}
	launchers := -1
	if cfg.Launchers != "" {
		if launchers, err = unix.Open(cfg.Launchers, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			return fmt.Errorf("opening %s: %w", cfg.Launchers, err)
		}
		defer unix.Close(launchers)
	}
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setresgid(0, 0, 0); err != nil {
		return fmt.Errorf("setresgid: %w", err)
	}
	if err := syscall.Setresuid(0, 0, 0); err != nil {
		return fmt.Errorf("setresuid: %w", err)
	}
	if err := buildRoot(cfg, sockDir, exe, launchers); err != nil {
		return err
	}
	unix.Close(sockDir)
	unix.Close(exe)
	if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	if err := loopbackUp(); err != nil {
		return err
	}
	return nil
}

// startProxy drops every privilege and starts the proxy: it runs in
// Sandbox.Start, once the driver has put the init in its cgroups. It
// returns the proxy's pid, the init's end of its go-ahead socket and the
// read end of the pipe on which the proxy hands its launcher to the init
// (adoptFD in the proxy, runtimes.EnvAdopt).
func startProxy(cfg *initConfig) (pid, goAhead, adopt int, err error) {
	if cfg.Network {
		if err := sandboxSide(cfg.Addr, cfg.Gateway); err != nil {
			return 0, -1, -1, err
		}
	}
	// Hide the host's cgroup paths.
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		return 0, -1, -1, fmt.Errorf("unshare cgroup namespace: %w", err)
	}

	// No capability can come back: empty the bounding and ambient sets.
	// The proxy loses the rest when it changes uid.
	last, err := lastCap()
	if err != nil {
		return 0, -1, -1, err
	}
	for c := 0; c <= last; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return 0, -1, -1, fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return 0, -1, -1, fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var caps [2]unix.CapUserData
	if err := unix.Capget(&hdr, &caps[0]); err != nil {
		return 0, -1, -1, fmt.Errorf("capget: %w", err)
	}
	caps[0].Inheritable, caps[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &caps[0]); err != nil {
		return 0, -1, -1, fmt.Errorf("clearing inheritable capabilities: %w", err)
	}
	// The proxy and everything it starts are batch tasks: a sandbox woken
	// by the invoker's write does not preempt the invoker before it is done
	// with the call; it waits for it to block. Same share of the CPU, fewer
	// context switches: 100 actions round robin (gust bench many, three
	// alternating pairs) went from 5,555, 4,958 and 4,970 answers a second to
	// 5,855, 5,185 and 5,352; one action at 8 and 32 clients did not change.
	// Sandbox code may set its own threads back to SCHED_OTHER; either
	// needs no privilege.
	batch := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_BATCH}
	if err := unix.SchedSetAttr(0, &batch, 0); err != nil {
		return 0, -1, -1, fmt.Errorf("sched_setattr SCHED_BATCH: %w", err)
	}
	prog, err := seccompProgram()
	if err != nil {
		return 0, -1, -1, err
	}
	if err := installSeccomp(prog); err != nil {
		return 0, -1, -1, err
	}

	// The proxy waits on its end of a socket pair for the go-ahead, which
	// brings its environment and output (internal/goahead, through
	// internal/reexec); until then it knows only its entry point.
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, -1, -1, fmt.Errorf("the proxy's go-ahead socket: %w", err)
	}
	defer unix.Close(pair[1])
	var adoptPipe [2]int
	if err := unix.Pipe2(adoptPipe[:], unix.O_CLOEXEC); err != nil {
		unix.Close(pair[0])
		return 0, -1, -1, fmt.Errorf("the proxy's adoption pipe: %w", err)
	}
	defer unix.Close(adoptPipe[1])
	pid, err = syscall.ForkExec(exeInside, []string{"gust-" + cfg.Entry}, &syscall.ProcAttr{
		Dir:   "/tmp",
		Env:   []string{reexec.Env(cfg.Entry), goahead.EnvFD + "=3"},
		Files: []uintptr{0, 1, 2, uintptr(pair[1]), uintptr(adoptPipe[1])}, // adoptFD = 4
		Sys: &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: sandboxUID, Gid: sandboxUID, Groups: []uint32{}},
			Setsid:     true,
		},
	})
	if err != nil {
		unix.Close(pair[0])
		unix.Close(adoptPipe[0])
		return 0, -1, -1, fmt.Errorf("starting the runtime proxy: %w", err)
	}
	// The init keeps uid 0 of the namespace but needs no capability to reap.
	caps = [2]unix.CapUserData{}
	_ = unix.Capset(&hdr, &caps[0])
	return pid, pair[0], adoptPipe[0], nil
}

// openSelf opens this binary through this mount namespace (a bind mount
// cannot take /proc/self/exe, which points into the driver's namespace) and
// checks that it is the very file running.
func openSelf() (int, error) {
	path, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("opening this binary: %w", err)
	}
	var self, opened unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &self); err != nil {
		unix.Close(fd)
		return 0, err
	}
	if err := unix.Fstat(fd, &opened); err != nil || self.Dev != opened.Dev || self.Ino != opened.Ino {
		unix.Close(fd)
		return 0, fmt.Errorf("this binary %s was replaced on disk", path)
	}
	return fd, nil
}

func lastCap() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("reading cap_last_cap: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// adoptFD is the proxy's end of the adoption pipe (runtimes.EnvAdopt).
const adoptFD = 4

// reap waits for every child (orphans are re-parented to pid 1) and returns
// the exit status of the sandbox's main process once it exits: the proxy,
// or the launcher the proxy left to the init after handing it over (its pid
// comes on adopt as the proxy exits). A launcher already gone by then (the
// proxy reaped it) leaves no child: that ends the init with status 0.
func reap(main, adopt int) int {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ECHILD && adopt < 0 {
			return 0
		}
		if err != nil {
			return 125
		}
		if pid != main {
			continue
		}
		if adopt >= 0 && ws.Exited() && ws.ExitStatus() == 0 {
			next := adopted(adopt)
			unix.Close(adopt)
			adopt = -1
			if next > 0 {
				main = next
				continue
			}
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
}

// adopted reads the pid a proxy that exited left on the adoption pipe, 0
// for none.
func adopted(fd int) int {
	var buf [32]byte
	n, err := unix.Read(fd, buf[:])
	for err == unix.EINTR {
		n, err = unix.Read(fd, buf[:])
	}
	if err != nil || n <= 0 {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil || pid <= 1 {
		return 0
	}
	return pid
}

// mountFlags maps statfs flags to the mount flags a bind remount must keep:
// in a user namespace the kernel refuses to clear a locked one.
func mountFlags(path string) uintptr {
	var st unix.Statfs_t
	if unix.Statfs(path, &st) != nil {
		return 0
	}
	var fl uintptr
	for _, m := range []struct{ st, ms uintptr }{
		{unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(st.Flags)&m.st != 0 {
			fl |= m.ms
		}
	}
	return fl
}

// bind mounts src on dst (which must exist) read-only (unless rw) with
// extra flags.
func bind(src, dst string, rw bool, flags uintptr) error {
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	fl := unix.MS_BIND | unix.MS_REMOUNT | flags | mountFlags(dst)
	if !rw {
		fl |= unix.MS_RDONLY
	}
	if err := unix.Mount("", dst, "", fl, ""); err != nil {
		return fmt.Errorf("remount %s: %w", src, err)
	}
	return nil
}

// etcFiles are the host's /etc entries the runtimes need (libc, TLS roots,
// time zone, language runtimes), bound read-only when they exist. The rest
// of /etc stays on the host; passwd, group, hosts and hostname are written.
var etcFiles = []string{
	"alternatives", "ca-certificates", "ca-certificates.conf", "gai.conf", "host.conf",
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "mime.types", "nsswitch.conf",
	"os-release", "protocols", "python3", "python3.11", "services", "ssl", "timezone",
}

// buildRoot makes the sandbox's root file system in the working directory
// and pivots into it:
// a read-only tmpfs holding bind mounts of the host's /usr (and /bin, /lib...
// as on the host), a few /etc files, a private /tmp, a fresh /proc, a
// minimal /dev, the socket directory, this binary and the prepared runtime
// launchers (when launchersFd is not -1).
func buildRoot(cfg *initConfig, sockFd, exeFd, launchersFd int) error {
	// The new root is the working directory.
	at := func(p string) string { return "." + p }
	mkdir := func(p string, mode uint32) error {
		if err := os.MkdirAll(at(p), 0o755); err != nil {
			return err
		}
		return os.Chmod(at(p), os.FileMode(mode))
	}
	touch := func(p string, mode uint32) error {
		return os.WriteFile(at(p), nil, os.FileMode(mode))
	}

	// /usr, and /bin /sbin /lib* as the host has them: symlinks into usr on
	// merged-/usr systems, directories elsewhere.
	for _, name := range []string{"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"} {
		fi, err := os.Lstat("/" + name)
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink("/" + name)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, at("/"+name)); err != nil {
				return err
			}
			continue
		}
		if err := mkdir("/"+name, 0o755); err != nil {
			return err
		}
		if err := bind("/"+name, at("/"+name), false, unix.MS_NOSUID|unix.MS_NODEV); err != nil {
			return err
		}
	}

	if err := mkdir("/etc", 0o755); err != nil {
		return err
	}
	for name, content := range map[string]string{
		"passwd":   "root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/tmp:/usr/sbin/nologin\n",
		"group":    "root:x:0:\nnogroup:x:65534:\n",
		"hosts":    "127.0.0.1\tlocalhost " + cfg.Hostname + "\n::1\tlocalhost ip6-localhost ip6-loopback\n",
		"hostname": cfg.Hostname + "\n",
	} {
		if err := os.WriteFile(at("/etc/"+name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	etc := etcFiles
	if cfg.Network && len(cfg.DNS) > 0 {
		var conf strings.Builder
		for _, ns := range cfg.DNS {
			conf.WriteString("nameserver " + ns + "\n")
		}
		if err := os.WriteFile(at("/etc/resolv.conf"), []byte(conf.String()), 0o644); err != nil {
			return err
		}
	} else if cfg.Network {
		etc = append(etc[:len(etc):len(etc)], "resolv.conf")
	}
	for _, name := range etc {
		src := "/etc/" + name
		fi, err := os.Lstat(src)
		if err != nil {
			continue
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(src)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, at(src)); err != nil {
				return err
			}
			continue
		case fi.IsDir():
			err = mkdir(src, 0o755)
		default:
			err = touch(src, 0o644)
		}
		if err != nil {
			return err
		}
		if err := bind(src, at(src), false, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC); err != nil {
			return err
		}
	}
	if err := os.Symlink("../proc/self/mounts", at("/etc/mtab")); err != nil {
		return err
	}

	// /tmp and /dev/shm: private, bounded, writable.
	tmpOpts := fmt.Sprintf("size=%dm,mode=1777", cfg.TmpMB)
	if err := mkdir("/tmp", 0o1777); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", at("/tmp"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, tmpOpts); err != nil {
		return fmt.Errorf("mounting /tmp: %w", err)
	}

	// /dev: a tmpfs with the harmless devices bound from the host (a user
	// namespace cannot mknod).
	if err := mkdir("/dev", 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", at("/dev"), "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "size=64k,nr_inodes=64,mode=755"); err != nil {
		return fmt.Errorf("mounting /dev: %w", err)
	}
	for _, dev := range []string{"null", "zero", "full", "random", "urandom"} {
		if err := touch("/dev/"+dev, 0o666); err != nil {
			return err
		}
		if err := bind("/dev/"+dev, at("/dev/"+dev), true, unix.MS_NOSUID|unix.MS_NOEXEC); err != nil {
			return err
		}
	}
	for name, target := range map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
	} {
		if err := os.Symlink(target, at("/dev/"+name)); err != nil {
			return err
		}
	}
	if err := mkdir("/dev/shm", 0o1777); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", at("/dev/shm"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, tmpOpts); err != nil {
		return fmt.Errorf("mounting /dev/shm: %w", err)
	}
	if err := unix.Mount("", at("/dev"), "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("remounting /dev read-only: %w", err)
	}

	if err := mkdir("/proc", 0o555); err != nil {
		return err
	}
	if err := unix.Mount("proc", at("/proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}

	// The socket directory, writable, and this binary, so the proxy can be
	// executed inside.
	if err := mkdir(sockDirInside, 0o755); err != nil {
		return err
	}
	if err := bind(fmt.Sprintf("/proc/self/fd/%d", sockFd), at(sockDirInside), true, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC); err != nil {
		return err
	}
	if err := mkdir(filepath.Dir(exeInside), 0o755); err != nil {
		return err
	}
	if err := touch(exeInside, 0o755); err != nil {
		return err
	}
	if err := bind(fmt.Sprintf("/proc/self/fd/%d", exeFd), at(exeInside), false, unix.MS_NOSUID|unix.MS_NODEV); err != nil {
		return err
	}
	if launchersFd >= 0 {
		if err := mkdir(launchersInside, 0o755); err != nil {
			return err
		}
		if err := bind(fmt.Sprintf("/proc/self/fd/%d", launchersFd), at(launchersInside), false, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC); err != nil {
			return err
		}
	}

	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the host's root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	if err := unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("remounting / read-only: %w", err)
	}
	return nil
}

// loopbackUp brings lo up in the sandbox's network namespace, so that a
// runtime may talk to itself; nothing else is there.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	return nil
}
