package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// server is a scripted API: each test routes requests to a handler and
// inspects what arrived.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	reqs     []*http.Request
	bodies   [][]byte
	handler  http.HandlerFunc
	newConns atomic.Int64
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{handler: h}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, r)
		s.bodies = append(s.bodies, body)
		s.mu.Unlock()
		s.handler(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.newConns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *server) last(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		t.Fatal("no request arrived")
	}
	return s.reqs[len(s.reqs)-1], s.bodies[len(s.bodies)-1]
}

func replyJSON(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func newClient(t *testing.T, s *server, ns string) *Client {
	t.Helper()
	c, err := New(Config{APIHost: s.URL, Auth: GuestAuth, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBaseURL(t *testing.T) {
	cases := []struct {
		in, want string
		bad      bool
	}{
		{in: "http://127.0.0.1:3233", want: "http://127.0.0.1:3233"},
		{in: "http://127.0.0.1:3233/", want: "http://127.0.0.1:3233"},
		{in: "openwhisk.example.com", want: "https://openwhisk.example.com"},
		{in: "host:8443", want: "https://host:8443"},
		{in: " https://h/prefix/ ", want: "https://h/prefix"},
		{in: "", bad: true},
		{in: "http://", bad: true},
		{in: "http:", bad: true},
		{in: "https:/", bad: true},
		{in: "http://h/?q=1", bad: true},
		{in: "http://user:pw@h", bad: true},
	}
	for _, tc := range cases {
		got, err := BaseURL(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrBadConfig) {
				t.Errorf("BaseURL(%q) = %q, %v; want ErrBadConfig", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("BaseURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []Config{
		{Auth: "no-colon"},
		{Namespace: "a/b"},
		{APIVersion: "v1/x"},
		{APIHost: "http://"},
	}
	for _, cfg := range cases {
		if _, err := New(cfg); !errors.Is(err, ErrBadConfig) {
			t.Errorf("New(%+v) error = %v; want ErrBadConfig", cfg, err)
		}
	}
	c, err := New(Config{})
	if err != nil {
		t.Fatalf("New with defaults: %v", err)
	}
	if c.api != DefaultAPIHost+"/api/v1" || c.Namespace() != "_" || c.auth != nil {
		t.Errorf("defaults: api %q ns %q auth %v", c.api, c.Namespace(), c.auth)
	}
}

func TestRequestsCarryCredentialsAndPaths(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/actions") || strings.HasSuffix(r.URL.Path, "/") {
			replyJSON(200, `[]`)(w, r)
			return
		}
		replyJSON(200, `{"namespace":"guest","name":"hello","version":"0.0.2","exec":{"kind":"nodejs:20","binary":false},"limits":{"timeout":60000,"memory":256,"logs":10,"concurrency":1},"publish":false}`)(w, r)
	})
	c := newClient(t, s, "")
	ctx := context.Background()
	cases := []struct {
		name     string
		call     func() error
		method   string
		path     string
		query    string
		wantBody string
	}{
		{"get without code", func() error { _, err := c.GetAction(ctx, "hello", false); return err },
			"GET", "/api/v1/namespaces/_/actions/hello", "code=false", ""},
		{"get with code", func() error { _, err := c.GetAction(ctx, "hello", true); return err },
			"GET", "/api/v1/namespaces/_/actions/hello", "", ""},
		{"get in package", func() error { _, err := c.GetAction(ctx, "pkg/hello", false); return err },
			"GET", "/api/v1/namespaces/_/actions/pkg/hello", "code=false", ""},
		{"get qualified", func() error { _, err := c.GetAction(ctx, "/other/pkg/hello", false); return err },
			"GET", "/api/v1/namespaces/other/actions/pkg/hello", "code=false", ""},
		{"get wsk three-part form", func() error { _, err := c.GetAction(ctx, "other/pkg/hello", false); return err },
			"GET", "/api/v1/namespaces/other/actions/pkg/hello", "code=false", ""},
		{"get escaped", func() error { _, err := c.GetAction(ctx, "my action?", false); return err },
			"GET", "/api/v1/namespaces/_/actions/my%20action%3F", "code=false", ""},
		{"delete", func() error { return c.DeleteAction(ctx, "hello") },
			"DELETE", "/api/v1/namespaces/_/actions/hello", "", ""},
		{"create", func() error {
			timeout, logs := 3000, 0
			_, err := c.PutAction(ctx, "hello", &ActionPut{
				Exec:       &whisk.Exec{Kind: "nodejs:default", Code: "x"},
				Parameters: whisk.KeyValues{{Key: "a", Value: json.RawMessage(`1`)}},
				Limits:     &LimitsPut{Timeout: &timeout, Logs: &logs},
			}, false)
			return err
		}, "PUT", "/api/v1/namespaces/_/actions/hello", "overwrite=false",
			`{"exec":{"kind":"nodejs:default","code":"x","binary":false},"parameters":[{"key":"a","value":1}],"limits":{"timeout":3000,"logs":0}}`},
		{"update nothing", func() error { _, err := c.PutAction(ctx, "hello", nil, true); return err },
			"PUT", "/api/v1/namespaces/_/actions/hello", "overwrite=true", `{}`},
		{"list namespace", func() error { _, err := c.ListActions(ctx, "", ListOptions{}); return err },
			"GET", "/api/v1/namespaces/_/actions", "", ""},
		{"list package paged", func() error { _, err := c.ListActions(ctx, "pkg", ListOptions{Skip: 5, Limit: 10}); return err },
			"GET", "/api/v1/namespaces/_/actions/pkg/", "skip=5&limit=10", ""},
		{"list other namespace", func() error { _, err := c.ListActions(ctx, "/other", ListOptions{Limit: 1}); return err },
			"GET", "/api/v1/namespaces/other/actions", "limit=1", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			r, body := s.last(t)
			if r.Method != tc.method || r.URL.EscapedPath() != tc.path || r.URL.RawQuery != tc.query {
				t.Errorf("request = %s %s?%s; want %s %s?%s", r.Method, r.URL.EscapedPath(), r.URL.RawQuery, tc.method, tc.path, tc.query)
			}
			if string(body) != tc.wantBody {
				t.Errorf("body = %s; want %s", body, tc.wantBody)
			}
			user, pass, ok := r.BasicAuth()
			if !ok || user+":"+pass != GuestAuth {
				t.Errorf("credentials = %q:%q (%v)", user, pass, ok)
			}
			if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "gust-client/") {
				t.Errorf("User-Agent = %q", ua)
			}
		})
	}
}

func TestBadNames(t *testing.T) {
	s := newServer(t, replyJSON(200, `{}`))
	c := newClient(t, s, "")
	for _, name := range []string{"", "/", "/ns", "a/b/c/d", "/ns/a/b/c", "a//b", "../x", "/ns/"} {
		if _, err := c.GetAction(context.Background(), name, false); !errors.Is(err, ErrBadName) {
			t.Errorf("GetAction(%q) error = %v; want ErrBadName", name, err)
		}
	}
	if _, err := c.GetActivation(context.Background(), "a/b"); !errors.Is(err, ErrBadName) {
		t.Errorf("GetActivation(a/b) error = %v; want ErrBadName", err)
	}
	if got := len(s.reqs); got != 0 {
		t.Errorf("%d requests sent for bad names", got)
	}
}

func TestAPIErrors(t *testing.T) {
	cases := []struct {
		status   int
		body     string
		msg      string
		sentinel error
	}{
		{404, `{"error":"The requested resource does not exist.","code":"abc"}`, "The requested resource does not exist. (code abc)", ErrNotFound},
		{409, `{"error":"resource already exists","code":17}`, "resource already exists (code 17)", ErrConflict},
		{401, `{"error":"The supplied authentication is invalid"}`, "The supplied authentication is invalid", ErrUnauthorized},
		{429, `{"error":"Too many requests in the last minute (count: 61, allowed: 60).","code":"t"}`, "Too many requests in the last minute (count: 61, allowed: 60). (code t)", ErrTooManyRequests},
		{500, `<html>oops</html>`, "The connection failed, or timed out. (HTTP status code 500)", nil},
		{503, ``, "The connection failed, or timed out. (HTTP status code 503)", ErrUnavailable},
	}
	for _, tc := range cases {
		s := newServer(t, replyJSON(tc.status, tc.body))
		c := newClient(t, s, "")
		_, err := c.GetAction(context.Background(), "x", false)
		var ae *APIError
		if !errors.As(err, &ae) {
			t.Fatalf("status %d: error %v is not an *APIError", tc.status, err)
		}
		if ae.Status != tc.status || ae.Error() != tc.msg || string(ae.Body) != tc.body {
			t.Errorf("status %d: got %d %q body %q; want %q", tc.status, ae.Status, ae.Error(), ae.Body, tc.msg)
		}
		if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
			t.Errorf("status %d: errors.Is(%v) = false", tc.status, tc.sentinel)
		}
		if errors.Is(err, ErrConflict) && tc.status != 409 {
			t.Errorf("status %d matches ErrConflict", tc.status)
		}
	}
}

func TestBadResponseBody(t *testing.T) {
	s := newServer(t, replyJSON(200, `not json`))
	c := newClient(t, s, "")
	if _, err := c.GetAction(context.Background(), "x", false); !errors.Is(err, ErrBadResponse) {
		t.Errorf("error = %v; want ErrBadResponse", err)
	}
}

const record = `{"namespace":"guest","name":"hello","activationId":"aaa","response":{"status":"success","statusCode":0,"success":true,"result":{"ok":true}},"logs":[]}`

func TestInvoke(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		header     string
		body       string
		blocking   bool
		result     bool
		args       any
		timeout    time.Duration
		wantQuery  string
		wantArgs   string
		wantID     string
		wantErr    error
		wantDone   bool
		wantResult string
	}{
		{name: "non-blocking", status: 202, header: "id1", body: `{"activationId":"id1"}`,
			wantQuery: "blocking=false&result=false", wantArgs: "{}", wantID: "id1"},
		{name: "blocking record", status: 200, header: "aaa", body: record, blocking: true, args: map[string]int{"n": 1},
			wantQuery: "blocking=true&result=false", wantArgs: `{"n":1}`, wantID: "aaa", wantDone: true, wantResult: `{"ok":true}`},
		{name: "id from body", status: 200, body: record, blocking: true, args: json.RawMessage(`{"raw":true}`),
			wantQuery: "blocking=true&result=false", wantArgs: `{"raw":true}`, wantID: "aaa", wantDone: true, wantResult: `{"ok":true}`},
		{name: "result implies blocking", status: 200, header: "r1", body: `{"ok":1}`, result: true, args: []byte(`[1,2]`), timeout: 1500 * time.Millisecond,
			wantQuery: "blocking=true&result=true&timeout=1500", wantArgs: `[1,2]`, wantID: "r1", wantDone: true, wantResult: `{"ok":1}`},
		{name: "blocking timed out", status: 202, header: "late", body: `{"activationId":"late"}`, blocking: true,
			wantQuery: "blocking=true&result=false", wantArgs: "{}", wantID: "late"},
		{name: "application error record", status: 502, header: "bad", body: strings.Replace(record, `"success":true`, `"success":false`, 1), blocking: true,
			wantQuery: "blocking=true&result=false", wantArgs: "{}", wantID: "bad", wantDone: true, wantResult: `{"ok":true}`},
		{name: "application error result without header", status: 502, body: `{"error":"boom"}`, result: true,
			wantQuery: "blocking=true&result=true", wantArgs: "{}", wantDone: true, wantResult: `{"error":"boom"}`},
		{name: "missing action", status: 404, body: `{"error":"The requested resource does not exist.","code":"c"}`, blocking: true,
			wantQuery: "blocking=true&result=false", wantArgs: "{}", wantErr: ErrNotFound},
		{name: "api error 502 with code", status: 502, body: `{"error":"no invoker","code":"c"}`, blocking: true,
			wantQuery: "blocking=true&result=false", wantArgs: "{}", wantErr: &APIError{}},
		{name: "proxy error page", status: 502, body: `<html>bad gateway</html>`, blocking: true,
			wantQuery: "blocking=true&result=false", wantArgs: "{}", wantErr: &APIError{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.header != "" {
					w.Header().Set(ActivationIDHeader, tc.header)
				}
				replyJSON(tc.status, tc.body)(w, r)
			})
			c := newClient(t, s, "")
			inv, err := c.Invoke(context.Background(), "hello", tc.args, tc.blocking, tc.result, tc.timeout)
			r, body := s.last(t)
			if r.Method != "POST" || r.URL.Path != "/api/v1/namespaces/_/actions/hello" || r.URL.RawQuery != tc.wantQuery {
				t.Errorf("request %s %s?%s; want query %s", r.Method, r.URL.Path, r.URL.RawQuery, tc.wantQuery)
			}
			if string(body) != tc.wantArgs || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("body %q (%s); want %q", body, r.Header.Get("Content-Type"), tc.wantArgs)
			}
			if tc.wantErr != nil {
				var ae *APIError
				if _, isAPI := tc.wantErr.(*APIError); isAPI && !errors.As(err, &ae) {
					t.Fatalf("error = %v; want *APIError", err)
				} else if !isAPI && !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v; want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if inv.Status != tc.status || inv.ActivationID != tc.wantID || inv.Done() != tc.wantDone || string(inv.Body) != tc.body {
				t.Errorf("invocation = %d %q done=%v body %s", inv.Status, inv.ActivationID, inv.Done(), inv.Body)
			}
			res, rerr := inv.Result()
			if tc.wantDone {
				if rerr != nil || string(res) != tc.wantResult {
					t.Errorf("Result() = %s, %v; want %s", res, rerr, tc.wantResult)
				}
			} else if rerr == nil {
				t.Errorf("Result() of an unfinished invocation = %s; want an error", res)
			}
		})
	}
}

func TestActivations(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/result"):
			replyJSON(200, `{"result":{"x":1},"success":true,"status":"success"}`)(w, r)
		case strings.HasSuffix(r.URL.Path, "/logs"):
			replyJSON(200, `{"logs":["a","b"]}`)(w, r)
		case r.URL.Query().Get("count") == "true":
			replyJSON(200, `{"activations":7}`)(w, r)
		case strings.HasSuffix(r.URL.Path, "/activations"):
			replyJSON(200, `[`+record+`]`)(w, r)
		default:
			replyJSON(200, record)(w, r)
		}
	})
	c := newClient(t, s, "guest")
	ctx := context.Background()

	filters := []struct {
		f    ActivationFilter
		path string
		q    string
	}{
		{ActivationFilter{}, "/api/v1/namespaces/guest/activations", ""},
		{ActivationFilter{Name: "pkg/my act", Skip: 2, Limit: 5, Since: 10, Upto: 20, Docs: true},
			"/api/v1/namespaces/guest/activations", "name=pkg%2Fmy+act&skip=2&limit=5&since=10&upto=20&docs=true"},
		{ActivationFilter{Name: "/other/hello"}, "/api/v1/namespaces/other/activations", "name=hello"},
		{ActivationFilter{Name: "/other"}, "/api/v1/namespaces/other/activations", ""},
	}
	for _, tc := range filters {
		acts, err := c.ListActivations(ctx, tc.f)
		if err != nil || len(acts) != 1 || acts[0].ActivationID != "aaa" {
			t.Fatalf("ListActivations(%+v) = %v, %v", tc.f, acts, err)
		}
		r, _ := s.last(t)
		if r.URL.EscapedPath() != tc.path || r.URL.RawQuery != tc.q {
			t.Errorf("ListActivations(%+v) sent %s?%s; want %s?%s", tc.f, r.URL.EscapedPath(), r.URL.RawQuery, tc.path, tc.q)
		}
	}
	n, err := c.CountActivations(ctx, ActivationFilter{Name: "hello", Docs: true, Limit: 3})
	if r, _ := s.last(t); err != nil || n != 7 || r.URL.RawQuery != "name=hello&count=true" {
		t.Errorf("CountActivations = %d, %v (query %s)", n, err, r.URL.RawQuery)
	}
	a, err := c.GetActivation(ctx, "aaa")
	if r, _ := s.last(t); err != nil || a.Response.Status != "success" || r.URL.Path != "/api/v1/namespaces/guest/activations/aaa" {
		t.Errorf("GetActivation = %+v, %v (path %s)", a, err, r.URL.Path)
	}
	res, err := c.ActivationResult(ctx, "aaa")
	if err != nil || string(res.Result) != `{"x":1}` || !res.Success {
		t.Errorf("ActivationResult = %+v, %v", res, err)
	}
	logs, err := c.ActivationLogs(ctx, "aaa")
	if err != nil || strings.Join(logs, ",") != "a,b" {
		t.Errorf("ActivationLogs = %v, %v", logs, err)
	}
}

func TestNamespacesEntitiesAndInfo(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1":
			replyJSON(200, `{"description":"d","build":"b","buildno":"n","runtimes":{"nodejs":[{"kind":"nodejs:20","default":true}]}}`)(w, r)
		case "/api/v1/namespaces":
			replyJSON(200, `["guest"]`)(w, r)
		case "/api/v1/namespaces/_/rules/r":
			replyJSON(200, `{"name":"r","status":"active"}`)(w, r)
		case "/api/v1/namespaces/_/actions":
			replyJSON(200, `{"actions":3}`)(w, r)
		default:
			replyJSON(200, `[{"namespace":"guest","name":"r","version":"0.0.1","publish":true,"status":"inactive"}]`)(w, r)
		}
	})
	c := newClient(t, s, "")
	ctx := context.Background()
	ns, err := c.ListNamespaces(ctx)
	if err != nil || len(ns) != 1 || ns[0] != "guest" {
		t.Errorf("ListNamespaces = %v, %v", ns, err)
	}
	info, err := c.Info(ctx)
	if err != nil || info.Build != "b" || info.BuildNo != "n" || info.Runtimes["nodejs"][0].Kind != "nodejs:20" {
		t.Errorf("Info = %+v, %v", info, err)
	}
	es, err := c.ListEntities(ctx, Rules, "other", ListOptions{Limit: 200})
	if r, _ := s.last(t); err != nil || len(es) != 1 || es[0].Status != "inactive" || !es[0].Publish ||
		r.URL.Path != "/api/v1/namespaces/other/rules" || r.URL.RawQuery != "limit=200" {
		t.Errorf("ListEntities = %+v, %v (%s?%s)", es, err, r.URL.Path, r.URL.RawQuery)
	}
	if _, err := c.ListEntities(ctx, "widgets", "", ListOptions{}); !errors.Is(err, ErrBadName) {
		t.Errorf("ListEntities(widgets) error = %v", err)
	}
	raw, err := c.GetEntity(ctx, Rules, "r")
	if err != nil || !strings.Contains(string(raw), `"active"`) {
		t.Errorf("GetEntity = %s, %v", raw, err)
	}
	n, err := c.CountActions(ctx, "")
	if r, _ := s.last(t); err != nil || n != 3 || r.URL.RawQuery != "count=true" {
		t.Errorf("CountActions = %d, %v (%s)", n, err, r.URL.RawQuery)
	}
}

func TestWithNamespace(t *testing.T) {
	s := newServer(t, replyJSON(200, `[]`))
	c := newClient(t, s, "")
	o, err := c.WithNamespace("other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.ListActions(context.Background(), "", ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.last(t); r.URL.Path != "/api/v1/namespaces/other/actions" {
		t.Errorf("path = %s", r.URL.Path)
	}
	if c.Namespace() != "_" || o.Namespace() != "other" {
		t.Errorf("namespaces %q %q", c.Namespace(), o.Namespace())
	}
	if _, err := c.WithNamespace("a/b"); !errors.Is(err, ErrBadConfig) {
		t.Errorf("WithNamespace(a/b) error = %v", err)
	}
}

// TestKeepAlive checks that invocations reuse connections: sequential calls
// one connection, concurrent callers no more connections than callers.
func TestKeepAlive(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(ActivationIDHeader, "x")
		replyJSON(200, `{"ok":true}`)(w, r)
	})
	c := newClient(t, s, "")
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		if _, err := c.Invoke(ctx, "a", nil, true, true, 0); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.newConns.Load(); n != 1 {
		t.Errorf("50 sequential invocations opened %d connections; want 1", n)
	}
	// Concurrent callers: the transport may dial a few spare connections, but
	// once warm, the idle pool must hold them all (Go's default keeps only 2
	// idle connections per host and would dial most of them again).
	const workers = 64
	burst := func() {
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		start := make(chan struct{})
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := 0; i < 10; i++ {
					if _, err := c.Invoke(ctx, "a", nil, true, true, 0); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	burst()
	warm := s.newConns.Load()
	burst()
	// The first burst may have served its callers with fewer connections
	// than callers, so the second may need a few more; with Go's default
	// idle pool (2 per host) it would reopen almost all of them.
	if n := s.newConns.Load() - warm; n > workers/2 {
		t.Errorf("a second burst of %d callers opened %d new connections (after %d); want at most %d", workers, n, warm, workers/2)
	}
}

func TestContextCancel(t *testing.T) {
	release := make(chan struct{})
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := newClient(t, s, "")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Invoke(ctx, "a", nil, true, false, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v; want context.DeadlineExceeded", err)
	}
}

func TestNoAuth(t *testing.T) {
	s := newServer(t, replyJSON(200, `["guest"]`))
	c, err := New(Config{APIHost: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListNamespaces(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.last(t); r.Header.Get("Authorization") != "" {
		t.Errorf("Authorization sent without credentials: %q", r.Header.Get("Authorization"))
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("u:k"))
	c2, _ := New(Config{APIHost: s.URL, Auth: "u:k", UserAgent: "me/1"})
	c2.ListNamespaces(context.Background())
	if r, _ := s.last(t); r.Header.Get("Authorization") != want || r.Header.Get("User-Agent") != "me/1" {
		t.Errorf("headers %v", r.Header)
	}
}

func TestPutOf(t *testing.T) {
	a := &whisk.Action{Exec: whisk.Exec{Kind: "go:1.26", Code: "x"}, Limits: whisk.Limits{Timeout: 100, Memory: 128, Logs: 0, Concurrency: 2}, Publish: true}
	b, err := json.Marshal(PutOf(a))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"exec":{"kind":"go:1.26","code":"x","binary":false},"limits":{"timeout":100,"memory":128,"logs":0,"concurrency":2},"publish":true}`
	if string(b) != want {
		t.Errorf("PutOf = %s\nwant %s", b, want)
	}
}

// BenchmarkInvoke measures the client's own cost per blocking invocation
// (request building, keep-alive round trip to a local server, reading the
// answer), in parallel as a load generator uses it.
func BenchmarkInvoke(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set(ActivationIDHeader, "c7bb1339cb4f40e3a6ccead6c99f804e")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"payload":"Hello, John"}`)
	}))
	defer srv.Close()
	c, err := New(Config{APIHost: srv.URL, Auth: GuestAuth})
	if err != nil {
		b.Fatal(err)
	}
	args := []byte(`{"name":"John"}`)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Invoke(ctx, "hello", args, true, true, 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// cannedTransport answers every request with the same response, so that a
// benchmark measures the client alone.
type cannedTransport struct{ body []byte }

func (t cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{
		StatusCode:    200,
		Header:        http.Header{ActivationIDHeader: {"c7bb1339cb4f40e3a6ccead6c99f804e"}},
		Body:          io.NopCloser(bytes.NewReader(t.body)),
		ContentLength: int64(len(t.body)),
		Request:       r,
	}, nil
}

func BenchmarkInvokeClientOnly(b *testing.B) {
	c, err := New(Config{APIHost: "http://127.0.0.1:3233", Auth: GuestAuth,
		HTTPClient: &http.Client{Transport: cannedTransport{body: []byte(`{"payload":"Hello, John"}`)}}})
	if err != nil {
		b.Fatal(err)
	}
	args := []byte(`{"name":"John"}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Invoke(ctx, "hello", args, true, true, 0); err != nil {
			b.Fatal(err)
		}
	}
}
