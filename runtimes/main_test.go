package runtimes

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/internal/syncbuf"
	"github.com/gust-faas/gust/whisk"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

// proxyProc is a runtime proxy re-executed from the test binary, as a
// sandbox driver starts it.
type proxyProc struct {
	sock           string
	cmd            *exec.Cmd
	stdout, stderr *syncbuf.Buffer
	client         *Client
	stop           func() // SIGTERM and wait; idempotent, also a cleanup
}

// startProxy starts a proxy for kind and waits until it accepts connections.
func startProxy(t testing.TB, kind string) *proxyProc {
	t.Helper()
	return startProxyOut(t, kind, nil)
}

// startProxyOut is startProxy with the proxy's output going to out (both
// streams) rather than to buffers the test can read.
func startProxyOut(t testing.TB, kind string, out *os.File) *proxyProc {
	t.Helper()
	return startProxyWith(t, kind, out)
}

// startProxyEnv is startProxy with env added to the proxy's environment.
func startProxyEnv(t testing.TB, kind string, env ...string) *proxyProc {
	t.Helper()
	return startProxyWith(t, kind, nil, env...)
}

func startProxyWith(t testing.TB, kind string, out *os.File, env ...string) *proxyProc {
	t.Helper()
	dir, err := os.MkdirTemp("", "gprt") // short: a socket path holds 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &proxyProc{sock: filepath.Join(dir, "rt.sock"), stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{}}
	p.cmd = reexec.Command(ProxyEntry)
	p.cmd.Env = append(p.cmd.Env, EnvSocket+"="+p.sock, EnvKind+"="+kind)
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if out != nil {
		p.cmd.Stdout, p.cmd.Stderr = out, out
	}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	var once sync.Once
	p.stop = func() {
		once.Do(func() {
			p.client.Close()
			p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				p.cmd.Process.Kill()
				<-exited
				t.Errorf("the proxy did not stop on SIGTERM")
			}
		})
	}
	t.Cleanup(p.stop)
	p.client = NewClient(p.dial)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", p.sock)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the proxy exited: %v\n%s", err, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy does not listen: %v", err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return p
}

func (p *proxyProc) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", p.sock)
}

// waitOutput waits until both streams hold n sentinels and returns them.
func (p *proxyProc) waitOutput(t testing.TB, n int) (stdout, stderr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		stdout, stderr = p.stdout.String(), p.stderr.String()
		if strings.Count(stdout, whisk.LogSentinel) >= n && strings.Count(stderr, whisk.LogSentinel) >= n {
			return stdout, stderr
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d sentinels on each stream\nstdout:\n%s\nstderr:\n%s", n, stdout, stderr)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// makeZip builds a zip archive from name -> content; names ending in "*"
// are executable (the star is dropped).
func makeZip(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "*") {
			name, mode = strings.TrimSuffix(name, "*"), 0o755
		}
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// goCache is where tests compile Go actions. It outlives the test run so
// that the standard library is compiled once per machine, not per run.
func goCache(t testing.TB) string {
	t.Helper()
	if _, err := findGo(); err != nil {
		t.Skip("no Go toolchain:", err)
	}
	return filepath.Join(os.TempDir(), "gust-runtimes-test-gocache")
}

// compileGo compiles src and returns the InitValue code for it.
func compileGo(t testing.TB, src []byte, main string) string {
	t.Helper()
	bin, err := CompileGo(ctxT(t, 5*time.Minute), goCache(t), src, main)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

// needInterpreter skips a test whose runtime is missing.
func needInterpreter(t testing.TB, kind string) {
	t.Helper()
	switch kind {
	case whisk.KindNode:
		if _, err := os.Stat(interpreter(nodePath, "node")); err != nil {
			t.Skip("node is not installed")
		}
	case whisk.KindPython:
		if _, err := os.Stat(interpreter(pythonPath, "python3")); err != nil {
			t.Skip("python3 is not installed")
		}
	case whisk.KindGo:
		goCache(t)
	}
}

func runReq(value string) *RunRequest {
	return &RunRequest{
		Value: json.RawMessage(value), Namespace: "guest", ActionName: "/guest/hello",
		ActionVersion: "0.0.1", ActivationID: "0123456789abcdef0123456789abcdef",
		TransactionID: "tx1", Deadline: fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()),
	}
}

// jsonEqual compares JSON texts by value.
func jsonEqual(t testing.TB, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("result %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("result = %s, want %s", gb, wb)
	}
}
