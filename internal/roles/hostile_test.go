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

// pyPrelude is prepended to the Python attacks. An attack catches what
// stops it and returns {"blocked": true, "error": "EROFS: ...", ...}: a
// result with an "error" field, which OpenWhisk records as an application
// error (HTTP 502 to a blocking invoke). Attacks of several attempts also
// return "errors", each attempt's errno name ("ok" if it went through).
const pyPrelude = `import errno, os

def errname(e):
    if isinstance(e, OSError) and e.errno:
        return '%s: %s' % (errno.errorcode.get(e.errno, e.errno), e.strerror)
    return '%s: %s' % (type(e).__name__, e)

def blocked(e):
    return {'blocked': True, 'error': errname(e)}

def report(errors):
    got_through = [k for k, v in errors.items() if v == 'ok']
    return {'blocked': not got_through, 'errors': errors,
            'error': ', '.join('%s: %s' % kv for kv in errors.items())}

`

// hostileAttack is one action that tries to get out of its sandbox.
type hostileAttack struct {
	name   string
	kind   string
	memory int // MB; 0 = the default
	code   string
	args   map[string]any
	// check looks at the record and its decoded result; unless killed is
	// set, the runner has already checked the action reported blocked.
	check  func(t *testing.T, act *whisk.Activation, res map[string]any)
	killed bool // the sandbox kills the action: no result of its own
}

// TestHostileActions runs the whole platform (gust up) on the linux
// sandbox driver and a real Redis, and invokes real Node.js and Python
// actions that attack their sandbox (GitHub issue 3). Every attempt fails
// inside the sandbox, the activation record says what happened, and the
// invoker and the other sandboxes carry on. docs/security.md lists each
// attack with the mechanism that stops it.
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
	// sandbox, after them.
	put(t, c, "bystander", "nodejs:20", `let calls = 0; function main() { return {calls: ++calls} }`, false)
	if got := string(waitInvoker(t, c, "bystander").Response.Result); got != `{"calls":1}` {
		t.Fatalf("bystander: %s", got)
	}

	redisAddr := strings.TrimSuffix(strings.TrimPrefix(redisURL, "redis://"), "/0")
	hostFiles := []string{"/usr/gust-hostile", "/usr/bin/gust-hostile", "/etc/gust-hostile"}
	attacks := []hostileAttack{
		{
			name: "see-host-processes", kind: "python:3",
			code: pyPrelude + `def main(args):
    procs = {}
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                procs[pid] = f.read().replace(b'\0', b' ').decode().strip()
    try:
        os.kill(args['invokerPid'], 0)  # signal 0: only asks whether it exists
        res = {'blocked': False}
    except OSError as e:
        res = blocked(e)
    res['procs'] = procs
    return res
`,
			args: map[string]any{"invokerPid": os.Getpid()},
			check: func(t *testing.T, act *whisk.Activation, res map[string]any) {
				wantError(t, res, "ESRCH")
				procs, _ := res["procs"].(map[string]any)
				for pid, cmd := range procs {
					if cmd, _ := cmd.(string); !ownProcess(cmd) {
						t.Errorf("the sandbox sees process %s %q, not one of its own", pid, cmd)
					}
				}
				if len(procs) != 3 {
					t.Errorf("the sandbox sees processes %v, want its init, proxy and launcher", procs)
				}
			},
		},
		{
			name: "write-usr", kind: "nodejs:20",
			code: `const fs = require('fs');
function main(args) {
  const errors = {};
  for (const p of args.create) {
    try { fs.writeFileSync(p, 'pwned', {flag: 'wx'}); errors[p] = 'ok' } catch (e) { errors[p] = e.code }
  }
  for (const p of args.open) { // opened for writing, never written to
    try { fs.closeSync(fs.openSync(p, 'a')); errors[p] = 'ok' } catch (e) { errors[p] = e.code }
  }
  const through = Object.keys(errors).filter(p => errors[p] === 'ok');
  return {blocked: through.length === 0, errors, error: 'cannot write: ' + JSON.stringify(errors)};
}`,
			args: map[string]any{
				"create": append([]string{"/gust-hostile"}, hostFiles...),
				"open":   []string{"/usr/bin/env", "/etc/passwd"},
			},
			check: func(t *testing.T, act *whisk.Activation, res map[string]any) {
				// New files: the read-only bind mounts. The host's files
				// also belong to a uid the sandbox does not even map.
				want := map[string]string{
					"/gust-hostile": "EROFS", "/usr/gust-hostile": "EROFS", "/usr/bin/gust-hostile": "EROFS",
					"/etc/gust-hostile": "EROFS", "/usr/bin/env": "EACCES", "/etc/passwd": "EACCES",
				}
				wantErrors(t, res, want)
				for _, p := range hostFiles {
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
            errors[name] = 'ok'
        except OSError as e:
            errors[name] = errno.errorcode.get(e.errno, repr(e))
    return report(errors)
`,
			args: map[string]any{"targets": map[string]string{
				"gateway": cfg.Listen, "nats": cfg.NATSListen, "redis": redisAddr, "internet": "1.1.1.1:53",
			}},
			check: func(t *testing.T, act *whisk.Activation, res map[string]any) {
				// The sandbox's loopback is its own, empty one, and it has
				// no other interface.
				wantErrors(t, res, map[string]string{
					"gateway": "ECONNREFUSED", "nats": "ECONNREFUSED", "redis": "ECONNREFUSED", "internet": "ENETUNREACH",
				})
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
				wantError(t, res, "EAGAIN")
				if n, _ := res["forked"].(float64); n >= 512 {
					t.Errorf("forked %v processes, want fewer than the pids limit, 512", n)
				}
			},
		},
		{
			name: "exhaust-memory", kind: "python:3", memory: 128, killed: true,
			code: `def main(args):
    hog = []
    for mb in range(1, 1025):
        hog.append(b'x' * (1 << 20))
        if mb % 32 == 0:
            print('allocated %d MB' % mb, flush=True)
    return {'blocked': False, 'allocatedMB': len(hog)}
`,
			check: wantOOM,
		},
		{
			name: "exhaust-memory-at-init", kind: "python:3", memory: 128, killed: true,
			code: `hog = []
for mb in range(1, 1025):
    hog.append(b'x' * (1 << 20))
    if mb % 32 == 0:
        print('allocated %d MB' % mb, flush=True)

def main(args):
    return {'blocked': False, 'allocatedMB': len(hog)}
`,
			check: wantOOM,
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
    every = (ctypes.c_uint32 * 6)(*[0xffffffff] * 6)  # effective, permitted, inheritable; 2 words each
    errors = {'capset': 'ok' if libc.capset(header, every) == 0 else errno.errorcode[ctypes.get_errno()]}
    try:
        os.setuid(0)
        errors['setuid'] = 'ok'
    except OSError as e:
        errors['setuid'] = errno.errorcode[e.errno]
    res = report(errors)
    res['status'] = status
    return res
`,
			check: func(t *testing.T, act *whisk.Activation, res map[string]any) {
				wantErrors(t, res, map[string]string{"capset": "EPERM", "setuid": "EPERM"})
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
			code: pyPrelude + `import ctypes

libc = ctypes.CDLL(None, use_errno=True)

def call(f, *args):
    return 'ok' if f(*args) == 0 else errno.errorcode[ctypes.get_errno()]

def main(args):
    return report({
        'mount': call(libc.mount, b'tmpfs', b'/usr', b'tmpfs', 0, None),
        'umount': call(libc.umount2, b'/proc', 2),  # MNT_DETACH
        'unshare_user': call(libc.unshare, 0x10000000),
        'unshare_mount': call(libc.unshare, 0x00020000),
        'unshare_net': call(libc.unshare, 0x40000000),
        'chroot': call(libc.chroot, b'/tmp'),
    })
`,
			check: func(t *testing.T, act *whisk.Activation, res map[string]any) {
				want := map[string]string{}
				for _, call := range []string{"mount", "umount", "unshare_user", "unshare_mount", "unshare_net", "chroot"} {
					want[call] = "EPERM"
				}
				wantErrors(t, res, want)
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
				wantError(t, res, "ENOSPC")
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
	// The bystander keeps being invoked while the attacks run.
	stopBystander := keepInvoking(t, c, "bystander")
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			act := invokeBlocking(t, c, a.name, a.args)
			t.Logf("%s: %s", act.Response.Status, act.Response.Result)
			var res map[string]any
			if err := json.Unmarshal(act.Response.Result, &res); err != nil {
				t.Fatalf("result %s: %v", act.Response.Result, err)
			}
			if !a.killed {
				wantStatus(t, act, whisk.StatusApplicationError)
				if res["blocked"] != true {
					t.Errorf("the attack went through: %s", act.Response.Result)
				}
			}
			a.check(t, act, res)
			if !a.killed && len(act.Logs) != 0 {
				t.Errorf("logs %q, want none: the attack printed nothing", act.Logs)
			}
			stored := waitActivation(t, c, act.ActivationID)
			if stored.StatusCode != act.StatusCode || string(stored.Response.Result) != string(act.Response.Result) ||
				len(stored.Logs) != len(act.Logs) {
				t.Errorf("stored record %+v (%d log lines) differs from the invoke's %+v (%d)",
					stored.Response, len(stored.Logs), act.Response, len(act.Logs))
			}
		})
	}

	t.Run("log-flood", func(t *testing.T) { testLogFlood(t, c) })
	t.Run("private-tmp", func(t *testing.T) { testPrivateTmp(t, c, cfg) })

	// The invoker carries on: the bystander ran throughout, in the same
	// sandbox, and a new action still starts and runs.
	during, failures := stopBystander()
	if during == 0 || len(failures) > 0 {
		t.Errorf("the bystander ran %d times during the attacks and failed %d times: %q", during, len(failures), failures)
	}
	act := invokeOK(t, c, "bystander", nil)
	if got, want := string(act.Response.Result), fmt.Sprintf(`{"calls":%d}`, during+2); got != want {
		t.Errorf("bystander after the attacks: %s, want %s: every call in the same sandbox", got, want)
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
// of the sandbox's own: its init, the runtime proxy or the launcher.
func ownProcess(cmd string) bool {
	return cmd == "gust-sandbox-init" || cmd == "gust-runtime" ||
		strings.HasPrefix(cmd, "/usr/bin/python3 -S -B /tmp/gust-runtime-") || // a launcher of its own
		cmd == "/usr/bin/python3 -S -B /.gust/launchers/launcher.pyc" // the prepared one
}

// keepInvoking invokes name, blocking, one call at a time, every 20 ms
// until stop is called (or t ends); stop returns how many calls succeeded
// and what went wrong with the others.
func keepInvoking(t *testing.T, c *client.Client, name string) (stop func() (ok int, failures []string)) {
	done := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	var okCalls int
	var failed []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			inv, err := c.Invoke(context.Background(), name, nil, true, false, 10*time.Second)
			var act *whisk.Activation
			if err == nil {
				act, err = inv.Activation()
			}
			switch {
			case err != nil:
				failed = append(failed, err.Error())
			case !act.Response.Success:
				failed = append(failed, act.Response.Status+": "+string(act.Response.Result))
			default:
				okCalls++
			}
		}
	}()
	stop = func() (int, []string) {
		once.Do(func() { close(done) })
		wg.Wait()
		return okCalls, failed
	}
	t.Cleanup(func() { stop() })
	return stop
}

// waitInvoker invokes name until the controller has heard from the invoker
// (503 until its first heartbeat), and fails t unless it then succeeds.
func waitInvoker(t *testing.T, c *client.Client, name string) *whisk.Activation {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		inv, err := c.Invoke(context.Background(), name, nil, true, false, 60*time.Second)
		if err == nil {
			act, err := inv.Activation()
			if err != nil || !act.Response.Success {
				t.Fatalf("invoke %s: status %d: %v (%s)", name, inv.Status, err, inv.Body)
			}
			return act
		}
		if !errors.Is(err, client.ErrUnavailable) {
			t.Fatalf("invoke %s: %v", name, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no invoker after 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// invokeBlocking runs name and returns its record, whatever its status,
// after checking the HTTP status matches it (200 success, else 502).
func invokeBlocking(t *testing.T, c *client.Client, name string, args map[string]any) *whisk.Activation {
	t.Helper()
	inv, err := c.Invoke(context.Background(), name, args, true, false, 60*time.Second)
	if err != nil {
		t.Fatalf("invoke %s: %v", name, err)
	}
	act, err := inv.Activation()
	if err != nil {
		t.Fatalf("invoke %s: status %d: %v (%s)", name, inv.Status, err, inv.Body)
	}
	want := 200
	if act.StatusCode != whisk.StatusSuccess {
		want = 502
	}
	if inv.Status != want || inv.ActivationID != act.ActivationID {
		t.Errorf("invoke %s: HTTP %d, activation %s for a %s record %s; want %d", name, inv.Status, inv.ActivationID, act.Response.Status, act.ActivationID, want)
	}
	return act
}

// invokeOK runs name blocking and fails t unless it succeeds.
func invokeOK(t *testing.T, c *client.Client, name string, args map[string]any) *whisk.Activation {
	t.Helper()
	act := invokeBlocking(t, c, name, args)
	if !act.Response.Success {
		t.Fatalf("invoke %s: %s %s, want success", name, act.Response.Status, act.Response.Result)
	}
	return act
}

func wantStatus(t *testing.T, act *whisk.Activation, code int) {
	t.Helper()
	if act.StatusCode != code || act.Response.StatusCode != code || act.Response.Status != whisk.StatusName(code) ||
		act.Response.Success != (code == whisk.StatusSuccess) {
		t.Errorf("record status %d, response %s/%d/%v; want %q", act.StatusCode,
			act.Response.Status, act.Response.StatusCode, act.Response.Success, whisk.StatusName(code))
	}
}

// wantOOM checks the record of an action killed for allocating past its
// 128 MB: a developer error that says so, with the logs it printed first.
func wantOOM(t *testing.T, act *whisk.Activation, res map[string]any) {
	t.Helper()
	wantStatus(t, act, whisk.StatusDeveloperError)
	if e, _ := res["error"].(string); !strings.Contains(e, "exceeded its memory limit of 128 MB") {
		t.Errorf("error = %q, want it to say the action exceeded its memory limit of 128 MB", e)
	}
	if limits := string(act.Annotations.Get(whisk.AnnLimits)); !strings.Contains(limits, `"memory":128`) {
		t.Errorf("limits annotation %s, want memory 128", limits)
	}
	logs := strings.Join(act.Logs, "\n")
	if !strings.Contains(logs, "stdout: allocated 64 MB") || strings.Contains(logs, "allocated 128 MB") {
		t.Errorf("logs %q, want the allocations before the kill and none at 128 MB", act.Logs)
	}
}

// wantError checks the error of an attack that failed with one errno.
func wantError(t *testing.T, res map[string]any, errno string) {
	t.Helper()
	if e, _ := res["error"].(string); !strings.HasPrefix(e, errno+":") {
		t.Errorf("error %q, want %s", res["error"], errno)
	}
}

// wantErrors checks each attempt of an attack of several.
func wantErrors(t *testing.T, res map[string]any, want map[string]string) {
	t.Helper()
	got, _ := res["errors"].(map[string]any)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %v, want %s", k, got[k], w)
		}
	}
}

// testLogFlood prints 40 times the 10 MB log limit: the record keeps the
// first 10 MB and ends with OpenWhisk's truncation notice, and the heap of
// the process running the platform does not grow with what was printed.
// (It grows by ~100 MB whether the action prints 20 MB or 600 MB: the
// copies of a 10 MB record through NATS, Redis, the gateway and the
// client, all in this process.)
func testLogFlood(t *testing.T, c *client.Client) {
	const printMB = 400
	put(t, c, "log-flood", "python:3", `def main(args):
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
	act := invokeBlocking(t, c, "log-flood", map[string]any{"mb": printMB})
	close(stop)
	wg.Wait()
	t.Logf("printed %d MB in %v; heap in use %d MB before, peak %d MB", printMB, time.Since(begin).Round(time.Millisecond), base>>20, peak>>20)

	wantStatus(t, act, whisk.StatusSuccess)
	if got := string(act.Response.Result); got != fmt.Sprintf(`{"printedMB":%d}`, printMB) {
		t.Errorf("result %s", got)
	}
	if grew := int64(peak) - int64(base); grew > printMB<<20/2 {
		t.Errorf("the heap grew by %d MB while the action printed %d MB", grew>>20, printMB)
	}
	logs := waitActivation(t, c, act.ActivationID).Logs
	if len(logs) < 2 {
		t.Fatalf("%d log lines", len(logs))
	}
	notice := logs[len(logs)-1]
	if want := " stderr: Logs were truncated because the total bytes size exceeds the limit of 10485760 bytes."; !strings.HasSuffix(notice, want) {
		t.Errorf("last log line %q, want it to end with %q", notice, want)
	}
	size := 0
	for _, l := range logs[:len(logs)-1] {
		size += len(l) + 1
		if !strings.HasSuffix(l, " stdout: "+strings.Repeat("x", 1023)) {
			t.Fatalf("log line %q is not one the action printed", l)
		}
	}
	if size > 10<<20 || size < 10<<20-2048 {
		t.Errorf("the record keeps %d bytes of logs, want the 10 MB limit's worth", size)
	}
}

// testPrivateTmp writes a marker in one action's /tmp and looks for it from
// another action's sandbox, directly and through the host's directory of
// sandboxes.
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
	want := `{"marker":"` + secret + `"}`
	if got := string(invokeOK(t, c, "tmp-writer", map[string]any{"write": secret}).Response.Result); got != want {
		t.Fatalf("tmp-writer: %s, want %s", got, want)
	}
	runDir := filepath.Join(cfg.DataDir, "sandboxes")
	paths := []string{"/tmp/gust-marker", runDir}
	act := invokeOK(t, c, "tmp-reader", map[string]any{"paths": paths})
	var seen map[string]any
	json.Unmarshal(act.Response.Result, &seen)
	tmp, _ := seen["tmp"].([]any)
	for _, name := range tmp {
		if name, _ := name.(string); !strings.HasPrefix(name, "gust-runtime-") {
			t.Errorf("tmp-reader's /tmp holds %q: only its runtime's directory should be there", name)
		}
	}
	for _, p := range paths {
		if e, _ := seen[p].(string); !strings.HasPrefix(e, "ENOENT:") {
			t.Errorf("tmp-reader reading %s: %v, want ENOENT", p, seen[p])
		}
	}
	// The marker is still there, in the writer's own sandbox, and only there.
	if got := string(invokeOK(t, c, "tmp-writer", nil).Response.Result); got != want {
		t.Errorf("tmp-writer reading its marker back: %s, want %s", got, want)
	}
	if _, err := os.Stat("/tmp/gust-marker"); err == nil {
		t.Errorf("the marker is in the host's /tmp")
	}
}
