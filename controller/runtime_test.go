package controller

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	gustinvoker "github.com/gust-faas/gust/invoker"
	"github.com/gust-faas/gust/sandbox/process"
	"github.com/gust-faas/gust/whisk"
)

// TestSequenceNodePythonGo runs a three-step sequence on the real invoker,
// the process sandbox driver and the real Node.js, Python and Go runtimes.
func TestSequenceNodePythonGo(t *testing.T) {
	for _, bin := range []string{"/usr/bin/node", "/usr/bin/python3"} {
		if _, err := os.Stat(bin); err != nil {
			t.Skipf("needs %s", bin)
		}
	}
	if testing.Short() {
		t.Skip("compiles a Go action; not in -short")
	}
	e := &composeEnv{t: t, srv: startNATS(t), st: openStore(t)}
	e.c = startComposer(t, e.srv, e.st, composeConfig())
	startRealInvoker(t, e)

	code := map[string]struct {
		kind, code string
		memory     int
	}{
		"js": {whisk.KindNode, `function main(p) { console.log("node saw", p.n); return {n: p.n + 1, trail: (p.trail || []).concat(["node"])} }`, 128},
		"py": {whisk.KindPython, "def main(a):\n    return {'n': a['n'] * a.get('factor', 2), 'trail': a['trail'] + ['python']}\n", 256},
		"go": {whisk.KindGo, "package main\n\nfunc Main(a map[string]any) map[string]any {\n\treturn map[string]any{\"n\": a[\"n\"].(float64) + 1, \"trail\": append(a[\"trail\"].([]any), \"go\")}\n}\n", 128},
	}
	for name, c := range code {
		digest, err := e.st.PutCode(context.Background(), []byte(c.code))
		if err != nil {
			t.Fatal(err)
		}
		a := &whisk.Action{Name: name, Exec: whisk.Exec{Kind: c.kind, Digest: digest},
			Limits: whisk.Limits{Timeout: 60000, Memory: c.memory, Logs: 10, Concurrency: 1}}
		if name == "py" {
			a.Parameters = whisk.KeyValues{{Key: "factor", Value: []byte("3")}}
		}
		e.put(a)
	}
	s := e.seq("polyglot", "js", "py", "go")
	msg := invocation(s, `{"n":1}`, true)
	rec, err := e.c.Invoke(context.Background(), msg, 3*time.Minute) // the first Go build is slow
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	got := resultOf(t, rec)
	trail, _ := got["trail"].([]any)
	if !rec.Response.Success || got["n"] != 7.0 || !slices.Equal(trail, []any{"node", "python", "go"}) {
		t.Fatalf("response %s %s, want n=(1+1)*3+1=7 through node, python, go", rec.Response.Status, rec.Response.Result)
	}
	if len(rec.Logs) != 3 || annotation(rec, whisk.AnnTopmost) != "true" || annotation(rec, whisk.AnnKind) != `"sequence"` {
		t.Fatalf("record logs %q annotations %s, want 3 ids, topmost, kind sequence", rec.Logs, anns(rec))
	}
	for i, id := range rec.Logs {
		step := e.stored(id)
		checkStep(t, step, msg.ActivationID)
		if want := []string{"js", "py", "go"}[i]; step.Name != want || !step.Response.Success {
			t.Errorf("step %d: %s %s, want a successful %s", i, step.Name, step.Response.Status, want)
		}
	}
	if js := e.stored(rec.Logs[0]); len(js.Logs) == 0 {
		t.Errorf("the node step's record has no logs")
	}
	stored := e.stored(msg.ActivationID)
	if !slices.Equal(stored.Logs, rec.Logs) || annotation(stored, whisk.AnnLimits) != `{"timeout":5000,"memory":256,"logs":10,"concurrency":1}` {
		t.Errorf("stored sequence record logs %q limits %s, want the ids and the largest memory 256", stored.Logs, annotation(stored, whisk.AnnLimits))
	}
}

// startRealInvoker runs the real invoker with the process driver on e's
// NATS server and store until the test ends.
func startRealInvoker(t *testing.T, e *composeEnv) {
	t.Helper()
	runDir, err := os.MkdirTemp("", "gc") // unix socket paths are short
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runDir) })
	tmp := filepath.Join(runDir, "t")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	drv := process.New(process.Config{RunDir: filepath.Join(runDir, "s"), Env: []string{"TMPDIR=" + tmp}, Logger: testLogger(t)})
	inv, err := gustinvoker.New(gustinvoker.Config{ID: "real0", Prefix: "t.", MemoryMB: 1024},
		gustinvoker.Deps{NATS: connect(t, e.srv), Store: e.st, Driver: drv, Logger: testLogger(t),
			GoCache: filepath.Join(os.TempDir(), "gust-runtimes-test-gocache")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("invoker Run: %v", err)
		}
	})
	select {
	case <-inv.Ready():
	case err := <-done:
		t.Fatalf("invoker Run: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("invoker not ready")
	}
	waitFor(t, "the invoker registered", func() bool {
		s, ok := status(e.c, "real0")
		return ok && s.State == StateUp
	})
}
