package roles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/internal/redistest"
	"github.com/gust-faas/gust/sandbox/linux"
	"github.com/gust-faas/gust/whisk"
)

// pyPrelude is prepended to the Python attacks: blocked reports an OSError
// the way every attack returns it, {"blocked": true, "error": "EROFS: ..."}.
const pyPrelude = `import errno, os

def errname(e):
    if isinstance(e, OSError) and e.errno:
        return '%s: %s' % (errno.errorcode.get(e.errno, e.errno), e.strerror)
    return '%s: %s' % (type(e).__name__, e)

def blocked(e):
    return {'blocked': True, 'error': errname(e)}

`

// hostileAttack is one action that tries to get out of its sandbox.
type hostileAttack struct {
	name   string
	kind   string
	memory int // MB; 0 = the default
	code   string
	args   map[string]any
	check  func(t *testing.T, act *whisk.Activation, res map[string]any)
}

// TestHostileActions runs the whole platform on the linux sandbox driver
// and real Redis, and invokes real Node.js and Python actions that attack
// their sandbox (GitHub issue 3): every attempt fails inside the sandbox,
// the activation record says what happened, and the invoker and the other
// sandboxes carry on.
func TestHostileActions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("hostile actions run in linux sandboxes, which need root")
	}
	if err := linux.Available(); err != nil {
		t.Skipf("the linux sandbox driver cannot run on this host: %v", err)
	}
	redisURL := redistest.Start(t)
	cfg := testConfig(t)
	cfg.Sandbox = "linux"
	cfg.RedisURL = redisURL
	cfg.MemoryMB = 8192 // room to keep every attacker's sandbox warm
	c := startUp(t, cfg)
	ctx := context.Background()

	// A bystander runs before the attacks and must still run, in the same
	// warm sandbox, after them.
	put(t, c, "bystander", "nodejs:20", `let n = 0; function main() { return {calls: ++n} }`, false)
	waitInvoker(t, c, "bystander")

	redisAddr := strings.TrimPrefix(strings.TrimSuffix(redisURL, "/0"), "redis://")
	attacks := []hostileAttack{
		{
			name: "see-host-processes", kind: "python:3",
			code: pyPrelude + `
def main(args):
    procs = {}
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as f:
                    procs[pid] = f.read().replace(b'\0', b' ').decode().strip()
            except OSError as e:
                procs[pid] = errname(e)
    try:
        os.kill(args['invokerPid'], 0)
        signal = 'delivered'
    except OSError as e:
        signal = errname(e)
    return {'blocked': signal != 'delivered', 'error': signal, 'procs': procs}
`,
			args: map[string]any{"invokerPid": os.Getpid()},
			check: func(t *testing.T, act *whisk.Activation, res map[string]any) {
				wantBlocked(t, res, "ESRCH")
				procs, _ := res["procs"].(map[string]any)
				for pid, cmd := range procs {
					cmd, _ := cmd.(string)
					if !ownProcess(cmd) {
						t.Errorf("the sandbox sees process %s %q, not one of its own", pid, cmd)
					}
				}
				if len(procs) == 0 || len(procs) > 4 {
					t.Errorf("the sandbox sees %d processes %v, want its init, proxy and launcher", len(procs), procs)
				}
			},
		},
		{
			name: "write-usr", kind: "nodejs:20",
			code: `const fs = require('fs');
function main(args) {
  const errors = {};
  for (const p of args.create) {
    try { fs.writeFileSync(p, 'pwned', {flag: 'wx'}); errors[p] = 'written' } catch (e) { errors[p] = e.code }
  }
  for (const p of args.append) { // opened for writing, never written
    try { fs.closeSync(fs.openSync(p, 'a')); errors[p] = 'opened' } catch (e) { errors[p] = e.code }
  }
  return {blocked: Object.values(errors).every(e => e !== 'written' && e !== 'opened'), errors};
}`,
			args: map[string]any{
				"create": []string{"/usr/gust-hostile", "/usr/bin/gust-hostile", "/etc/gust-hostile", "/gust-hostile"},
				"append": []string{"/usr/bin/env", "/etc/passwd"},
			},
			check: func(t *testing.T, act *whisk.Activation, res map[string]any) {
				if res["blocked"] != true {
					t.Errorf("writes under / went through: %v", res["errors"])
				}
				errs, _ := res["errors"].(map[string]any)
				for _, p := range []string{"/usr/gust-hostile", "/usr/bin/gust-hostile", "/etc/gust-hostile", "/gust-hostile", "/usr/bin/env", "/etc/passwd"} {
					if errs[p] != "EROFS" {
						t.Errorf("writing %s: %v, want EROFS", p, errs[p])
					}
				}
				for _, p := range []string{"/usr/gust-hostile", "/usr/bin/gust-hostile", "/etc/gust-hostile"} {
					if _, err := os.Stat(p); err == nil {
						os.Remove(p)
						t.Errorf("the action created %s on the host", p)
					}
				}
			},
		},
		{
			name: "connect-platform", kind: "python:3",
			code: pyPrelude + `import socket

def main(args):
    errors = {}
    for name, addr in args['targets'].items():
        host, port = addr.rsplit(':', 1)
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
            errors[name] = 'connected'
        except OSError as e:
            errors[name] = errname(e)
    return {'blocked': 'connected' not in errors.values(), 'errors': errors}
`,
			args: map[string]any{"targets": map[string]string{
				"gateway": cfg.Listen, "nats": cfg.NATSListen, "redis": redisAddr, "internet": "1.1.1.1:53",
			}},
			check: func(t *testing.T, act *whisk.Activation, res map[string]any) {
				errs, _ := res["errors"].(map[string]any)
				want := map[string]string{"gateway": "ECONNREFUSED", "nats": "ECONNREFUSED", "redis": "ECONNREFUSED", "internet": "ENETUNREACH"}
				for name, w := range want {
					if e, _ := errs[name].(string); !strings.HasPrefix(e, w+":") {
						t.Errorf("connecting to %s: %v, want %s", name, errs[name], w)
					}
				}
			},
		},
		{
			name: "fork-bomb", kind: "python:3",
			code: pyPrelude + `import time

def main(args):
    kids = []
    res = {'blocked': False}
    try:
        while len(kids) < 5000:
            pid = os.fork()
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            kids.append(pid)
    except OSError as e:
        res = blocked(e)
    for pid in kids:
        os.kill(pid, 9)
    for pid in kids:
        os.waitpid(pid, 0)
    res['forked'] = len(kids)
    return res
`,
			check: func(t *testing.T, act *whisk.Activation, res map[string]any) {
				wantBlocked(t, res, "EAGAIN")
				if n, _ := res["forked"].(float64); n >= 512 {
					t.Errorf("forked %v processes, want fewer than the pids limit 512", n)
				}
			},
		},
		{
			name: "exhaust-memory", kind: "python:3", memory: 128,
			code: `def main(args):
    hog = []
    for _ in range(1024):
        hog.append(b'x' * (1 << 20))
    return {'blocked': False, 'allocatedMB': len(hog)}
`,
			check: func(t *testing.T, act *whisk.Activation, res map[string]any) {
				wantStatus(t, act, whisk.StatusDeveloperError)
				if e, _ := res["error"].(string); !strings.Contains(e, "exceeded its memory limit of 128 MB") {
					t.Errorf("error = %q, want it to say the action exceeded its memory limit of 128 MB", e)
				}
			},
		},
		{
			name: "regain-capabilities", kind: "python:3",
			code: pyPrelude + `import ctypes

def main(args):
    status = {}
    with open('/proc/self/status') as f:
        for line in f:
            k, _, v = line.partition(':')
            if k.startswith('Cap') or k in ('Uid', 'NoNewPrivs', 'Seccomp'):
                status[k] = ' '.join(v.split())
    libc = ctypes.CDLL(None, use_errno=True)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    every = (ctypes.c_uint32 * 6)(*[0xffffffff] * 6)  # effective, permitted, inheritable x 2
    errors = {}
    if libc.capset(header, every) == 0:
        errors['capset'] = 'ok'
    else:
        errors['capset'] = errno.errorcode[ctypes.get_errno()]
    try:
        os.setuid(0)
        errors['setuid'] = 'ok'
    except OSError as e:
        errors['setuid'] = errno.errorcode[e.errno]
    return {'blocked': 'ok' not in errors.values(), 'errors': errors, 'status': status}
`,
			check: func(t *testing.T, act *whisk.Activation, res map[string]any) {
				errs, _ := res["errors"].(map[string]any)
				if errs["capset"] != "EPERM" || errs["setuid"] != "EPERM" {
					t.Errorf("capset, setuid(0): %v, want EPERM", errs)
				}
				st, _ := res["status"].(map[string]any)
				for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
					if st[k] != "0000000000000000" {
						t.Errorf("%s = %v, want no capabilities", k, st[k])
					}
				}
				if st["Uid"] != "65534 65534 65534 65534" || st["NoNewPrivs"] != "1" || st["Seccomp"] != "2" {
					t.Errorf("status %v: want uid 65534, no_new_privs and a seccomp filter", st)
				}
			},
		},
		{
			name: "mount-unshare", kind: "python:3",
			code: `import ctypes, errno

libc = ctypes.CDLL(None, use_errno=True)

def call(f, *args):
    return 'ok' if f(*args) == 0 else errno.errorcode[ctypes.get_errno()]

def main(args):
    errors = {
        'mount': call(libc.mount, b'tmpfs', b'/usr', b'tmpfs', 0, None),
        'umount': call(libc.umount2, b'/proc', 2),  # MNT_DETACH
        'unshare_user': call(libc.unshare, 0x10000000),
        'unshare_mount': call(libc.unshare, 0x00020000),
        'unshare_net': call(libc.unshare, 0x40000000),
        'chroot': call(libc.chroot, b'/tmp'),
    }
    return {'blocked': 'ok' not in errors.values(), 'errors': errors}
`,
			check: func(t *testing.T, act *whisk.Activation, res map[string]any) {
				errs, _ := res["errors"].(map[string]any)
				for _, call := range []string{"mount", "umount", "unshare_user", "unshare_mount", "unshare_net", "chroot"} {
					if errs[call] != "EPERM" {
						t.Errorf("%s: %v, want EPERM", call, errs[call])
					}
				}
			},
		},
		{
			name: "fill-tmp", kind: "python:3",
			code: pyPrelude + `def main(args):
    chunk = b'x' * (1 << 20)
    written = 0
    fd = os.open('/tmp/fill', os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    res = {'blocked': False}
    try:
        while written < (1 << 30):
            written += os.write(fd, chunk)
    except OSError as e:
        res = blocked(e)
    os.close(fd)
    os.remove('/tmp/fill')
    res['writtenMB'] = written >> 20
    return res
`,
			check: func(t *testing.T, act *whisk.Activation, res map[string]any) {
				wantBlocked(t, res, "ENOSPC")
				if mb, _ := res["writtenMB"].(float64); mb > 64 {
					t.Errorf("wrote %v MB to /tmp, want at most its 64 MB", mb)
				}
			},
		},
	}

	for _, a := range attacks {
		ap := &client.ActionPut{Exec: &whisk.Exec{Kind: a.kind, Code: a.code}}
		if a.memory != 0 {
			ap.Limits = &client.LimitsPut{Memory: &a.memory}
		}
		if _, err := c.PutAction(ctx, a.name, ap, true); err != nil {
			t.Fatalf("create %s: %v", a.name, err)
		}
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			act := invoke(t, c, a.name, a.args)
			var res map[string]any
			if err := json.Unmarshal(act.Response.Result, &res); err != nil {
				t.Fatalf("result %s: %v", act.Response.Result, err)
			}
			t.Logf("%s: %s", act.Response.Status, act.Response.Result)
			a.check(t, act, res)
			stored := waitActivation(t, c, act.ActivationID)
			if stored.StatusCode != act.StatusCode || string(stored.Response.Result) != string(act.Response.Result) {
				t.Errorf("stored record %+v differs from the invoke's %+v", stored.Response, act.Response)
			}
		})
	}

	t.Run("log-flood", func(t *testing.T) { testLogFlood(t, c) })
	t.Run("private-tmp", func(t *testing.T) { testPrivateTmp(t, c, cfg) })

	// The invoker carries on: the bystander's sandbox survived every attack,
	// and a new action still starts and runs.
	act := invokeOK(t, c, "bystander", nil)
	if got := string(act.Response.Result); got != `{"calls":2}` {
		t.Errorf("bystander after the attacks: %s, want its second call in the same sandbox", got)
	}
	if start := string(act.Annotations.Get(whisk.AnnStart)); start != `"warm"` && start != `"resumed"` {
		t.Errorf("bystander after the attacks started %s, want warm or resumed", start)
	}
	put(t, c, "after", "python:3", "def main(args):\n    return {'ok': True}\n", false)
	if got := string(invokeOK(t, c, "after", nil).Response.Result); got != `{"ok":true}` {
		t.Errorf("a new action after the attacks answered %s", got)
	}
}

// ownProcess tells whether a command line seen in a sandbox's /proc is one
// of the sandbox's own: its init, the runtime proxy, a language launcher.
func ownProcess(cmd string) bool {
	for _, p := range []string{"gust-sandbox-init", "gust-runtime", "/usr/bin/python3", "/usr/bin/node", "python3 ", "node "} {
		if strings.HasPrefix(cmd, p) {
			return true
		}
	}
	return false
}

// waitInvoker invokes name until the controller has heard from the invoker
// (503 until its first heartbeat), and fails t unless it then succeeds.
func waitInvoker(t *testing.T, c *client.Client, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.Invoke(context.Background(), name, nil, true, false, 60*time.Second)
		if !errors.Is(err, client.ErrUnavailable) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no invoker after 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	invokeOK(t, c, name, nil)
}

// invoke runs name blocking and returns its record, whatever its status.
func invoke(t *testing.T, c *client.Client, name string, args map[string]any) *whisk.Activation {
	t.Helper()
	inv, err := c.Invoke(context.Background(), name, args, true, false, 60*time.Second)
	if err != nil {
		t.Fatalf("invoke %s: %v", name, err)
	}
	act, err := inv.Activation()
	if err != nil {
		t.Fatalf("invoke %s: status %d: %v (%s)", name, inv.Status, err, inv.Body)
	}
	if want := 200; act.StatusCode != whisk.StatusSuccess {
		want = 502
		if inv.Status != want {
			t.Errorf("invoke %s: HTTP %d for a %s, want %d", name, inv.Status, act.Response.Status, want)
		}
	}
	return act
}

// invokeOK runs name blocking and fails t unless it succeeds.
func invokeOK(t *testing.T, c *client.Client, name string, args map[string]any) *whisk.Activation {
	t.Helper()
	act := invoke(t, c, name, args)
	if !act.Response.Success {
		t.Fatalf("invoke %s: %+v, want success", name, act.Response)
	}
	return act
}

func wantStatus(t *testing.T, act *whisk.Activation, code int) {
	t.Helper()
	if act.StatusCode != code || act.Response.StatusCode != code || act.Response.Status != whisk.StatusName(code) ||
		act.Response.Success != (code == whisk.StatusSuccess) {
		t.Errorf("record status %d, response %+v; want %q", act.StatusCode, act.Response, whisk.StatusName(code))
	}
}

// wantBlocked checks an attack that caught its error and returned it.
func wantBlocked(t *testing.T, res map[string]any, errno string) {
	t.Helper()
	if e, _ := res["error"].(string); res["blocked"] != true || !strings.HasPrefix(e, errno+":") {
		t.Errorf("result %v, want blocked with %s", res, errno)
	}
}

// testLogFlood prints 20 times the 10 MB log limit: the record keeps the
// first 10 MB and ends with OpenWhisk's truncation notice, and the
// invoker's heap does not grow with what was printed.
func testLogFlood(t *testing.T, c *client.Client) {
	const printMB = 200
	put(t, c, "log-flood", "python:3", `import sys

def main(args):
    line = 'x' * 1023
    for _ in range(args['mb'] * 1024):
        print(line)
    return {'printedMB': args['mb']}
`, false)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	begin := time.Now()
	act := invoke(t, c, "log-flood", map[string]any{"mb": printMB})
	close(stop)
	wg.Wait()
	t.Logf("printed %d MB in %v; heap in use %d MB before, peak %d MB", printMB, time.Since(begin).Round(time.Millisecond), base>>20, peak>>20)

	wantStatus(t, act, whisk.StatusSuccess)
	if got := string(act.Response.Result); got != fmt.Sprintf(`{"printedMB":%d}`, printMB) {
		t.Errorf("result %s", got)
	}
	if grew := int64(peak) - int64(base); grew > 100<<20 {
		t.Errorf("the invoker's heap grew by %d MB while the action printed %d MB", grew>>20, printMB)
	}
	stored := waitActivation(t, c, act.ActivationID)
	logs := stored.Logs
	if len(logs) < 2 {
		t.Fatalf("%d log lines", len(logs))
	}
	notice := logs[len(logs)-1]
	if want := "stderr: Logs were truncated because the total bytes size exceeds the limit of 10485760 bytes."; !strings.HasSuffix(notice, want) {
		t.Errorf("last log line %q, want it to end with %q", notice, want)
	}
	size := 0
	for _, l := range logs[:len(logs)-1] {
		size += len(l) + 1
		if !strings.HasSuffix(l, " stdout: "+strings.Repeat("x", 1023)) {
			t.Fatalf("log line %q is not one of the action's", l)
		}
	}
	if size > 10<<20 || size < 9<<20 {
		t.Errorf("the record keeps %d bytes of logs, want just under the 10 MB limit", size)
	}
}

// testPrivateTmp writes a marker in one sandbox's /tmp and looks for it
// from another action's sandbox, and through the host's sandbox directory.
func testPrivateTmp(t *testing.T, c *client.Client, cfg Config) {
	put(t, c, "tmp-writer", "nodejs:20", `const fs = require('fs');
function main(args) {
  if (args.write) fs.writeFileSync('/tmp/gust-marker', args.write);
  return {marker: fs.readFileSync('/tmp/gust-marker', 'utf8')};
}`, false)
	put(t, c, "tmp-reader", "python:3", pyPrelude+`def main(args):
    seen = {'tmp': sorted(os.listdir('/tmp'))}
    for p in args['paths']:
        try:
            with open(p) as f:
                seen[p] = f.read()
        except OSError as e:
            seen[p] = errname(e)
    return seen
`, false)

	secret := fmt.Sprintf("secret-%d", time.Now().UnixNano())
	if got := string(invokeOK(t, c, "tmp-writer", map[string]any{"write": secret}).Response.Result); got != `{"marker":"`+secret+`"}` {
		t.Fatalf("tmp-writer: %s", got)
	}
	runDir := filepath.Join(cfg.DataDir, "sandboxes")
	roots, _ := filepath.Glob(filepath.Join(runDir, "*", "root", "tmp", "gust-marker"))
	paths := append([]string{"/tmp/gust-marker", runDir}, roots...)
	act := invokeOK(t, c, "tmp-reader", map[string]any{"paths": paths})
	var seen map[string]any
	json.Unmarshal(act.Response.Result, &seen)
	if tmp, _ := seen["tmp"].([]any); len(tmp) != 0 {
		t.Errorf("tmp-reader's /tmp holds %v, want nothing", tmp)
	}
	for _, p := range paths {
		if e, _ := seen[p].(string); !strings.HasPrefix(e, "ENOENT:") {
			t.Errorf("tmp-reader reading %s: %v, want ENOENT", p, seen[p])
		}
	}
	// The marker is still there, in the writer's own sandbox.
	if got := string(invokeOK(t, c, "tmp-writer", nil).Response.Result); got != `{"marker":"`+secret+`"}` {
		t.Errorf("tmp-writer reading its marker back: %s", got)
	}
	if _, err := os.Stat("/tmp/gust-marker"); err == nil {
		t.Errorf("the marker is in the host's /tmp")
	}
}
