package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/internal/syncbuf"
	"github.com/gust-faas/gust/runtimes"
	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/sandbox/linux"
	"github.com/gust-faas/gust/sandbox/process"
	"github.com/gust-faas/gust/whisk"
)

// TestMain lets this test binary serve as the fallback: it holds the same
// entry points as gust-sandbox, as gust does.
func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// stamp is the build identity the test gives gust-sandbox, and itself
// when the two must match.
const stamp = "gust-sandbox-test"

var built struct {
	once sync.Once
	dir  string // removed by TestMain
	path string
	err  error
	skip string
}

// buildSandbox builds this command into a temporary directory, stamped
// with stamp, once per test binary.
func buildSandbox(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
			if _, err := os.Stat(goTool); err != nil {
				built.skip = "the go tool is not installed"
				return
			}
		}
		built.dir, built.err = os.MkdirTemp("", "gust-sandbox-test")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, reexec.SandboxName)
		cmd := exec.Command(goTool, "build", "-o", built.path,
			"-ldflags", "-X github.com/gust-faas/gust/internal/reexec.Build="+stamp, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.skip != "" {
		t.Skip(built.skip)
	}
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// setBuild gives this test binary a build identity for one test.
func setBuild(t *testing.T, id string) {
	old := reexec.Build
	reexec.Build = id
	t.Cleanup(func() { reexec.Build = old })
}

func TestUsage(t *testing.T) {
	bin := buildSandbox(t)
	cmd := exec.Command(bin)
	cmd.Env = []string{}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("gust-sandbox without an entry point: %v, want exit status 2", err)
	}
	msg := stderr.String()
	if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "gust starts") {
		t.Errorf("usage = %q, want one line saying gust starts it", msg)
	}
}

// TestIdentity checks gust-sandbox's answer to the handshake: the stamp it
// was built with, and exactly the sandbox-side entry points.
func TestIdentity(t *testing.T) {
	bin := buildSandbox(t)
	info, err := reexec.Probe(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{runtimes.ProxyEntry, "sandbox-init", "sandbox-spawner"}
	if info.Identity != stamp || strings.Join(info.Entries, " ") != strings.Join(want, " ") {
		t.Errorf("gust-sandbox answers %+v, want identity %q and entries %q", info, stamp, want)
	}
}

// TestPinned replaces gust-sandbox on disk once it was checked, as an
// upgrade does: what the driver starts must still be the checked file.
func TestPinned(t *testing.T) {
	bin := buildSandbox(t)
	setBuild(t, stamp)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), reexec.SandboxName)
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	sb, err := reexec.Sandbox(path, runtimes.ProxyEntry)
	if err != nil || sb == nil {
		t.Fatalf("Sandbox(%s) = %v, %v; want it used", path, sb, err)
	}
	next := "#!/bin/sh\nprintf 'gust-reexec 1\\nidentity next-version\\n'\n"
	if err := os.WriteFile(path+".new", []byte(next), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	out, err := sb.Command("identity").Output()
	if err != nil {
		t.Fatalf("the pinned binary: %v", err)
	}
	if !strings.Contains(string(out), "\nidentity "+stamp+"\n") {
		t.Errorf("the command started another binary than the checked one; it answered %q", out)
	}
}

// heavyStd are the standard packages gust-sandbox must not link, with
// those under them: net/http and what comes with it (TLS, certificates,
// MIME, textproto) add about 0.4 ms of package initialisation and page
// faults to every exec of gust-sandbox, two per cold start. The runtime
// proxy speaks its own small HTTP/1.1 (runtimes/wire.go).
var heavyStd = []string{"net/http", "crypto/tls", "crypto/x509", "net/textproto", "mime", "net/rpc", "expvar", "html/template"}

// TestDependencies keeps gust-sandbox small: nothing but the standard
// library without heavyStd, x/sys and Gust's sandbox-side packages.
func TestDependencies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not installed")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.Standard}} {{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := map[string]bool{
		"github.com/gust-faas/gust/cmd/gust-sandbox":        true,
		"github.com/gust-faas/gust/internal/jsonstr":        true,
		"github.com/gust-faas/gust/internal/reexec":         true,
		"github.com/gust-faas/gust/internal/rights":         true,
		"github.com/gust-faas/gust/internal/goahead":        true,
		"github.com/gust-faas/gust/runtimes":                true,
		"github.com/gust-faas/gust/sandbox":                 true,
		"github.com/gust-faas/gust/sandbox/internal/launch": true,
		"github.com/gust-faas/gust/sandbox/linux":           true,
		"github.com/gust-faas/gust/whisk":                   true,
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("go list printed too little to check:\n%s", out)
	}
	var heavy []string
	for _, line := range lines {
		std, pkg, ok := strings.Cut(line, " ")
		switch {
		case !ok || (std != "true" && std != "false"):
			t.Fatalf("unexpected go list line %q", line)
		case std == "true":
			// vendor/golang.org/x/net/http/... comes only with net/http.
			if slices.ContainsFunc(heavyStd, func(h string) bool { return pkg == h || strings.HasPrefix(pkg, h+"/") }) ||
				strings.HasPrefix(pkg, "vendor/golang.org/x/net/http") {
				heavy = append(heavy, pkg)
			}
		case !allowed[pkg] && !strings.HasPrefix(pkg, "golang.org/x/sys/"):
			t.Errorf("gust-sandbox depends on %s: keep it out of the sandbox side (it slows every cold start)", pkg)
		}
	}
	if len(heavy) > 0 {
		t.Errorf("gust-sandbox depends on %s: keep net/http and its kin out of the sandbox side "+
			"(it slows every cold start; `go list -deps -f '{{.ImportPath}}: {{.Imports}}' ./cmd/gust-sandbox` shows who imports them)",
			strings.Join(heavy, ", "))
	}
}

// driverCase makes one sandbox driver with the given sandbox binary.
type driverCase struct {
	name string
	new  func(t *testing.T, bin string, log *slog.Logger) sandbox.Driver
}

func drivers() []driverCase {
	return []driverCase{
		{"process", func(t *testing.T, bin string, log *slog.Logger) sandbox.Driver {
			return process.New(process.Config{RunDir: t.TempDir(), SandboxBin: bin, Logger: log})
		}},
		{"linux", func(t *testing.T, bin string, log *slog.Logger) sandbox.Driver {
			if err := linux.Available(); err != nil {
				t.Skipf("linux sandboxes unavailable: %v", err)
			}
			dir := t.TempDir()
			d, err := linux.New(linux.Config{
				RunDir: filepath.Join(dir, "run"), SandboxBin: bin, Logger: log,
				// t.TempDir's parent has a random suffix: unique among
				// the test binaries go test runs at once.
				CgroupParent: filepath.Join("gust-test", filepath.Base(filepath.Dir(dir))),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := d.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			return d
		}},
	}
}

// TestColdStart runs a real python action's cold start (Create, Start,
// /init, /run) through each driver: with gust-sandbox built with this
// binary, its proxy (and the linux sandbox's init) must be gust-sandbox;
// with a gust-sandbox built from other sources, the driver must warn once
// and re-execute this binary.
func TestColdStart(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("/usr/bin/python3 is not installed")
	}
	bin := buildSandbox(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		build    string // this binary's identity
		wantExe  string // the binary the proxy must run
		warnings int
	}{
		{"gust-sandbox", stamp, bin, 0},
		{"stale gust-sandbox", "newer-" + stamp, self, 1},
	}
	for _, dc := range drivers() {
		for i, tc := range cases {
			t.Run(dc.name+"/"+tc.name, func(t *testing.T) {
				setBuild(t, tc.build)
				var logs syncbuf.Buffer
				d := dc.new(t, bin, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
				if got := strings.Count(logs.String(), "level=WARN"); got != tc.warnings {
					t.Errorf("%d warnings, want %d:\n%s", got, tc.warnings, logs.String())
				}
				if tc.warnings > 0 && !strings.Contains(logs.String(), reexec.ErrSkew.Error()) {
					t.Errorf("the warning does not say why: %s", logs.String())
				}
				coldStart(t, d, fmt.Sprintf("cs%d", i), func(proxy, parent int) {
					sameFile(t, "the proxy", proxy, tc.wantExe)
					if dc.name == "linux" {
						sameFile(t, "the init", parent, tc.wantExe)
					}
				})
			})
		}
	}
}

// coldStart starts a python sandbox, inits and runs an action in it, and
// calls check with the pids of the proxy and of its parent.
func coldStart(t *testing.T, d sandbox.Driver, id string, check func(proxy, parent int)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out syncbuf.Buffer
	sb, err := d.Create(ctx, sandbox.Spec{ID: id, Kind: whisk.KindPython, MemoryMB: 128, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer func() {
		if err := sb.Destroy(context.Background()); err != nil {
			t.Errorf("Destroy: %v", err)
		}
	}()
	if err := sb.Start(ctx); err != nil {
		t.Fatalf("Start: %v\noutput: %s", err, out.String())
	}
	c := runtimes.NewClient(sb.Connect)
	defer c.Close()
	code := "def main(args):\n    return {'greeting': 'hello ' + args['name']}\n"
	if err := c.Init(ctx, &runtimes.InitRequest{Value: runtimes.InitValue{Name: "hello", Main: "main", Code: code}}); err != nil {
		t.Fatalf("Init: %v\noutput: %s", err, out.String())
	}
	res, err := c.Run(ctx, &runtimes.RunRequest{Value: json.RawMessage(`{"name":"sandbox"}`), ActivationID: "a1"})
	if err != nil {
		t.Fatalf("Run: %v\noutput: %s", err, out.String())
	}
	if want := `{"greeting":"hello sandbox"}`; string(res.Body) != want {
		t.Fatalf("Run = %d %s, want %s\noutput: %s", res.StatusCode, res.Body, want, out.String())
	}
	proxy := peerPID(t, ctx, sb)
	check(proxy, ppid(t, proxy))
}

// peerPID is the pid of the process listening on the sandbox's socket: the
// proxy (SO_PEERCRED, in this pid namespace).
func peerPID(t *testing.T, ctx context.Context, sb sandbox.Sandbox) int {
	t.Helper()
	conn, err := sb.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		t.Fatal(err)
	}
	if credErr != nil {
		t.Fatal(credErr)
	}
	return int(cred.Pid)
}

func ppid(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ppid ...: comm may hold spaces, not ")".
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	n, err := strconv.Atoi(fields[1])
	if err != nil {
		t.Fatalf("/proc/%d/stat: %v", pid, err)
	}
	return n
}

// sameFile fails unless process pid runs the binary at want.
func sameFile(t *testing.T, who string, pid int, want string) {
	t.Helper()
	got, err := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		t.Fatalf("%s (pid %d): %v", who, pid, err)
	}
	wantFi, err := os.Stat(want)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(got, wantFi) {
		link, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		t.Errorf("%s (pid %d) runs %s, want %s", who, pid, link, want)
	}
}
