package roles

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/internal/admin"
	"github.com/gust-faas/gust/internal/redistest"
	"github.com/gust-faas/gust/internal/syncbuf"
	"github.com/gust-faas/gust/whisk"
)

// TestRolesAsProcesses runs a deployment the way deploy/ does: the gust
// binary as three separate processes, `gust controller` (embedding the
// NATS server), `gust gateway` and `gust invoker`, sharing a real
// redis-server. It invokes an action blocking, stops the invoker, has a
// non-blocking invocation accepted with no invoker alive, starts a second
// invoker that runs it, and checks that every process drains and exits 0 on
// SIGTERM.
func TestRolesAsProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the gust binary and starts four processes")
	}
	if _, err := os.Stat(nodeBinary); err != nil {
		t.Skipf("%s not installed: the test runs a nodejs action", nodeBinary)
	}
	redisURL := redistest.Start(t) // skips without redis-server
	bin := buildGust(t)

	// Credentials from `gust admin` straight into Redis, before any role runs.
	alice := strings.TrimSpace(runGust(t, bin, "admin", "--data-dir", t.TempDir(), "--redis", redisURL, "user", "create", "alice"))
	if strings.Count(alice, ":") != 1 {
		t.Fatalf("gust admin user create printed %q, want uuid:key", alice)
	}

	natsAddr, apiAddr := freeAddr(t), freeAddr(t)
	natsURL := "nats://" + natsAddr
	// Every role gets the shared Redis and a data directory of its own.
	args := func(role, dataDir string, more ...string) []string {
		return slices.Concat([]string{role, "--redis", redisURL, "--data-dir", dataDir, "--log-level", "debug"}, more)
	}
	ctl := startGust(t, bin, "controller", args("controller", t.TempDir(), "--nats-listen", natsAddr)...)
	waitUntil(t, ctl, "the embedded NATS to listen on "+natsAddr, 15*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", natsAddr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	gw := startGust(t, bin, "gateway", args("gateway", t.TempDir(), "--nats", natsURL, "--listen", apiAddr)...)
	// An invoker's sandboxes live in its data directory: processes that
	// still name it after the invoker exited are leaked sandboxes.
	inv1Dir, inv2Dir := t.TempDir(), t.TempDir()
	invokerArgs := func(id, dataDir string) []string {
		return args("invoker", dataDir, "--nats", natsURL, "--sandbox", "process", "--invoker-id", id,
			"--memory", "512", "--prewarm", "nodejs:20:256:1", "--api-host", "http://"+apiAddr)
	}
	inv1 := startGust(t, bin, "invoker inv1", invokerArgs("inv1", inv1Dir)...)

	ctx := context.Background()
	c := apiClient(t, apiAddr, alice)
	waitUntil(t, gw, "the API to answer", 20*time.Second, func() bool {
		_, err := c.ListNamespaces(ctx)
		return err == nil
	})
	guest := apiClient(t, apiAddr, admin.GuestAuth)
	waitUntil(t, ctl, "the controller to create the guest namespace", 10*time.Second, func() bool {
		ns, err := guest.ListNamespaces(ctx)
		return err == nil && len(ns) == 1 && ns[0] == admin.GuestNamespace
	})
	waitUntil(t, inv1, "invoker inv1 to be ready", 20*time.Second, func() bool { return inv1.logged(`msg="invoker ready"`) })

	put(t, c, "hello", "nodejs:20", `function main(p) { console.log("hi " + p.name); return {greeting: "Hello " + p.name} }`, false)

	// Blocking, through gateway -> NATS -> inv1 -> Redis. The gateway's
	// controller learns of inv1 from its first heartbeat: until then it
	// answers 503, which is retried.
	var act *whisk.Activation
	for deadline := time.Now().Add(10 * time.Second); act == nil; {
		inv, err := c.Invoke(ctx, "hello", map[string]any{"name": "blocking"}, true, false, 30*time.Second)
		if errors.Is(err, client.ErrUnavailable) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("blocking invoke: %v", err)
		}
		if act, err = inv.Activation(); err != nil || inv.Status != 200 {
			t.Fatalf("blocking invoke: status %d, body %s, %v; want 200 and a record", inv.Status, inv.Body, err)
		}
	}
	if want := `{"greeting":"Hello blocking"}`; !act.Response.Success || compactJSON(act.Response.Result) != want {
		t.Fatalf("blocking result = %s (success %v), want %s", act.Response.Result, act.Response.Success, want)
	}
	stored := waitActivation(t, c, act.ActivationID)
	if stored.Namespace != "alice" || compactJSON(stored.Response.Result) != compactJSON(act.Response.Result) {
		t.Errorf("stored record: namespace %q result %s; want alice and %s", stored.Namespace, stored.Response.Result, act.Response.Result)
	}

	if len(processesNaming(inv1Dir)) == 0 {
		t.Fatalf("no process names %s while invoker inv1 runs sandboxes there: the leak check below would see nothing", inv1Dir)
	}

	// The only invoker stops: accepted work must wait for the next one.
	stopGust(t, inv1, 10*time.Second)
	noLeftovers(t, "invoker inv1", inv1Dir)
	inv, err := c.Invoke(ctx, "hello", map[string]any{"name": "async"}, false, false, 0)
	if err != nil || inv.Status != 202 || inv.ActivationID == "" {
		t.Fatalf("non-blocking invoke with no invoker: %+v, %v; want 202 and an id", inv, err)
	}
	if _, err := c.GetActivation(ctx, inv.ActivationID); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("activation %s has a record with no invoker alive (err %v)", inv.ActivationID, err)
	}
	// inv1 has exited: only inv2 can run it.
	inv2 := startGust(t, bin, "invoker inv2", invokerArgs("inv2", inv2Dir)...)
	var ran *whisk.Activation
	waitUntil(t, inv2, "invoker inv2 to run the accepted activation", 20*time.Second, func() bool {
		ran, err = c.GetActivation(ctx, inv.ActivationID)
		return err == nil
	})
	if want := `{"greeting":"Hello async"}`; compactJSON(ran.Response.Result) != want || ran.Namespace != "alice" {
		t.Errorf("accepted activation ran with result %s in %q, want %s in alice", ran.Response.Result, ran.Namespace, want)
	}

	// Every role drains on SIGTERM, all at once as on a host's shutdown.
	var wg sync.WaitGroup
	for _, p := range []*gustProc{inv2, gw, ctl} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stopGust(t, p, 10*time.Second)
		}()
	}
	wg.Wait()
	noLeftovers(t, "invoker inv2", inv2Dir)
}

// nodeBinary is the node the nodejs runtime runs.
const nodeBinary = "/usr/bin/node"

// buildGust builds ./cmd/gust of this module into a temporary directory.
func buildGust(t *testing.T) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skip("the go command is not available to build the gust binary")
		}
	}
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		t.Fatalf("go env GOMOD = %q, %v: cannot find the module root", gomod, err)
	}
	bin := filepath.Join(t.TempDir(), "gust")
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/gust")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/gust: %v\n%s", err, out)
	}
	return bin
}

// gustEnv is the environment without GUST_* variables, so that only the
// flags configure the processes.
func gustEnv() []string {
	env := os.Environ()
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GUST_") {
			out = append(out, kv)
		}
	}
	return out
}

// runGust runs a short gust command and returns its standard output.
func runGust(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = gustEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gust %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return string(out)
}

// gustProc is one role running as its own process. Its waiter goroutine is
// owned by the test: the cleanup kills the process group if the process is
// still running and waits for the waiter.
type gustProc struct {
	name string
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, set before done closes
}

// startGust runs `gust args...`, named name in messages.
func startGust(t *testing.T, bin, name string, args ...string) *gustProc {
	t.Helper()
	p := &gustProc{name: name, out: &syncbuf.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = gustEnv()
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start gust %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill() // its sandboxes die with it (Pdeathsig)
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- output of gust %s ---\n%s", p.name, p.out.String())
		}
	})
	return p
}

// stopGust sends SIGTERM and expects a clean exit (status 0) within limit.
func stopGust(t *testing.T, p *gustProc, limit time.Duration) {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("gust %s: SIGTERM: %v", p.name, err)
		return
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("gust %s exited with %v after SIGTERM, want status 0", p.name, p.err)
		}
	case <-time.After(limit):
		t.Errorf("gust %s did not exit within %v of SIGTERM", p.name, limit)
	}
}

// noLeftovers fails t if processes still name dir, an invoker's data
// directory, a moment after the invoker exited; it kills them (they are
// this test's).
func noLeftovers(t *testing.T, name, dir string) {
	t.Helper()
	var pids []int
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if pids = processesNaming(dir); len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
	}
	t.Errorf("gust %s exited and left processes %v behind", name, pids)
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// processesNaming lists the processes whose working directory, command
// line or environment contains s.
func processesNaming(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		environ, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if strings.Contains(cwd, s) || bytes.Contains(cmdline, []byte(s)) || bytes.Contains(environ, []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// logged reports whether the process wrote s.
func (p *gustProc) logged(s string) bool { return strings.Contains(p.out.String(), s) }

// waitUntil polls cond until it holds, failing the test when p exits first
// or the limit passes.
func waitUntil(t *testing.T, p *gustProc, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		select {
		case <-p.done:
			t.Fatalf("waiting for %s: gust %s exited: %v", what, p.name, p.err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %v", what, limit)
		}
	}
}

func apiClient(t *testing.T, addr, auth string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{APIHost: "http://" + addr, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func compactJSON(b json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}
