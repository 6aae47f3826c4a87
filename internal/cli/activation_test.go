package cli

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gust-faas/gust/internal/syncbuf"
)

// withActivations invokes hello (cold, success) then fail (warm, error).
func withActivations(t *testing.T) *fakeAPI {
	t.Helper()
	f := newFakeAPI(t)
	f.addAction("hello", "nodejs:20", "x")
	f.addAction("fail", "python:3.11", "x")
	runFake(t, f, "action", "invoke", "hello", "-b")
	runFake(t, f, "action", "invoke", "fail", "-b")
	return f
}

func TestActivationList(t *testing.T) {
	f := withActivations(t)
	r := runFake(t, f, "activation", "list")
	if req := f.lastRequest(t, "GET", "/api/v1/namespaces/_/activations"); req.Query != "limit=30" {
		t.Errorf("query %q", req.Query)
	}
	row := func(start int64, id, kind, startKind, status, entity string) string {
		s := time.UnixMilli(start)
		return fmt.Sprintf("%s %-32s %-11s %-5s %-10v %-17s %s\n", s.Format("2006-01-02 15:04:05"), id, kind, startKind, 12*time.Millisecond, status, entity)
	}
	want := fmt.Sprintf("%-19s %-32s %-11s %-6s%-10s %-17s %-6s\n", "Datetime", "Activation ID", "Kind", "Start", "Duration", "Status", "Entity") +
		row(1700000001000, "00000000000000000000000000000002", "python:3.11", "warm", "application error", "guest/fail:0.0.1") +
		row(1700000000000, "00000000000000000000000000000001", "nodejs:20", "cold", "success", "guest/hello:0.0.1")
	if r.code != 0 || r.stdout != want {
		t.Errorf("table:\n%s\nwant:\n%s%s", r.stdout, want, r.stderr)
	}

	runFake(t, f, "activation", "list", "/guest/pkg/hello", "-s", "2", "-l", "7", "--since", "100", "--upto", "200", "-f")
	if req := f.lastRequest(t, "GET", "/api/v1/namespaces/guest/activations"); req.Query != "name=pkg%2Fhello&skip=2&limit=7&since=100&upto=200&docs=true" {
		t.Errorf("filtered query %q", req.Query)
	}
	r = runFake(t, f, "activation", "list", "hello", "--full")
	if !strings.HasPrefix(r.stdout, "activations\n{\n    \"namespace\": \"guest\",\n    \"name\": \"hello\",") || !strings.Contains(r.stdout, `"logs": [`) {
		t.Errorf("full list:\n%s", r.stdout)
	}
}

func TestActivationGetResultLogs(t *testing.T) {
	f := withActivations(t)
	const id1 = "00000000000000000000000000000001"
	cases := []struct {
		argv []string
		want string
	}{
		{[]string{"activation", "result", id1}, "{\n    \"payload\": \"Hello, stranger!\"\n}\n"},
		{[]string{"activation", "result", "--last"}, "{\n    \"error\": \"it failed\"\n}\n"},
		{[]string{"activation", "logs", id1}, "2024-05-01T10:00:00.123Z stdout: hello from hello\n"},
		{[]string{"activation", "logs", id1, "--strip"}, "hello from hello\n"},
		{[]string{"activation", "get", id1, "--logs"}, "hello from hello\n"},
		{[]string{"activation", "get", id1, "duration"}, "ok: got activation " + id1 + ", displaying field duration\n12\n"},
		{[]string{"activation", "get", "-l", "statusCode"}, "ok: got activation 00000000000000000000000000000002, displaying field statusCode\n1\n"},
		{[]string{"activation", "get", id1, "-s"}, fmt.Sprintf("activation result for '/guest/hello' (success at %s)\n{\n    \"payload\": \"Hello, stranger!\"\n}\n", time.Unix(1700000000, 0))},
	}
	for _, tc := range cases {
		r := runFake(t, f, tc.argv...)
		if r.code != 0 || r.stdout != tc.want {
			t.Errorf("%q: %d\n%s\nwant:\n%s%s", tc.argv, r.code, r.stdout, tc.want, r.stderr)
		}
	}
	r := runFake(t, f, "activation", "get", "nope")
	if r.code != 404-256 || r.stderr != "error: Unable to get activation 'nope': The requested resource does not exist. (code tid404)\n" {
		t.Errorf("missing: %d %q", r.code, r.stderr)
	}
	empty := newFakeAPI(t)
	r = runFake(t, empty, "activation", "logs", "--last")
	if r.code != 1 || r.stderr != "error: Unable to get logs for activation: Activation list does not contain any activations.\nRun 'gust --help' for usage.\n" {
		t.Errorf("--last without activations: %d %q", r.code, r.stderr)
	}
}

func TestActivationPoll(t *testing.T) {
	f := withActivations(t)
	env := map[string]string{"WSK_CONFIG_FILE": propsFor(t, f, "")}
	// A clock that moves a second per reading ends --exit 3 after a few polls.
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	var out syncbuf.Buffer
	a := &app{stdout: &out, stderr: &out, lookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		now: now, pollInterval: time.Millisecond}
	code := a.run(context.Background(), []string{"activation", "poll", "--since-days", "20000", "-e", "3"})
	logs := func(id, name string) string {
		return fmt.Sprintf("\nActivation: '%s' (%s)\n[\n    \"2024-05-01T10:00:00.123Z stdout: hello from %s\"\n]\n", name, id, name)
	}
	want := "Enter Ctrl-c to exit.\nPolling for activation logs\n" +
		logs("00000000000000000000000000000001", "hello") + logs("00000000000000000000000000000002", "fail")
	if code != 0 || out.String() != want {
		t.Errorf("poll: exit %d\n%q\nwant\n%q", code, out.String(), want)
	}
	req := f.lastRequest(t, "GET", "/api/v1/namespaces/_/activations")
	if !strings.Contains(req.Query, "docs=true") || !strings.Contains(req.Query, "since=") || !strings.Contains(req.Query, "limit=200") {
		t.Errorf("poll query %q", req.Query)
	}

	// New activations show up while polling; an interrupt ends the poll.
	ctx, cancel := context.WithCancel(context.Background())
	var out2 syncbuf.Buffer
	a = &app{stdout: &out2, stderr: &out2, lookupEnv: a.lookupEnv, now: time.Now, pollInterval: 5 * time.Millisecond}
	done := make(chan int)
	go func() { done <- a.run(ctx, []string{"activation", "poll", "hello"}) }()
	waitFor(t, func() bool { return strings.Contains(out2.String(), "Polling for activation logs") })
	f.mu.Lock()
	newest := f.activations[len(f.activations)-1]
	late := *newest
	late.ActivationID, late.Name, late.Start = "00000000000000000000000000000003", "hello", newest.Start+5000
	late.Logs = []string{"2024-05-01T10:00:05.000Z stdout: late"}
	f.activations = append(f.activations, &late)
	f.mu.Unlock()
	waitFor(t, func() bool { return strings.Contains(out2.String(), "(00000000000000000000000000000003)") })
	cancel()
	if code := <-done; code != 1 {
		t.Errorf("interrupted poll exit %d; want 1", code)
	}
	s := out2.String()
	if strings.Count(s, "Activation: ") != 1 || !strings.HasSuffix(s, "\"2024-05-01T10:00:05.000Z stdout: late\"\n]\nPoll terminated\n") {
		t.Errorf("interrupted poll output:\n%s", s)
	}
	if req := f.lastRequest(t, "GET", "/api/v1/namespaces/_/activations"); !strings.Contains(req.Query, "name=hello") {
		t.Errorf("poll for hello: query %q", req.Query)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
