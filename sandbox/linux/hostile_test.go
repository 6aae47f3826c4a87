package linux_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/internal/syncbuf"
	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/sandbox/linux"
	"github.com/gust-faas/gust/sandbox/sandboxtest"
)

// hostileEntry is a stand-in runtime that, besides the stand-in's routes,
// tries to get out of its sandbox on request and reports what happened.
const hostileEntry = "linuxtest-hostile"

func init() {
	reexec.Register(hostileEntry, func() {
		mux := sandboxtest.StandInHandler()
		for path, probe := range probes {
			mux.HandleFunc("POST /probe/"+path, func(w http.ResponseWriter, r *http.Request) {
				json.NewEncoder(w).Encode(probe(r))
			})
		}
		sandboxtest.Serve(mux)
	})
}

// errName spells an error as its errno constant when it has one.
func errName(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

// probes run inside the sandbox; each returns a JSON-able report.
var probes = map[string]func(r *http.Request) any{
	// ps lists the processes the sandbox can see.
	"ps": func(*http.Request) any {
		out := map[string]string{}
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err == nil {
				cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
				out[e.Name()] = strings.TrimRight(strings.ReplaceAll(string(cmdline), "\x00", " "), " ")
			}
		}
		return out
	},
	// write tries to create a file in each directory of the query.
	"write": func(r *http.Request) any {
		out := map[string]string{}
		for _, dir := range r.URL.Query()["dir"] {
			err := os.WriteFile(filepath.Join(dir, "gust-probe"), []byte("x"), 0o644)
			out[dir] = errName(err)
		}
		return out
	},
	// fill writes to /tmp until it fails and reports how far it got.
	"fill": func(*http.Request) any {
		f, err := os.Create("/tmp/fill")
		if err != nil {
			return map[string]any{"err": errName(err)}
		}
		defer os.Remove("/tmp/fill")
		defer f.Close()
		chunk := make([]byte, 1<<20)
		var n int64
		for n < 1<<30 {
			m, err := f.Write(chunk)
			n += int64(m)
			if err != nil {
				return map[string]any{"err": errName(err), "mb": n >> 20}
			}
		}
		return map[string]any{"err": "ok", "mb": n >> 20}
	},
	// syscalls tries what the sandbox must not do.
	"syscalls": func(*http.Request) any {
		out := map[string]string{}
		out["mount"] = errName(unix.Mount("tmpfs", "/tmp", "tmpfs", 0, ""))
		out["umount"] = errName(unix.Unmount("/proc", unix.MNT_DETACH))
		out["unshare_user"] = errName(unix.Unshare(unix.CLONE_NEWUSER))
		out["unshare_net"] = errName(unix.Unshare(unix.CLONE_NEWNET))
		out["sethostname"] = errName(unix.Sethostname([]byte("evil")))
		out["chroot"] = errName(unix.Chroot("/tmp"))
		_, _, errno := unix.RawSyscall(unix.SYS_PTRACE, unix.PTRACE_TRACEME, 0, 0)
		out["ptrace"] = errName(errnoOrNil(errno))
		_, _, errno = unix.RawSyscall(unix.SYS_KEYCTL, 0, 0, 0)
		out["keyctl"] = errName(errnoOrNil(errno))
		_, _, errno = unix.RawSyscall(unix.SYS_BPF, 0, 0, 0)
		out["bpf"] = errName(errnoOrNil(errno))
		_, _, errno = unix.RawSyscall(unix.SYS_IO_URING_SETUP, 1, 0, 0)
		out["io_uring_setup"] = errName(errnoOrNil(errno))
		_, _, errno = unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0)
		out["clone3"] = errName(errnoOrNil(errno))
		_, _, errno = unix.RawSyscall(0x40000000|unix.SYS_GETPID, 0, 0, 0) // x32 ABI
		out["x32_getpid"] = errName(errnoOrNil(errno))
		cmd := exec.Command("/bin/true")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER}
		out["clone_newuser"] = errName(cmd.Run())
		out["setuid0"] = errName(syscall.Setuid(0))
		return out
	},
	// status reports the process's identity and privileges.
	"status": func(*http.Request) any {
		out := map[string]string{}
		b, _ := os.ReadFile("/proc/self/status")
		for line := range strings.Lines(string(b)) {
			k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
			switch k {
			case "Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp":
				out[k] = strings.Join(strings.Fields(v), " ")
			}
		}
		host, _ := os.Hostname()
		out["hostname"] = host
		cg, _ := os.ReadFile("/proc/self/cgroup")
		out["cgroup"] = string(cg)
		if attr, err := unix.SchedGetAttr(0, 0); err == nil {
			out["policy"] = strconv.Itoa(int(attr.Policy))
		} else {
			out["policy"] = err.Error()
		}
		return out
	},
	// fork starts /bin/sleep until it cannot, then kills what it started.
	"fork": func(*http.Request) any {
		var pids []int
		var ferr error
		for len(pids) < 2000 {
			pid, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "60"}, &syscall.ProcAttr{})
			if err != nil {
				ferr = err
				break
			}
			pids = append(pids, pid)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		for _, pid := range pids {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
		}
		return map[string]any{"started": len(pids), "err": errName(ferr)}
	},
	// alloc touches ?mb= megabytes of memory.
	"alloc": func(r *http.Request) any {
		mb, _ := strconv.Atoi(r.URL.Query().Get("mb"))
		var keep [][]byte
		for range mb {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			keep = append(keep, b)
		}
		return map[string]any{"allocated_mb": len(keep)}
	},
	// dial tries to open TCP connections to ?addr=.
	"dial": func(r *http.Request) any {
		out := map[string]string{}
		for _, addr := range r.URL.Query()["addr"] {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
			}
			out[addr] = errName(err)
		}
		return out
	},
	// fetch connects to ?addr= and returns what the server sends.
	"fetch": func(r *http.Request) any {
		c, err := net.DialTimeout("tcp", r.URL.Query().Get("addr"), time.Second)
		if err != nil {
			return errName(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil {
			return errName(err)
		}
		return "read:" + string(b)
	},
	// read reads the files in ?path= and lists the directories in ?dir=.
	"read": func(r *http.Request) any {
		out := map[string]string{}
		for _, p := range r.URL.Query()["path"] {
			b, err := os.ReadFile(p)
			if err != nil {
				out[p] = errName(err)
			} else {
				out[p] = "read:" + string(b)
			}
		}
		for _, d := range r.URL.Query()["dir"] {
			entries, err := os.ReadDir(d)
			if err != nil {
				out[d] = errName(err)
				continue
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			out[d] = strings.Join(names, ",")
		}
		return out
	},
	// secret writes ?value= to /tmp/secret.
	"secret": func(r *http.Request) any {
		return errName(os.WriteFile("/tmp/secret", []byte(r.URL.Query().Get("value")), 0o644))
	},
}

func errnoOrNil(errno syscall.Errno) error {
	if errno == 0 {
		return nil
	}
	return errno
}

// hostile starts a sandbox running the hostile stand-in.
func hostile(t *testing.T, d *linux.Driver, id string, memMB int) (sandbox.Sandbox, *http.Client) {
	t.Helper()
	return hostileSpec(t, d, sandbox.Spec{ID: id, Kind: "blackbox", MemoryMB: memMB})
}

func hostileSpec(t *testing.T, d *linux.Driver, spec sandbox.Spec) (sandbox.Sandbox, *http.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := &syncbuf.Buffer{}
	spec.Stdout, spec.Stderr = out, out
	sb, err := d.Create(ctx, spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Destroy(context.Background()); err != nil {
			t.Errorf("Destroy: %v", err)
		}
		if t.Failed() && out.String() != "" {
			t.Logf("sandbox %s output:\n%s", spec.ID, out)
		}
	})
	if err := sb.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	c := sandboxtest.Client(sb)
	t.Cleanup(c.CloseIdleConnections)
	return sb, c
}

// probe runs a probe and decodes its report into out.
func probe(t *testing.T, c *http.Client, query string, out any) {
	t.Helper()
	resp, err := c.Post("http://sandbox/probe/"+query, "text/plain", nil)
	if err != nil {
		t.Fatalf("probe %s: %v", query, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("probe %s: %s: %s", query, resp.Status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("probe %s: %v in %s", query, err, body)
	}
}

func hostileDriver(t *testing.T) *linux.Driver {
	d, _ := newDriver(t, linux.Config{ProxyEntry: hostileEntry, TmpMB: 8, PidsMax: 64})
	return d
}

func TestSandboxSeesOnlyItself(t *testing.T) {
	d := hostileDriver(t)
	_, c := hostile(t, d, "ps", 128)
	var ps map[string]string
	probe(t, c, "ps", &ps)
	// pid 1 is the init; the proxy's pid follows the init's threads.
	var cmds []string
	for pid, cmd := range ps {
		if pid == "1" {
			if cmd != "gust-sandbox-init" {
				t.Errorf("pid 1 is %q, want gust-sandbox-init", cmd)
			}
			continue
		}
		cmds = append(cmds, cmd)
	}
	if len(cmds) != 1 || cmds[0] != "gust-"+hostileEntry {
		t.Errorf("the sandbox sees %v, want only its init and gust-%s", ps, hostileEntry)
	}
	// The init's environment (its configuration) and root are its own.
	var reads map[string]string
	probe(t, c, "read?path=/proc/1/environ&dir=/proc/1/root", &reads)
	for _, p := range []string{"/proc/1/environ", "/proc/1/root"} {
		if reads[p] != "EACCES" {
			t.Errorf("reading the init's %s: %s, want EACCES", p, reads[p])
		}
	}
}

func TestSandboxIdentity(t *testing.T) {
	d := hostileDriver(t)
	_, c := hostile(t, d, "identity", 128)
	var st map[string]string
	probe(t, c, "status", &st)
	want := map[string]string{
		"Uid":        "65534 65534 65534 65534",
		"Gid":        "65534 65534 65534 65534",
		"Groups":     "",
		"CapInh":     "0000000000000000",
		"CapPrm":     "0000000000000000",
		"CapEff":     "0000000000000000",
		"CapBnd":     "0000000000000000",
		"CapAmb":     "0000000000000000",
		"NoNewPrivs": "1",
		"Seccomp":    "2",
		"hostname":   "sandbox",
		"policy":     strconv.Itoa(unix.SCHED_BATCH),
	}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("%s = %q, want %q", k, st[k], v)
		}
	}
	for line := range strings.Lines(st["cgroup"]) {
		if _, path, _ := strings.Cut(strings.TrimSpace(line), ":"); !strings.HasSuffix(path, ":/") {
			t.Errorf("/proc/self/cgroup shows a host path: %q", line)
		}
	}
}

func TestSandboxFileSystem(t *testing.T) {
	d := hostileDriver(t)
	_, c := hostile(t, d, "fs", 128)

	var writes map[string]string
	probe(t, c, "write?dir=/usr&dir=/&dir=/etc&dir=/dev&dir=/.gust&dir=/tmp&dir=/dev/shm&dir=/run/gust", &writes)
	want := map[string]string{
		"/usr": "EROFS", "/": "EROFS", "/etc": "EROFS", "/dev": "EROFS", "/.gust": "EROFS",
		"/tmp": "ok", "/dev/shm": "ok", "/run/gust": "ok",
	}
	for dir, w := range want {
		if writes[dir] != w {
			t.Errorf("writing in %s: %s, want %s", dir, writes[dir], w)
		}
	}

	var fill struct {
		Err string `json:"err"`
		MB  int    `json:"mb"`
	}
	probe(t, c, "fill", &fill)
	if fill.Err != "ENOSPC" || fill.MB > 8 {
		t.Errorf("filling /tmp: %s after %d MB, want ENOSPC by 8 MB", fill.Err, fill.MB)
	}

	// The host's secrets and its other directories are not there.
	hostFile, err := os.CreateTemp("/tmp", "gust-host-secret-*")
	if err != nil {
		t.Fatal(err)
	}
	hostFile.Close()
	defer os.Remove(hostFile.Name())
	var reads map[string]string
	probe(t, c, "read?path=/etc/shadow&path=/root/.bashrc&path="+hostFile.Name()+"&path=/sys/kernel/notes&dir=/dev&dir=/", &reads)
	for _, p := range []string{"/etc/shadow", "/root/.bashrc", hostFile.Name(), "/sys/kernel/notes"} {
		if reads[p] != "ENOENT" {
			t.Errorf("reading %s: %s, want ENOENT", p, reads[p])
		}
	}
	if got, want := reads["/dev"], "fd,full,null,random,shm,stderr,stdin,stdout,urandom,zero"; got != want {
		t.Errorf("/dev holds %s, want %s", got, want)
	}
	t.Logf("/ holds %s", reads["/"])
}

func TestSandboxSyscalls(t *testing.T) {
	d := hostileDriver(t)
	_, c := hostile(t, d, "syscalls", 128)
	var got map[string]string
	probe(t, c, "syscalls", &got)
	want := map[string]string{
		"mount": "EPERM", "umount": "EPERM", "unshare_user": "EPERM", "unshare_net": "EPERM",
		"sethostname": "EPERM", "chroot": "EPERM", "ptrace": "EPERM", "keyctl": "EPERM",
		"bpf": "EPERM", "clone3": "ENOSYS", "x32_getpid": "EPERM", "clone_newuser": "EPERM",
		"setuid0": "EPERM", "io_uring_setup": "EPERM",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
}

func TestSandboxPidsLimit(t *testing.T) {
	d := hostileDriver(t)
	_, c := hostile(t, d, "pids", 128)
	var got struct {
		Started int    `json:"started"`
		Err     string `json:"err"`
	}
	probe(t, c, "fork", &got)
	if got.Err != "EAGAIN" || got.Started >= 64 {
		t.Errorf("forking: %s after %d processes, want EAGAIN before 64", got.Err, got.Started)
	}
	// The sandbox survives and answers again once its children are gone.
	var ps map[string]string
	probe(t, c, "ps", &ps)
}

func TestSandboxMemoryLimit(t *testing.T) {
	d := hostileDriver(t)
	sb, c := hostile(t, d, "oom", 64)
	resp, err := c.Post("http://sandbox/probe/alloc?mb=256", "text/plain", nil)
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("allocating 256 MB in a 64 MB sandbox answered %s: %s", resp.Status, body)
	}
	select {
	case <-sb.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the sandbox survived allocating 4 times its memory")
	}
	reason := sb.(sandbox.ExitReporter).ExitReason()
	if want := "the action exceeded its memory limit of 64 MB"; reason != want {
		t.Errorf("ExitReason() = %q, want %q", reason, want)
	}
}

func TestSandboxHasNoNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	d := hostileDriver(t)
	_, c := hostile(t, d, "net", 128)
	var got map[string]string
	host := ln.Addr().String()
	probe(t, c, "dial?addr="+host+"&addr=1.1.1.1:53&addr=10.0.0.1:80", &got)
	for addr, res := range got {
		if res == "ok" {
			t.Errorf("the sandbox connected to %s", addr)
		}
	}
	if got[host] != "ECONNREFUSED" {
		t.Errorf("dialing the host's %s: %s, want ECONNREFUSED (an empty loopback)", host, got[host])
	}
	if got["1.1.1.1:53"] != "ENETUNREACH" {
		t.Errorf("dialing 1.1.1.1:53: %s, want ENETUNREACH", got["1.1.1.1:53"])
	}
}

func TestSandboxesDoNotShareTmp(t *testing.T) {
	d := hostileDriver(t)
	_, a := hostile(t, d, "tmp-a", 128)
	_, b := hostile(t, d, "tmp-b", 128)
	var res string
	probe(t, a, "secret?value=from-a", &res)
	if res != "ok" {
		t.Fatalf("writing /tmp/secret in a: %s", res)
	}
	var got map[string]string
	probe(t, b, "read?path=/tmp/secret&dir=/tmp", &got)
	if got["/tmp/secret"] != "ENOENT" {
		t.Errorf("b reading a's /tmp/secret: %s, want ENOENT", got["/tmp/secret"])
	}
	if got["/tmp"] != "" {
		t.Errorf("b's /tmp holds %q, want nothing", got["/tmp"])
	}
	probe(t, a, "read?path=/tmp/secret", &got)
	if got["/tmp/secret"] != "read:from-a" {
		t.Errorf("a reading its own /tmp/secret: %s", got["/tmp/secret"])
	}
}
