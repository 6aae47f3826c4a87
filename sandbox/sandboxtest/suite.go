package sandboxtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gust-faas/gust/internal/syncbuf"
	"github.com/gust-faas/gust/sandbox"
)

// Options tunes Run for a driver.
type Options struct {
	// RunDir is the driver's run directory; when set, Run checks that
	// Destroy leaves nothing of a sandbox in it.
	RunDir string
	// Kind is Spec.Kind; default "nodejs:20".
	Kind string
	// MemoryMB is Spec.MemoryMB; default 128.
	MemoryMB int
	// Concurrency is how many sandboxes the concurrency test runs at once;
	// default 6.
	Concurrency int
	// Timeout bounds each lifecycle call; default 20s.
	Timeout time.Duration
}

func (o *Options) defaults() {
	if o.Kind == "" {
		o.Kind = "nodejs:20"
	}
	if o.MemoryMB == 0 {
		o.MemoryMB = 128
	}
	if o.Concurrency == 0 {
		o.Concurrency = 6
	}
	if o.Timeout == 0 {
		o.Timeout = 20 * time.Second
	}
}

// suite is the state one Run shares between its tests.
type suite struct {
	d        sandbox.Driver
	opts     Options
	seq      atomic.Int64
	baseline map[int]bool // children of this process before the suite
}

// Run runs the conformance suite against d, whose sandboxes must start
// StandInEntry as their runtime proxy.
func Run(t *testing.T, d sandbox.Driver, opts Options) {
	opts.defaults()
	s := &suite{d: d, opts: opts, baseline: map[int]bool{}}
	for _, pid := range children(t) {
		s.baseline[pid] = true
	}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"Lifecycle", s.testLifecycle},
		{"DestroyBeforeStart", s.testDestroyBeforeStart},
		{"StartCanceled", s.testStartCanceled},
		{"Output", s.testOutput},
		{"OutputFiles", s.testOutputFiles},
		{"StopKillsTree", s.testStopKillsTree},
		{"Crash", s.testCrash},
		{"ConcurrentConnect", s.testConcurrentConnect},
		{"ManySandboxes", s.testManySandboxes},
		{"PauseResume", s.testPauseResume},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.checkNoLeaks(t) // registered first: runs after the test's cleanups
			tc.fn(t)
		})
	}
}

func (s *suite) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	t.Cleanup(cancel)
	return ctx
}

func (s *suite) spec() sandbox.Spec {
	return sandbox.Spec{
		ID:       fmt.Sprintf("sbt%d-%d", os.Getpid(), s.seq.Add(1)),
		Kind:     s.opts.Kind,
		MemoryMB: s.opts.MemoryMB,
	}
}

// create makes a sandbox from spec and destroys it when the test ends.
func (s *suite) create(t *testing.T, spec sandbox.Spec) sandbox.Sandbox {
	t.Helper()
	sb, err := s.d.Create(s.ctx(t), spec)
	if err != nil {
		t.Fatalf("Create(%s): %v", spec.ID, err)
	}
	if sb.ID() != spec.ID {
		t.Errorf("ID() = %q, want %q", sb.ID(), spec.ID)
	}
	t.Cleanup(func() {
		if err := sb.Destroy(context.Background()); err != nil {
			t.Errorf("cleanup Destroy(%s): %v", spec.ID, err)
		}
	})
	return sb
}

// started creates and starts a sandbox.
func (s *suite) started(t *testing.T, spec sandbox.Spec) sandbox.Sandbox {
	t.Helper()
	sb := s.create(t, spec)
	if err := sb.Start(s.ctx(t)); err != nil {
		t.Fatalf("Start(%s): %v", spec.ID, err)
	}
	return sb
}

// call sends one request to the stand-in and returns the body of a 200.
func call(ctx context.Context, c *http.Client, method, path, body string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://sandbox"+path, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	return string(b), nil
}

func (s *suite) mustCall(t *testing.T, c *http.Client, method, path, body string) string {
	t.Helper()
	got, err := call(s.ctx(t), c, method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return got
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (s *suite) waitDone(t *testing.T, sb sandbox.Sandbox, what string) {
	t.Helper()
	select {
	case <-sb.Done():
	case <-time.After(s.opts.Timeout):
		t.Fatalf("Done not closed %s within %v", what, s.opts.Timeout)
	}
}

func (s *suite) testLifecycle(t *testing.T) {
	ctx := s.ctx(t)
	spec := s.spec()
	sb := s.create(t, spec)

	if c, err := sb.Connect(ctx); err == nil {
		c.Close()
		t.Fatal("Connect before Start succeeded")
	} else if !errors.Is(err, sandbox.ErrNotStarted) {
		t.Errorf("Connect before Start: %v, want ErrNotStarted", err)
	}
	if closed(sb.Done()) {
		t.Fatal("Done closed before Start")
	}
	if err := sb.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := sb.Start(ctx); err == nil {
		t.Error("second Start succeeded")
	}

	c := Client(sb)
	defer c.CloseIdleConnections()
	var env Env
	if err := json.Unmarshal([]byte(s.mustCall(t, c, "GET", "/env", "")), &env); err != nil {
		t.Fatalf("GET /env: %v", err)
	}
	if env.Kind != spec.Kind {
		t.Errorf("runtime kind = %q, want %q", env.Kind, spec.Kind)
	}
	if got := s.mustCall(t, c, "POST", "/init", `{"value":{}}`); got != `{"ok":true}` {
		t.Errorf("POST /init = %s", got)
	}
	const value = `{"value":{"name":"gust"}}`
	if got := s.mustCall(t, c, "POST", "/run", value); got != value {
		t.Errorf("POST /run = %s, want %s", got, value)
	}
	if closed(sb.Done()) {
		t.Fatal("Done closed while running")
	}

	if err := sb.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	s.waitDone(t, sb, "after Stop")
	if err := sb.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if conn, err := sb.Connect(ctx); err == nil {
		conn.Close()
		t.Error("Connect after Stop succeeded")
	} else if !errors.Is(err, sandbox.ErrStopped) {
		t.Errorf("Connect after Stop: %v, want ErrStopped", err)
	}
	if err := sb.Start(ctx); err == nil {
		t.Error("Start after Stop succeeded")
	}
	if err := sb.Destroy(ctx); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if err := sb.Destroy(ctx); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
	if err := sb.Stop(ctx); err != nil {
		t.Errorf("Stop after Destroy: %v", err)
	}
	s.checkDirGone(t, spec.ID)
}

func (s *suite) testDestroyBeforeStart(t *testing.T) {
	ctx := s.ctx(t)
	spec := s.spec()
	sb := s.create(t, spec)
	if err := sb.Destroy(ctx); err != nil {
		t.Fatalf("Destroy before Start: %v", err)
	}
	if !closed(sb.Done()) {
		t.Error("Done not closed after Destroy of a sandbox never started")
	}
	if err := sb.Start(ctx); err == nil {
		t.Error("Start after Destroy succeeded")
	}
	s.checkDirGone(t, spec.ID)

	// The same ID is free again.
	sb2 := s.create(t, spec)
	if err := sb2.Destroy(ctx); err != nil {
		t.Fatalf("Destroy of a reused ID: %v", err)
	}
}

func (s *suite) testStartCanceled(t *testing.T) {
	sb := s.create(t, s.spec())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := sb.Start(ctx)
	if err == nil {
		t.Fatal("Start with a canceled context succeeded")
	}
	if !errors.Is(err, sandbox.ErrStartFailed) {
		t.Errorf("Start with a canceled context: %v, want ErrStartFailed", err)
	}
	if err := sb.Destroy(s.ctx(t)); err != nil {
		t.Fatalf("Destroy after a failed Start: %v", err)
	}
}

// waitFor polls until cond holds or the suite's timeout passes.
func (s *suite) waitFor(cond func() bool) bool {
	deadline := time.Now().Add(s.opts.Timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}

func (s *suite) testOutput(t *testing.T) {
	var stdout, stderr syncbuf.Buffer
	spec := s.spec()
	spec.Stdout, spec.Stderr = &stdout, &stderr
	sb := s.started(t, spec)
	c := Client(sb)
	defer c.CloseIdleConnections()
	line := "hello from " + spec.ID
	s.mustCall(t, c, "POST", "/log", line)
	if !s.waitFor(func() bool { return strings.Contains(stdout.String(), line+"\n") }) {
		t.Errorf("stdout = %q, want it to hold %q", stdout.String(), line)
	}
	if !s.waitFor(func() bool { return strings.Contains(stderr.String(), line+" stderr\n") }) {
		t.Errorf("stderr = %q, want it to hold %q", stderr.String(), line+" stderr")
	}
	if strings.Contains(stdout.String(), "stderr") {
		t.Errorf("stderr output reached stdout: %q", stdout.String())
	}
}

func (s *suite) testOutputFiles(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got syncbuf.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		io.Copy(&got, r)
	}()
	spec := s.spec()
	spec.Stdout, spec.Stderr = w, w
	sb := s.started(t, spec)
	c := Client(sb)
	line := "file output from " + spec.ID
	s.mustCall(t, c, "POST", "/log", line)
	c.CloseIdleConnections()
	if err := sb.Destroy(s.ctx(t)); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	w.Close()
	select {
	case <-copied: // every writer is gone: the sandbox holds no copy of w
	case <-time.After(s.opts.Timeout):
		t.Fatal("the output pipe is still open after Destroy")
	}
	if want := line + "\n" + line + " stderr\n"; got.String() != want {
		t.Errorf("output = %q, want %q", got.String(), want)
	}
}

// spawnStraggler asks the stand-in to start a sleeping child and returns its
// token, which appears on the child's command line.
func (s *suite) spawnStraggler(t *testing.T, c *http.Client, id string) string {
	t.Helper()
	token := "sbt-straggler-" + id
	s.mustCall(t, c, "POST", "/spawn?token="+token, "")
	if !s.waitFor(func() bool { return len(withToken(t, token)) > 0 }) {
		t.Fatalf("the straggler %s never appeared in /proc", token)
	}
	return token
}

func (s *suite) checkTokenGone(t *testing.T, token string) {
	t.Helper()
	if !s.waitFor(func() bool { return len(withToken(t, token)) == 0 }) {
		t.Errorf("processes %v (%s) survived the sandbox", withToken(t, token), token)
	}
}

func (s *suite) testStopKillsTree(t *testing.T) {
	spec := s.spec()
	sb := s.started(t, spec)
	c := Client(sb)
	defer c.CloseIdleConnections()
	token := s.spawnStraggler(t, c, spec.ID)
	if err := sb.Stop(s.ctx(t)); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	s.waitDone(t, sb, "after Stop")
	s.checkTokenGone(t, token)
}

func (s *suite) testCrash(t *testing.T) {
	spec := s.spec()
	sb := s.started(t, spec)
	c := Client(sb)
	defer c.CloseIdleConnections()
	token := s.spawnStraggler(t, c, spec.ID)
	if _, err := call(s.ctx(t), c, "POST", "/exit", ""); err == nil {
		t.Error("POST /exit answered")
	}
	s.waitDone(t, sb, "after the runtime crashed")
	s.checkTokenGone(t, token)
	if r, ok := sb.(sandbox.ExitReporter); ok {
		if reason := r.ExitReason(); reason == "" {
			t.Error("ExitReason() is empty after a crash")
		} else {
			t.Logf("ExitReason() = %q", reason)
		}
	}
	if conn, err := sb.Connect(s.ctx(t)); err == nil {
		// Connect may still pass its state check; the peer must be gone.
		buf := make([]byte, 1)
		conn.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := conn.Read(buf); err == nil {
			t.Error("a connection to a crashed sandbox answered")
		}
		conn.Close()
	}
	if err := sb.Stop(s.ctx(t)); err != nil {
		t.Errorf("Stop after a crash: %v", err)
	}
	if err := sb.Destroy(s.ctx(t)); err != nil {
		t.Errorf("Destroy after a crash: %v", err)
	}
	s.checkDirGone(t, spec.ID)
}

func (s *suite) testConcurrentConnect(t *testing.T) {
	sb := s.started(t, s.spec())
	const workers, requests = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := Client(sb)
			defer c.CloseIdleConnections()
			if w%2 == 0 { // half the workers open a new connection per request
				c.Transport.(*http.Transport).DisableKeepAlives = true
			}
			for i := range requests {
				want := fmt.Sprintf(`{"worker":%d,"i":%d}`, w, i)
				got, err := call(s.ctx(t), c, "POST", "/run", want)
				if err == nil && got != want {
					err = fmt.Errorf("POST /run = %s, want %s", got, want)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func (s *suite) testManySandboxes(t *testing.T) {
	n := s.opts.Concurrency
	var wg sync.WaitGroup
	errs := make(chan error, n)
	ids := make([]string, n)
	for i := range n {
		spec := s.spec()
		ids[i] = spec.ID
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.oneSandbox(spec); err != nil {
				errs <- fmt.Errorf("sandbox %s: %w", spec.ID, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, id := range ids {
		s.checkDirGone(t, id)
	}
}

// oneSandbox runs a whole lifecycle; it is safe to call from any goroutine.
func (s *suite) oneSandbox(spec sandbox.Spec) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	sb, err := s.d.Create(ctx, spec)
	if err != nil {
		return err
	}
	defer func() {
		if derr := sb.Destroy(ctx); derr != nil && err == nil {
			err = derr
		}
	}()
	if err := sb.Start(ctx); err != nil {
		return err
	}
	c := Client(sb)
	defer c.CloseIdleConnections()
	want := `{"id":"` + spec.ID + `"}`
	got, err := call(ctx, c, "POST", "/run", want)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("POST /run = %s, want %s", got, want)
	}
	return nil
}

func (s *suite) testPauseResume(t *testing.T) {
	sb := s.started(t, s.spec())
	p, ok := sb.(sandbox.Pauser)
	if !ok {
		t.Skipf("the %s driver's sandboxes do not implement sandbox.Pauser", s.d.Name())
	}
	ctx := s.ctx(t)
	c := Client(sb)
	defer c.CloseIdleConnections()
	s.mustCall(t, c, "POST", "/run", `{}`)

	if err := p.Pause(ctx); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if err := p.Pause(ctx); err != nil {
		t.Errorf("Pause of a paused sandbox: %v", err)
	}
	frozen := Client(sb)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	if _, err := call(short, frozen, "POST", "/run", `{}`); err == nil {
		t.Error("a paused sandbox answered")
	}
	cancel()
	frozen.CloseIdleConnections()

	if err := p.Resume(ctx); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if err := p.Resume(ctx); err != nil {
		t.Errorf("Resume of a running sandbox: %v", err)
	}
	if got := s.mustCall(t, c, "POST", "/run", `{"after":"resume"}`); got != `{"after":"resume"}` {
		t.Errorf("POST /run after Resume = %s", got)
	}

	// A paused sandbox must still stop and be destroyed.
	if err := p.Pause(ctx); err != nil {
		t.Fatalf("second Pause: %v", err)
	}
	if err := sb.Destroy(ctx); err != nil {
		t.Fatalf("Destroy of a paused sandbox: %v", err)
	}
	s.waitDone(t, sb, "after Destroy of a paused sandbox")
}

func (s *suite) checkDirGone(t *testing.T, id string) {
	t.Helper()
	if s.opts.RunDir == "" {
		return
	}
	if _, err := os.Lstat(filepath.Join(s.opts.RunDir, id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after Destroy (err %v)", filepath.Join(s.opts.RunDir, id), err)
	}
}

// checkNoLeaks registers a check that runs after the test's other
// cleanups destroyed its sandboxes: no child process of this one and no
// sandbox directory remain.
func (s *suite) checkNoLeaks(t *testing.T) {
	t.Cleanup(func() {
		var left []int
		ok := s.waitFor(func() bool {
			left = left[:0]
			for _, pid := range children(t) {
				if !s.baseline[pid] {
					left = append(left, pid)
				}
			}
			return len(left) == 0
		})
		if !ok {
			t.Errorf("child processes left after Destroy: %v", describe(left))
		}
		if s.opts.RunDir == "" {
			return
		}
		prefix := fmt.Sprintf("sbt%d-", os.Getpid())
		entries, _ := os.ReadDir(s.opts.RunDir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) {
				t.Errorf("%s left in RunDir after Destroy", e.Name())
			}
		}
	})
}

// children lists the live (not zombie) child processes of this process, and
// zombies too: an unreaped child is a leak of the driver's.
func children(t *testing.T) []int {
	self := os.Getpid()
	var out []int
	forEachProc(func(pid int) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			return
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 {
			return
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == self {
			out = append(out, pid)
		}
	})
	return out
}

// withToken lists live processes whose command line holds token.
func withToken(t *testing.T, token string) []int {
	var out []int
	forEachProc(func(pid int) {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !bytes.Contains(cmdline, []byte(token)) {
			return
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if i := bytes.LastIndexByte(st, ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
				return // killed, waiting for its new parent to reap it
			}
		}
		out = append(out, pid)
	})
	return out
}

func forEachProc(fn func(pid int)) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			fn(pid)
		}
	}
}

func describe(pids []int) string {
	var b strings.Builder
	for _, pid := range pids {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		fmt.Fprintf(&b, "%d(%s) ", pid, bytes.ReplaceAll(bytes.TrimRight(cmdline, "\x00"), []byte{0}, []byte{' '}))
	}
	return b.String()
}
