package runtimes

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// TestPreparedLaunchers: a proxy given a directory made by PrepareLaunchers
// starts the launchers from there (Python's as bytecode) and runs actions
// as with its own copies.
func TestPreparedLaunchers(t *testing.T) {
	dir := t.TempDir()
	if err := PrepareLaunchers(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for kind, file := range map[string]string{whisk.KindNode: launcherNodeFile, whisk.KindPython: launcherPythonFile} {
		t.Run(kind, func(t *testing.T) {
			needInterpreter(t, kind)
			path := filepath.Join(dir, file)
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
				t.Fatalf("%s: %v %v, want a file readable by all", path, fi, err)
			}
			p := startProxyEnv(t, kind, EnvLaunchers+"="+dir)
			if got := launcherArgs(t, p); !strings.Contains(got, path) {
				t.Fatalf("the launcher runs %q, want %s", got, path)
			}
			v := initValue(t, kind, "hello", "")
			ctx := ctxT(t, 10*time.Second)
			if err := p.client.Init(ctx, &InitRequest{Value: v}); err != nil {
				t.Fatal(err)
			}
			res, err := p.client.Run(ctx, runReq(`{"name": "Ada"}`))
			if err != nil || !res.Success() {
				t.Fatalf("run: %+v %v", res, err)
			}
			jsonEqual(t, res.Body, `{"payload":"Hello, Ada","activation":"0123456789abcdef0123456789abcdef","initParam":"hi","leak":""}`)
		})
	}
}

// launcherArgs is the command line of the proxy's child, the launcher.
func launcherArgs(t *testing.T, p *proxyProc) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		kids, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, st := range kids {
			b, err := os.ReadFile(st)
			if err != nil {
				continue
			}
			f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
			if len(f) > 1 && f[1] == strconv.Itoa(p.cmd.Process.Pid) {
				cl, _ := os.ReadFile(filepath.Join(filepath.Dir(st), "cmdline"))
				return strings.ReplaceAll(string(cl), "\x00", " ")
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the proxy has no child")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
