package roles

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/internal/admin"
	"github.com/gust-faas/gust/internal/embednats"
	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/whisk"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	bannerOut = io.Discard
	os.Exit(m.Run())
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func testConfig(t *testing.T) Config {
	cfg, err := Load("up", []string{
		"--data-dir", t.TempDir(), "--listen", freeAddr(t), "--nats-listen", freeAddr(t),
		"--sandbox", "process", "--invoker-id", "test-invoker", "--memory", "1024",
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startUp runs `gust up` in the test process and returns a client for the
// guest namespace once the API answers.
func startUp(t *testing.T, cfg Config) *client.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Up(ctx, cfg, quietLog()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gust up: %v", err)
		}
	})
	return waitForAPI(t, cfg, done)
}

func waitForAPI(t *testing.T, cfg Config, done <-chan error) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{APIHost: "http://" + cfg.Listen, Auth: admin.GuestAuth})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := c.ListNamespaces(context.Background()); err == nil {
			return c
		}
		select {
		case err := <-done: // a nil channel never fires
			t.Fatalf("gust exited early: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("API did not come up within 20s")
		}
	}
}

func put(t *testing.T, c *client.Client, name, kind, code string, binary bool) {
	t.Helper()
	exec := &whisk.Exec{Kind: kind, Code: code, Binary: binary}
	if kind == whisk.KindBlackbox {
		exec.Image = "openwhisk/dockerskeleton" // what wsk --native sends
	}
	_, err := c.PutAction(context.Background(), name, &client.ActionPut{Exec: exec}, true)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
}

// TestUpEndToEnd drives the whole platform, gateway to runtime and back, for
// every kind: the README's first action, through the real API.
func TestUpEndToEnd(t *testing.T) {
	c := startUp(t, testConfig(t))
	put(t, c, "hello-js", "nodejs:default", `function main(p) { console.log("hi from node"); return {greeting: "Hello " + p.name} }`, false)
	put(t, c, "hello-py", "python:3", "def main(args):\n    print('hi from python')\n    return {'greeting': 'Hello ' + args['name']}\n", false)
	put(t, c, "hello-go", "go", "package main\n\nfunc Main(args map[string]any) map[string]any {\n\treturn map[string]any{\"greeting\": \"Hello \" + args[\"name\"].(string)}\n}\n", false)
	put(t, c, "hello-native", "blackbox", nativeZip(t), true)

	ctx := context.Background()
	for _, name := range []string{"hello-js", "hello-py", "hello-go", "hello-native"} {
		t.Run(name, func(t *testing.T) {
			inv, err := c.Invoke(ctx, name, map[string]any{"name": "World"}, true, false, 60*time.Second)
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			act, err := inv.Activation()
			if err != nil {
				t.Fatalf("status %d: %v (%s)", inv.Status, err, inv.Body)
			}
			var got struct{ Greeting string }
			json.Unmarshal(act.Response.Result, &got)
			if !act.Response.Success || got.Greeting != "Hello World" {
				t.Fatalf("response = %+v, want greeting Hello World", act.Response)
			}
			stored := waitActivation(t, c, act.ActivationID)
			if stored.ActivationID != act.ActivationID || string(stored.Response.Result) != string(act.Response.Result) {
				t.Errorf("stored record %+v differs from the invoke's %+v", stored.Response, act.Response)
			}
		})
	}
	logs := waitLogs(t, c, "hello-py")
	if !strings.Contains(strings.Join(logs, "\n"), "stdout: hi from python") {
		t.Errorf("python logs = %q, want the action's print", logs)
	}
	list, err := c.ListActivations(ctx, client.ActivationFilter{Limit: 10})
	if err != nil || len(list) != 4 {
		names := []string{}
		for _, a := range list {
			names = append(names, a.Name)
		}
		t.Fatalf("activation list: %v, err %v; want the 4 invocations", names, err)
	}
}

// waitActivation gets a record, allowing the few milliseconds in which the
// invoker writes it after answering (the write is off the critical path).
func waitActivation(t *testing.T, c *client.Client, id string) *whisk.Activation {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		act, err := c.GetActivation(context.Background(), id)
		if err == nil {
			return act
		}
		if !errors.Is(err, client.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("get activation %s: %v", id, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitLogs(t *testing.T, c *client.Client, action string) []string {
	t.Helper()
	list, err := c.ListActivations(context.Background(), client.ActivationFilter{Name: action, Limit: 1})
	if err != nil || len(list) != 1 {
		t.Fatalf("activations of %s: %v, %v", action, list, err)
	}
	logs, err := c.ActivationLogs(context.Background(), list[0].ActivationID)
	if err != nil {
		t.Fatal(err)
	}
	return logs
}

// TestAsyncSurvivesMissingInvoker accepts non-blocking invocations while no
// invoker runs, then starts one on its own NATS connection, as another
// process would: every accepted activation runs, none is lost.
func TestAsyncSurvivesMissingInvoker(t *testing.T) {
	cfg := testConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nc, srv, err := connectNATS(cfg, "test-gateway")
	if err != nil {
		t.Fatal(err)
	}
	defer shutdownNATS(nc, srv)
	st, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := admin.EnsureGuest(ctx, st); err != nil {
		t.Fatal(err)
	}
	g, gctx := newGroup(ctx)
	defer g.Wait()
	defer cancel()
	ctl, err := startController(gctx, g, cfg, nc, st, nil, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := startGateway(gctx, g, cfg, st, ctl, quietLog()); err != nil {
		t.Fatal(err)
	}
	c := waitForAPI(t, cfg, nil)
	put(t, c, "echo", "nodejs:20", `function main(p) { return {n: p.n} }`, false)

	const n = 5
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		inv, err := c.Invoke(ctx, "echo", map[string]any{"n": i}, false, false, 0)
		if err != nil || inv.Status != 202 || inv.ActivationID == "" {
			t.Fatalf("non-blocking invoke without invoker: %+v, %v; want 202", inv, err)
		}
		ids = append(ids, inv.ActivationID)
	}
	if _, err := c.GetActivation(ctx, ids[0]); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("activation ran without an invoker? err = %v", err)
	}

	late, err := embednats.Dial("nats://"+cfg.NATSListen, "late-invoker")
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if err := startInvoker(gctx, g, cfg, late, st, quietLog()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for i, id := range ids {
		for {
			act, err := c.GetActivation(ctx, id)
			if err == nil {
				var got struct{ N int }
				json.Unmarshal(act.Response.Result, &got)
				if got.N != i || !act.Response.Success {
					t.Errorf("activation %d: %+v", i, act.Response)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("accepted activation %d (%s) never ran: %v", i, id, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// nativeZip is a base64 zip holding an `exec` that answers in JSON, the
// shape `wsk action create --native` uploads.
func nativeZip(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: "exec", Method: zip.Deflate}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "#!/bin/sh\necho native log\necho '{\"greeting\": \"Hello World\"}'\n")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}
