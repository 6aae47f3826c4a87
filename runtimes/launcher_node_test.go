package runtimes

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// echoAction writes launcher.js and an action that echoes its parameter s
// into a new directory, and returns the directory and the launcher's init line.
func echoAction(t *testing.T) (dir, init string) {
	t.Helper()
	needInterpreter(t, whisk.KindNode)
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "launcher.js"), launcherJS, 0o644); err != nil {
		t.Fatal(err)
	}
	entry := filepath.Join(dir, "echo.js")
	if err := os.WriteFile(entry, []byte("function main(p) { return {got: p.s, n: process.env.__OW_ACTIVATION_ID}; }"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, `{"dir":"` + dir + `","entry":"` + entry + `","main":"main","env":{}}` + "\n"
}

// nodeLauncher starts the launcher in dir on stdin and returns a reader of
// its fd 3 and the started command.
func nodeLauncher(t *testing.T, dir string, stdin *os.File) (*bufio.Reader, *exec.Cmd) {
	t.Helper()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(interpreter(nodePath, "node"), filepath.Join(dir, "launcher.js"))
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
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out, cmd := nodeLauncher(t, dir, inR)
	inR.Close()
	defer inW.Close()
	write := func(s string) {
		t.Helper()
		if _, err := inW.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	write(init)
	if got := answer(t, out); got != "{\"ok\":true}\n" {
		t.Fatalf("init answered %q", got)
	}

	// "é€😀" is 2, 3 and 4 bytes of UTF-8; the pieces cut the 4-byte one.
	run := `{"value":{"s":"é€😀"},"activation_id":"a1"}` + "\n"
	cut := len(`{"value":{"s":"é€`) + 2
	write(run[:cut])
	time.Sleep(50 * time.Millisecond) // lets the launcher read the first piece alone
	write(run[cut:])
	if got, want := answer(t, out), `{"got":"é€😀","n":"a1"}`+"\n"; got != want {
		t.Fatalf("split run answered %q, want %q", got, want)
	}

	write(`{"value":{"s":"x"},"activation_id":"a2"}` + "\n\n" + `{"value":{"s":"y"},"activation_id":"a3"}` + "\n")
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

// TestNodeLauncherFileInput: a stdin that is not a pipe takes the launcher's
// fallback, Node's own process.stdin, with the same answers.
func TestNodeLauncherFileInput(t *testing.T) {
	dir, init := echoAction(t)
	name := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(name, []byte(init+`{"value":{"s":"é€😀"},"activation_id":"b1"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, cmd := nodeLauncher(t, dir, f)
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
