package runtimes

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// Echo actions: the result is the arguments.
var echo = map[string]string{
	whisk.KindNode:     `function main(p) { return p; }`,
	whisk.KindPython:   "def main(args):\n    return args\n",
	whisk.KindGo:       "package main\nfunc Main(a map[string]any) map[string]any { return a }\n",
	whisk.KindBlackbox: "#!/bin/sh\necho \"$1\"\n",
}

// benchPayload is a 256-byte argument object.
var benchPayload = `{"payload":"` + strings.Repeat("x", 256-len(`{"payload":""}`)) + `"}`

// echoInit is the InitValue of kind's echo action.
func echoInit(b *testing.B, kind string) InitValue {
	b.Helper()
	needInterpreter(b, kind)
	v := InitValue{Code: echo[kind]}
	if kind == whisk.KindGo {
		v.Code, v.Binary = compileGo(b, []byte(echo[kind]), ""), true
	}
	return v
}

// devNull is where benchmarked proxies write their logs, as to a file.
func devNull(b *testing.B) *os.File {
	b.Helper()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { null.Close() })
	return null
}

// startEcho starts a proxy for kind with the echo action.
func startEcho(b *testing.B, kind string) *proxyProc {
	b.Helper()
	v := echoInit(b, kind)
	p := startProxyOut(b, kind, devNull(b))
	if err := p.client.Init(context.Background(), &InitRequest{Value: v}); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkColdStart measures a cold start: start the proxy (re-exec), wait
// for its socket, /init, first /run. The Go action is compiled beforehand,
// as the invoker does.
func BenchmarkColdStart(b *testing.B) {
	for _, kind := range allKinds {
		b.Run(kind, func(b *testing.B) {
			v := echoInit(b, kind)
			out := devNull(b)
			for b.Loop() {
				p := startProxyOut(b, kind, out)
				if err := p.client.Init(context.Background(), &InitRequest{Value: v}); err != nil {
					b.Fatal(err)
				}
				if res, err := p.client.Run(context.Background(), runReq(benchPayload)); err != nil || !res.Success() {
					b.Fatal(res, err)
				}
				b.StopTimer()
				p.stop()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkInit measures /init alone on a proxy started ahead of time (a
// prewarmed sandbox: node and python launchers are already running).
func BenchmarkInit(b *testing.B) {
	for _, kind := range allKinds {
		b.Run(kind, func(b *testing.B) {
			v := echoInit(b, kind)
			out := devNull(b)
			for b.Loop() {
				b.StopTimer()
				p := startProxyOut(b, kind, out)
				time.Sleep(200 * time.Millisecond) // let the launcher boot
				b.StartTimer()
				if err := p.client.Init(context.Background(), &InitRequest{Value: v}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				p.stop()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkWarmRun measures a warm /run round trip through Client and the
// proxy to each launcher, with a 256-byte payload.
//
//	go test ./runtimes -run '^$' -bench 'WarmRun|ColdStart|Init' -count 5
//
// Best of 5 on the build machine (2 vCPU AMD EPYC, Go 1.26.8, Node 20.20.2,
// Python 3.11.2), 2026-11-21, with other builds running (load 4-10), in µs
// per call and 4 allocations (400 B) per call on the client, none in the
// proxy (BenchmarkWarmRunInProcess):
//
//	warm /run:  nodejs 46, python 39, go 53, blackbox 970 (a process per run)
//	            proxy in process (nodejs) 28; net/http client (go) 90 and 66 allocs
//	cold start (re-exec, /init, first /run), ms: nodejs 48, python 25, go 30, blackbox 8
//	/init on a started proxy, ms: nodejs 3.7, python 3.9, go 15 (2 MB executable), blackbox 2
func BenchmarkWarmRun(b *testing.B) {
	for _, kind := range allKinds {
		b.Run(kind, func(b *testing.B) {
			p := startEcho(b, kind)
			req := runReq(benchPayload)
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			b.ReportAllocs()
			for b.Loop() {
				res, err := p.client.Run(ctx, req)
				if err != nil || !res.Success() {
					b.Fatalf("%+v %v", res, err)
				}
			}
		})
	}
}

// BenchmarkWarmRunSpaced is BenchmarkWarmRun with 10 ms of idle before
// each call (not timed): a launcher called now and then, woken on a machine
// that has gone idle. Compare with BenchmarkWarmRun in the same run:
//
//	go test ./runtimes -run '^$' -bench 'WarmRun(Spaced)?/(nodejs|python)' -count 5
func BenchmarkWarmRunSpaced(b *testing.B) {
	for _, kind := range []string{whisk.KindNode, whisk.KindPython} {
		b.Run(kind, func(b *testing.B) {
			p := startEcho(b, kind)
			req := runReq(benchPayload)
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			for b.Loop() {
				b.StopTimer()
				time.Sleep(10 * time.Millisecond)
				b.StartTimer()
				if res, err := p.client.Run(ctx, req); err != nil || !res.Success() {
					b.Fatalf("%+v %v", res, err)
				}
			}
		})
	}
}

// BenchmarkWarmRunNetHTTP is BenchmarkWarmRun's go case with net/http's
// client instead of Client, for comparison.
func BenchmarkWarmRunNetHTTP(b *testing.B) {
	p := startEcho(b, whisk.KindGo)
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return p.dial(ctx) }}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	req := runReq(benchPayload)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		body, _ := json.Marshal(req)
		hreq, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://runtime/run", strings.NewReader(string(body)))
		hreq.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(hreq)
		if err != nil {
			b.Fatal(err)
		}
		var out json.RawMessage
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(resp.StatusCode, err)
		}
	}
}

// BenchmarkClientOverhead measures Client against a proxy that answers at
// once (no launcher): the per-call cost of the client and the HTTP hop.
func BenchmarkClientOverhead(b *testing.B) {
	dir, _ := os.MkdirTemp("", "gbn")
	defer os.RemoveAll(dir)
	ln, err := net.Listen("unix", dir+"/s")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "11")
		w.Write([]byte(`{"ok":true}`))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	c := NewClient(func(ctx context.Context) (net.Conn, error) { return net.Dial("unix", dir+"/s") })
	defer c.Close()
	req := runReq(benchPayload)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Run(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWarmRunInProcess runs the proxy inside the benchmark process, so
// that allocs/op counts both ends of the hop (the launcher is node).
func BenchmarkWarmRunInProcess(b *testing.B) {
	needInterpreter(b, whisk.KindNode)
	dir, err := os.MkdirTemp("", "gbip")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// The proxy writes its sentinels on this process's stdout and stderr.
	null, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	defer null.Close()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = null, null
	defer func() { os.Stdout, os.Stderr = stdout, stderr }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, dir+"/s", whisk.KindNode) }()
	defer func() { cancel(); <-done }()
	c := NewClient(func(ctx context.Context) (net.Conn, error) {
		for {
			conn, err := net.Dial("unix", dir+"/s")
			if err == nil || ctx.Err() != nil {
				return conn, err
			}
			time.Sleep(time.Millisecond)
		}
	})
	defer c.Close()
	if err := c.Init(context.Background(), &InitRequest{Value: InitValue{Code: echo[whisk.KindNode]}}); err != nil {
		b.Fatal(err)
	}
	req := runReq(benchPayload)
	rctx, rcancel := context.WithTimeout(context.Background(), time.Hour)
	defer rcancel()
	b.ReportAllocs()
	for b.Loop() {
		if res, err := c.Run(rctx, req); err != nil || !res.Success() {
			b.Fatal(res, err)
		}
	}
}
