package linux_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/runtimes"
	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/sandbox/linux"
	"github.com/gust-faas/gust/sandbox/sandboxtest"
	"github.com/gust-faas/gust/whisk"
)

// run posts a small body to the stand-in's /run.
func run(c *http.Client) error {
	resp, err := c.Post("http://sandbox/run", "application/json", strings.NewReader(`{"value":{}}`))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /run: %s", resp.Status)
	}
	return nil
}

// BenchmarkColdStart measures Create, then Start until the stand-in's
// first answer to /run (the stand-in is this test binary: Go starts in
// about a millisecond, where node and python take 35-45 ms more).
//
//	go test -run ^$ -bench ColdStart ./sandbox/linux/
func BenchmarkColdStart(b *testing.B) {
	d, _ := newDriver(b, linux.Config{})
	ctx := context.Background()
	var create, start, answer time.Duration
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		sb, err := d.Create(ctx, sandbox.Spec{ID: fmt.Sprintf("bench-%d", i), Kind: "blackbox", MemoryMB: 128})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := sb.Start(ctx); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		c := sandboxtest.Client(sb)
		if err := run(c); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		create += t1.Sub(t0)
		start += t2.Sub(t1)
		answer += t3.Sub(t2)
		b.StopTimer()
		c.CloseIdleConnections()
		if err := sb.Destroy(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(create.Microseconds())/n/1000, "create-ms")
	b.ReportMetric(float64(start.Microseconds())/n/1000, "start-ms")
	b.ReportMetric(float64(answer.Microseconds())/n/1000, "first-run-ms")
}

// BenchmarkPauseResume measures freezing and thawing a started sandbox and
// the first request after the thaw.
//
//	go test -run ^$ -bench PauseResume ./sandbox/linux/
func BenchmarkPauseResume(b *testing.B) {
	d, _ := newDriver(b, linux.Config{})
	ctx := context.Background()
	sb, err := d.Create(ctx, sandbox.Spec{ID: "bench-pause", Kind: "blackbox", MemoryMB: 128})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Destroy(ctx)
	if err := sb.Start(ctx); err != nil {
		b.Fatal(err)
	}
	c := sandboxtest.Client(sb)
	defer c.CloseIdleConnections()
	if err := run(c); err != nil {
		b.Fatal(err)
	}
	p := sb.(sandbox.Pauser)
	var pause, resume, answer time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := p.Pause(ctx); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := p.Resume(ctx); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if err := run(c); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		pause += t1.Sub(t0)
		resume += t2.Sub(t1)
		answer += t3.Sub(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(pause.Microseconds())/n/1000, "pause-ms")
	b.ReportMetric(float64(resume.Microseconds())/n/1000, "resume-ms")
	b.ReportMetric(float64(answer.Microseconds())/n/1000, "run-after-resume-ms")
}

// BenchmarkWarmRun measures one /run round trip on a kept-alive
// connection: the sandbox's share of a warm invocation.
func BenchmarkWarmRun(b *testing.B) {
	d, _ := newDriver(b, linux.Config{})
	ctx := context.Background()
	sb, err := d.Create(ctx, sandbox.Spec{ID: "bench-warm", Kind: "blackbox", MemoryMB: 128})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Destroy(ctx)
	if err := sb.Start(ctx); err != nil {
		b.Fatal(err)
	}
	c := sandboxtest.Client(sb)
	defer c.CloseIdleConnections()
	for b.Loop() {
		if err := run(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkColdStartRuntime breaks a real runtime's cold start down, per
// kind: Create (directories, cgroups, clone, first attach, root file
// system), Start (privileges dropped, the proxy started until its socket
// accepts), /init and the first /run, with the first attach's share of
// Create measured apart by a cgroup created just before. The init and the
// proxy are this test binary, or the gust-sandbox binary GUST_SANDBOX_BIN
// names:
//
//	go test -run ^$ -bench ColdStartRuntime -benchtime 20x ./sandbox/linux/
//	make && GUST_SANDBOX_BIN=$PWD/bin/gust-sandbox go test -run ^$ -bench ColdStartRuntime -benchtime 20x ./sandbox/linux/
func BenchmarkColdStartRuntime(b *testing.B) {
	d, _ := newDriver(b, linux.Config{ProxyEntry: runtimes.ProxyEntry, SandboxBin: sandboxBin(b)})
	codes := map[string]string{
		whisk.KindPython: "def main(args):\n    return {}\n",
		whisk.KindNode:   "function main(params) {\n  return {};\n}\n",
	}
	for _, kind := range []string{whisk.KindPython, whisk.KindNode} {
		b.Run(kind[:strings.IndexByte(kind, ':')], func(b *testing.B) {
			ctx := context.Background()
			var create, start, init, first time.Duration
			for i := 0; b.Loop(); i++ {
				t0 := time.Now()
				sb, err := d.Create(ctx, sandbox.Spec{ID: fmt.Sprintf("bcr-%d", i), Kind: kind, MemoryMB: 128})
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := sb.Start(ctx); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				c := runtimes.NewClient(sb.Connect)
				if err := c.Init(ctx, &runtimes.InitRequest{Value: runtimes.InitValue{Name: "a", Main: "main", Code: codes[kind]}}); err != nil {
					b.Fatal(err)
				}
				t3 := time.Now()
				if _, err := c.Run(ctx, &runtimes.RunRequest{Value: json.RawMessage(`{}`), ActivationID: "a"}); err != nil {
					b.Fatal(err)
				}
				t4 := time.Now()
				create += t1.Sub(t0)
				start += t2.Sub(t1)
				init += t3.Sub(t2)
				first += t4.Sub(t3)
				b.StopTimer()
				c.Close()
				if err := sb.Destroy(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			n := float64(b.N)
			b.ReportMetric(float64(create.Microseconds())/n/1000, "create-ms")
			b.ReportMetric(float64(start.Microseconds())/n/1000, "start-ms")
			b.ReportMetric(float64(init.Microseconds())/n/1000, "init-ms")
			b.ReportMetric(float64(first.Microseconds())/n/1000, "run-ms")
		})
	}
}

// sandboxBin returns the gust-sandbox binary that GUST_SANDBOX_BIN names,
// or "". A test binary has no build identity of its own: it takes the
// binary's, so that the driver uses the binary it was given (and fails the
// benchmark if it would not, rather than measure the fallback).
func sandboxBin(b *testing.B) string {
	path := os.Getenv(reexec.EnvSandboxBin)
	if path == "" || path == "none" {
		return ""
	}
	info, err := reexec.Probe(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	old := reexec.Build
	reexec.Build = info.Identity
	b.Cleanup(func() { reexec.Build = old })
	if _, err := reexec.Sandbox(path, "sandbox-init", runtimes.ProxyEntry); err != nil {
		b.Fatal(err)
	}
	b.Logf("the init and the proxy are %s", path)
	return path
}

// BenchmarkCreateFromLargeProcess measures Create from a process holding
// 512 MB of touched memory, as gust up does after a while under load. An
// init forked from the driver's process cost in proportion to that memory
// (34 ms against 6 ms); forked by the spawner, it does not.
//
//	go test -run '^$' -bench CreateFromLargeProcess ./sandbox/linux/
func BenchmarkCreateFromLargeProcess(b *testing.B) {
	d, _ := newDriver(b, linux.Config{ProxyEntry: runtimes.ProxyEntry, SandboxBin: sandboxBin(b)})
	for _, mb := range []int{0, 512} {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			ballast := make([]byte, mb<<20)
			for i := 0; i < len(ballast); i += 4096 {
				ballast[i] = 1
			}
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				sb, err := d.Create(ctx, sandbox.Spec{ID: fmt.Sprintf("bcl-%d-%d", mb, i), Kind: whisk.KindPython, MemoryMB: 128})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := sb.Destroy(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			runtime.KeepAlive(ballast)
		})
	}
}
