package linux_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gust-faas/gust/internal/syncbuf"
	"github.com/gust-faas/gust/runtimes"
	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/sandbox/linux"
	"github.com/gust-faas/gust/whisk"
)

// TestRealRuntimes runs Gust's runtime proxy (not the stand-in) in linux
// sandboxes with node and python actions: /init, /run and the logs.
func TestRealRuntimes(t *testing.T) {
	d, _ := newDriver(t, linux.Config{ProxyEntry: runtimes.ProxyEntry})
	tests := []struct {
		kind, interpreter, code string
	}{
		{whisk.KindNode, "/usr/bin/node", `function main(args) { console.log("log from node"); return {greeting: "hello " + args.name, uid: process.getuid()}; }`},
		{whisk.KindPython, "/usr/bin/python3", "import os\ndef main(args):\n    print('log from python')\n    return {'greeting': 'hello ' + args['name'], 'uid': os.getuid()}\n"},
	}
	for i, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			if _, err := os.Stat(tc.interpreter); err != nil {
				t.Skipf("%s is not installed", tc.interpreter)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out syncbuf.Buffer
			sb, err := d.Create(ctx, sandbox.Spec{ID: "rt" + string(rune('a'+i)), Kind: tc.kind, MemoryMB: 256, Stdout: &out, Stderr: &out})
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Destroy(context.Background())
			start := time.Now()
			if err := sb.Start(ctx); err != nil {
				t.Fatalf("Start: %v", err)
			}
			c := runtimes.NewClient(sb.Connect)
			defer c.Close()
			if err := c.Init(ctx, &runtimes.InitRequest{Value: runtimes.InitValue{Name: "hello", Main: "main", Code: tc.code}}); err != nil {
				t.Fatalf("Init: %v\noutput: %s", err, out.String())
			}
			res, err := c.Run(ctx, &runtimes.RunRequest{Value: json.RawMessage(`{"name":"sandbox"}`), ActivationID: "a1"})
			if err != nil {
				t.Fatalf("Run: %v\noutput: %s", err, out.String())
			}
			t.Logf("%s: start to first result %v", tc.kind, time.Since(start))
			var got struct {
				Greeting string `json:"greeting"`
				UID      int    `json:"uid"`
			}
			if err := json.Unmarshal(res.Body, &got); err != nil || got.Greeting != "hello sandbox" {
				t.Fatalf("Run = %d %s (%v), want the greeting\noutput: %s", res.StatusCode, res.Body, err, out.String())
			}
			if got.UID != 65534 {
				t.Errorf("the action runs as uid %d, want 65534", got.UID)
			}
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(out.String(), "log from") && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if !strings.Contains(out.String(), "log from") {
				t.Errorf("the action's log did not reach Stdout: %q", out.String())
			}
			handedOver(t, sb, c, filepath.Base(tc.interpreter))
		})
	}
}

// handedOver: once the proxy has handed its launcher over, it leaves it to
// the init and exits (runtimes.EnvAdopt). The launcher serves direct runs
// with the init as its only company, and its end is the sandbox's.
func handedOver(t *testing.T, sb sandbox.Sandbox, c *runtimes.Client, interpreter string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := c.Handover(ctx)
	if err != nil {
		t.Fatalf("Handover: %v", err)
	}
	defer d.Close()
	var procs []int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if procs = linux.Procs(sb); len(procs) == 2 || time.Now().After(deadline) {
			break
		}
	}
	launcher := 0
	for _, pid := range procs {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(b)) == interpreter {
			launcher = pid
		}
	}
	if len(procs) != 2 || launcher == 0 {
		t.Fatalf("processes after the handover: %v, want the init and the %s launcher", procs, interpreter)
	}
	res, err := d.Run(ctx, &runtimes.RunRequest{Value: json.RawMessage(`{"name":"direct"}`), ActivationID: "a2"})
	if err != nil || !strings.Contains(string(res.Body), "hello direct") {
		t.Fatalf("a direct run after the proxy left: %s, %v", res.Body, err)
	}
	if err := syscall.Kill(launcher, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sb.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the sandbox outlived its launcher by 5 s")
	}
	if r := sb.(sandbox.ExitReporter).ExitReason(); !strings.Contains(r, "killed") {
		t.Errorf("ExitReason() = %q, want the launcher's kill", r)
	}
}
