package runtimes

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// echoAction writes launcher.js and an action that echoes its parameter s
// into a new directory, and returns the directory and the launcher's init line.
func echoAction(t *testing.T) (dir, init string) {
	return actionDir(t, whisk.KindNode, "function main(p) { return {got: p.s, n: process.env.__OW_ACTIVATION_ID}; }")
}

// actionDir writes the kind's launcher and an action of code into a new
// directory, and returns the directory and the launcher's init line.
func actionDir(t *testing.T, kind, code string) (dir, init string) {
	t.Helper()
	needInterpreter(t, kind)
	dir = t.TempDir()
	launcher, entry := launcherJS, "action.js"
	if kind == whisk.KindPython {
		launcher, entry = launcherPy, "action.py"
	}
	if err := os.WriteFile(filepath.Join(dir, launcherFile(kind)), launcher, 0o644); err != nil {
		t.Fatal(err)
	}
	entry = filepath.Join(dir, entry)
	if err := os.WriteFile(entry, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, `{"dir":"` + dir + `","entry":"` + entry + `","main":"main","env":{}}` + "\n"
}

func launcherFile(kind string) string {
	if kind == whisk.KindPython {
		return "launcher.py"
	}
	return "launcher.js"
}

// startLauncher starts the kind's launcher in dir on stdin and returns a
// reader of its fd 3 and the started command.
func startLauncher(t *testing.T, kind, dir string, stdin *os.File) (*bufio.Reader, *exec.Cmd) {
	t.Helper()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(interpreter(nodePath, "node"), filepath.Join(dir, launcherFile(kind)))
	if kind == whisk.KindPython {
		cmd = exec.Command(interpreter(pythonPath, "python3"), "-S", "-B", filepath.Join(dir, launcherFile(kind)))
	}
	cmd.Dir = dir
	cmd.Stdin = stdin
	cmd.ExtraFiles = []*os.File{outW}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outW.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		outR.Close()
	})
	return bufio.NewReader(outR), cmd
}

func answer(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	type line struct {
		s   string
		err error
	}
	c := make(chan line, 1)
	go func() {
		s, err := r.ReadString('\n')
		c <- line{s, err}
	}()
	select {
	case l := <-c:
		if l.err != nil {
			t.Fatalf("reading the launcher's answer: %v (read %q)", l.err, l.s)
		}
		return l.s
	case <-time.After(10 * time.Second):
		t.Fatal("no answer from the launcher in 10s")
		return ""
	}
}

// TestNodeLauncherLines: runs reach the Node.js launcher in pieces (a line
// split between writes, inside a multi-byte character; two lines in one
// write) and each comes back whole; the end of stdin ends the launcher.
func TestNodeLauncherLines(t *testing.T) {
	dir, init := echoAction(t)
	inW, out, cmd := pipeLauncher(t, whisk.KindNode, dir, init)
	write := func(s string) {
		t.Helper()
		if _, err := inW.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}

	// "é€😀" is 2, 3 and 4 bytes of UTF-8; the pieces cut the 4-byte one.
	run := `{"activation_id":"a1"}` + "\t" + `{"s":"é€😀"}` + "\n"
	cut := len(`{"activation_id":"a1"}`+"\t"+`{"s":"é€`) + 2
	write(run[:cut])
	time.Sleep(50 * time.Millisecond) // lets the launcher read the first piece alone
	write(run[cut:])
	if got, want := answer(t, out), `{"got":"é€😀","n":"a1"}`+"\n"; got != want {
		t.Fatalf("split run answered %q, want %q", got, want)
	}

	write(`{"activation_id":"a2"}` + "\t" + `{"s":"x"}` + "\n\n" + `{"activation_id":"a3"}` + "\t" + `{"s":"y"}` + "\n")
	for _, want := range []string{`{"got":"x","n":"a2"}` + "\n", `{"got":"y","n":"a3"}` + "\n"} {
		if got := answer(t, out); got != want {
			t.Fatalf("answered %q, want %q", got, want)
		}
	}

	inW.Close()
	if err := waitTimeout(cmd, 10*time.Second); err != nil {
		t.Fatalf("launcher at the end of stdin: %v, want exit 0", err)
	}
}

// TestNodeLauncherLargeRuns: a run larger than the launcher's read buffer
// arrives in many reads, and a result larger than the pipe's buffer waits in
// libuv's queue until it is read; the next run's result comes after it.
func TestNodeLauncherLargeRuns(t *testing.T) {
	dir, init := echoAction(t)
	inW, out, _ := pipeLauncher(t, whisk.KindNode, dir, init)
	big := strings.Repeat("é", 150_000) // 300 kB, five reads and a pipe's buffer several times
	go func() {
		inW.WriteString(`{"activation_id":"L1"}` + "\t" + `{"s":"` + big + `"}` + "\n")
		inW.WriteString(`{"activation_id":"L2"}` + "\t" + `{"s":"small"}` + "\n")
	}()
	time.Sleep(200 * time.Millisecond) // both runs are answered before we read
	for _, want := range []string{`{"got":"` + big + `","n":"L1"}` + "\n", `{"got":"small","n":"L2"}` + "\n"} {
		if got := answer(t, out); got != want {
			t.Fatalf("answered %d bytes (%.40q...), want %d bytes (%.40q...)", len(got), got, len(want), want)
		}
	}
}

// TestNodeLauncherExitAfterResult: a result longer than the pipe holds is
// written whole before the action's code runs again, so an action that exits
// right after returning does not cut it short.
func TestNodeLauncherExitAfterResult(t *testing.T) {
	dir, init := actionDir(t, whisk.KindNode, "function main(p) { setImmediate(() => process.exit(0)); return {s: 'x'.repeat(300000)}; }")
	in, out, _ := pipeLauncher(t, whisk.KindNode, dir, init)
	if _, err := in.WriteString(runLine(1, "{}")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the action has exited by the time we read
	if got, want := answer(t, out), `{"s":"`+strings.Repeat("x", 300000)+`"}`+"\n"; got != want {
		t.Fatalf("answered %d bytes, want %d", len(got), len(want))
	}
}

// TestNodeLauncherFileInput: a stdin that is not a pipe takes the launcher's
// fallback, Node's own process.stdin, with the same answers.
func TestNodeLauncherFileInput(t *testing.T) {
	dir, init := echoAction(t)
	name := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(name, []byte(init+`{"activation_id":"b1"}`+"\t"+`{"s":"é€😀"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, cmd := startLauncher(t, whisk.KindNode, dir, f)
	for _, want := range []string{"{\"ok\":true}\n", `{"got":"é€😀","n":"b1"}` + "\n"} {
		if got := answer(t, out); got != want {
			t.Fatalf("answered %q, want %q", got, want)
		}
	}
	if err := waitTimeout(cmd, 10*time.Second); err != nil {
		t.Fatalf("launcher at the end of its file: %v, want exit 0", err)
	}
}

func waitTimeout(cmd *exec.Cmd, d time.Duration) error {
	c := make(chan error, 1)
	go func() { c <- cmd.Wait() }()
	select {
	case err := <-c:
		return err
	case <-time.After(d):
		cmd.Process.Kill()
		return <-c
	}
}

// TestNodeLogsBeforeResult: output larger than the pipe's buffer waits in
// Node's memory; the launcher answers only once it is written, so each run's
// logs come before its sentinel, also when the run before logged nothing.
func TestNodeLogsBeforeResult(t *testing.T) {
	needInterpreter(t, whisk.KindNode)
	p := startProxy(t, whisk.KindNode)
	ctx := ctxT(t, 20*time.Second)
	code := `function main(p) { if (p.n) { console.log('o'.repeat(p.n)); console.error('e'.repeat(p.n)); } return {n: p.n}; }`
	if err := p.client.Init(ctx, &InitRequest{Value: InitValue{Code: code}}); err != nil {
		t.Fatal(err)
	}
	const big = 300 << 10
	for _, n := range []int{0, big, 0} {
		res, err := p.client.Run(ctx, runReq(fmt.Sprintf(`{"n": %d}`, n)))
		if err != nil || !res.Success() {
			t.Fatalf("run n=%d: %+v %v", n, res, err)
		}
	}
	stdout, stderr := p.waitOutput(t, 4)
	s := whisk.LogSentinel + "\n"
	if want := s + s + strings.Repeat("o", big) + "\n" + s + s; stdout != want {
		t.Errorf("stdout holds %d bytes, want the init's and first run's sentinels, the log line, two sentinels (%d bytes)", len(stdout), len(want))
	}
	if want := s + s + strings.Repeat("e", big) + "\n" + s + s; stderr != want {
		t.Errorf("stderr holds %d bytes, want %d in the same order as stdout", len(stderr), len(want))
	}
}

// pipeLauncher starts the launcher in dir on a pipe, sends it init and checks
// the answer; it returns the pipe's write end and the result reader.
func pipeLauncher(t *testing.T, kind, dir, init string) (*os.File, *bufio.Reader, *exec.Cmd) {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inW.Close() })
	out, cmd := startLauncher(t, kind, dir, inR)
	inR.Close()
	if _, err := inW.WriteString(init); err != nil {
		t.Fatal(err)
	}
	if got := answer(t, out); got != "{\"ok\":true}\n" {
		t.Fatalf("init answered %q", got)
	}
	return inW, out, cmd
}

// runLine is a run message as the invoker writes it, for activation n.
func runLine(n int, value string) string {
	return string(appendRunLine(nil, &RunRequest{
		Value: json.RawMessage(value), Namespace: "guest", ActionName: "/guest/a", ActionVersion: "0.0.1",
		ActivationID: fmt.Sprintf("%032x", n), TransactionID: fmt.Sprintf("%032x", n*7),
		Deadline: fmt.Sprint(1763771234000 + n), APIKey: "k",
	}, true))
}

// contextCodes report the run's __OW_* values as the action, its children
// and its environment listing see them, set TZ when asked, and overwrite
// their activation id on the way out.
var contextCodes = map[string]string{
	whisk.KindNode: `const { execFileSync } = require('child_process');
const { inspect } = require('util');
const { Worker } = require('worker_threads');
function inWorker() {
  return new Promise((resolve, reject) => {
    const w = new Worker("require('worker_threads').parentPort.postMessage(process.env.__OW_ACTIVATION_ID)", { eval: true });
    w.on('message', resolve);
    w.on('error', reject);
  });
}
async function main(p) {
  // First, as console.log(process.env) would: inspect reads the proxy's
  // target without its traps.
  const shown = (inspect(process.env).match(/__OW_ACTIVATION_ID: '(\w+)'/) || [])[1];
  if (p.tz) process.env.TZ = p.tz;
  const r = {
    shown,
    id: process.env.__OW_ACTIVATION_ID,
    child: execFileSync('/bin/sh', ['-c', 'printf %s "$__OW_ACTIVATION_ID"']).toString(),
    worker: await inWorker(),
    listed: JSON.parse(JSON.stringify(process.env)).__OW_TRANSACTION_ID,
    offset: new Date(0).getTimezoneOffset(),
  };
  process.env.__OW_ACTIVATION_ID = 'tampered'; // the next run's value replaces it
  return r;
}`,
	whisk.KindPython: `import os, subprocess, time
def main(p):
    # Children first, before the action has looked at os.environ: they read
    # the C environment, which must hold this run's values already. Each
    # way of starting one goes first in every other run.
    def child():
        return subprocess.run(['/bin/sh', '-c', 'printf %s "$__OW_ACTIVATION_ID"'], capture_output=True).stdout.decode()
    def system():
        os.system('printf %s "$__OW_TRANSACTION_ID" > system.out')
        with open('system.out') as f:
            return f.read()
    if p.get('tz') == 'UTC':
        c, s = child(), system()
    else:
        s, c = system(), child()
    if p.get('tz'):
        os.environ['TZ'] = p['tz']
        time.tzset()
    r = {
        'id': os.getenv('__OW_ACTIVATION_ID'),
        'child': c,
        'system': s,
        'listed': dict(os.environ)['__OW_TRANSACTION_ID'],
        'offset': time.timezone // 60,
    }
    os.environ['__OW_ACTIVATION_ID'] = 'tampered'  # the next run's value replaces it
    return r
`,
}

// TestContextEnv: each run's __OW_* values are in the action's environment,
// its listing, its children's environment (Python's started before the
// action looks at os.environ, through subprocess and os.system) and a
// Node.js worker's, before
// and after the Python launcher moves them into buffers of its own
// (_Context.SWITCH_AFTER); what the action sets reaches the real
// environment (TZ changes the time zone).
func TestContextEnv(t *testing.T) {
	for kind, code := range contextCodes {
		t.Run(kind, func(t *testing.T) {
			dir, init := actionDir(t, kind, code)
			in, out, _ := pipeLauncher(t, kind, dir, init)
			for n := 1; n <= 15; n++ {
				tz := []string{"UTC", "Asia/Kolkata"}[n%2]
				if _, err := in.WriteString(runLine(n, fmt.Sprintf(`{"tz":%q}`, tz))); err != nil {
					t.Fatal(err)
				}
				id, tid := fmt.Sprintf("%032x", n), fmt.Sprintf("%032x", n*7)
				offset := map[string]int{"UTC": 0, "Asia/Kolkata": -330}[tz]
				want := fmt.Sprintf(`{"id":"%s","child":"%s","system":"%s","listed":"%s","offset":%d}`, id, id, tid, tid, offset)
				if kind == whisk.KindNode {
					want = fmt.Sprintf(`{"shown":"%s","id":"%s","child":"%s","worker":"%s","listed":"%s","offset":%d}`, id, id, id, id, tid, offset)
				}
				if jsonEqual(t, []byte(answer(t, out)), want); t.Failed() {
					t.Fatalf("run %d", n)
				}
			}
		})
	}
}

// TestContextDoesNotLeak: runs' __OW_* values do not go through setenv,
// which keeps every distinct string it built: with it, the launchers grew by
// about 270 bytes a run (Node.js: 11 MB in the 40,000 runs measured here).
func TestContextDoesNotLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("60,000 runs a kind")
	}
	for _, kind := range []string{whisk.KindNode, whisk.KindPython} {
		t.Run(kind, func(t *testing.T) {
			dir, init := actionDir(t, kind, map[string]string{
				whisk.KindNode:   "function main(p) { return {}; }",
				whisk.KindPython: "def main(p):\n    return {}\n",
			}[kind])
			in, out, cmd := pipeLauncher(t, kind, dir, init)
			runs := func(from, to int) {
				for n := from; n < to; n++ {
					if _, err := in.WriteString(runLine(n, `{}`)); err != nil {
						t.Fatal(err)
					}
					if _, err := out.ReadString('\n'); err != nil {
						t.Fatal(err)
					}
				}
			}
			runs(0, 20000) // the heap and the code settle
			before := vmRSS(t, cmd.Process.Pid)
			runs(20000, 60000)
			after := vmRSS(t, cmd.Process.Pid)
			t.Logf("RSS %d kB after 20,000 runs, %d kB after 60,000", before, after)
			if after-before > 6<<10 {
				t.Errorf("the launcher grew by %d kB in 40,000 runs", after-before)
			}
		})
	}
}

// vmRSS is the resident memory of process pid in kB.
func vmRSS(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}
