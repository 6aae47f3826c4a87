package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/internal/redistest"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/embedded"
	redisstore "github.com/gust-faas/gust/store/redis"
	"github.com/gust-faas/gust/whisk"
)

// Test identities: guest (OpenWhisk's well-known dev key) and another
// namespace, to prove isolation.
const (
	guestUUID = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502"
	guestKey  = "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
	otherUUID = "0b7d7b3e-4f5c-4c7d-9a0e-6f1e2d3c4b5a"
	otherKey  = "otherKeyotherKeyotherKeyotherKeyotherKeyotherKeyotherKeyotherKey"
)

var (
	guestAuth = basic(guestUUID, guestKey)
	otherAuth = basic(otherUUID, otherKey)
)

func basic(uuid, key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(uuid+":"+key))
}

// storeImpl opens one store implementation for a test.
type storeImpl struct {
	name string
	open func(t testing.TB) store.Store
}

// storeImpls are the real stores the gateway's tests run against.
var storeImpls = []storeImpl{
	{"embedded", func(t testing.TB) store.Store {
		st, err := embedded.Open(filepath.Join(t.TempDir(), "gust.db"), embedded.Options{NoSync: true})
		if err != nil {
			t.Fatalf("embedded store: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"redis", func(t testing.TB) store.Store {
		url := redistest.Start(t)
		st, err := redisstore.New(context.Background(), url, redisstore.Options{})
		if err != nil {
			t.Fatalf("redis store: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

// forEachStore runs f once per store implementation.
func forEachStore(t *testing.T, f func(t *testing.T, st store.Store)) {
	for _, impl := range storeImpls {
		t.Run(impl.name, func(t *testing.T) { f(t, impl.open(t)) })
	}
}

// firstStore opens the first implementation, for tests whose logic does
// not depend on the store.
func firstStore(t testing.TB) store.Store { return storeImpls[0].open(t) }

// fakeController answers Invoke with a function of the message; it records
// every call. It is the Controller seam's fake: the gateway's logic is what
// is under test.
type fakeController struct {
	mu    sync.Mutex
	calls []fakeCall
	fn    func(ctx context.Context, msg *bus.ActivationMessage, wait time.Duration) (*whisk.Activation, error)
}

type fakeCall struct {
	msg  *bus.ActivationMessage
	wait time.Duration
}

func (f *fakeController) Invoke(ctx context.Context, msg *bus.ActivationMessage, wait time.Duration) (*whisk.Activation, error) {
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{msg, wait})
	fn := f.fn
	f.mu.Unlock()
	if fn == nil {
		return succeed(msg, json.RawMessage(`{"ok":true}`)), nil
	}
	return fn(ctx, msg, wait)
}

func (f *fakeController) last(t *testing.T) fakeCall {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("controller was not called")
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeController) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// record builds the record an invoker would return for msg.
func record(msg *bus.ActivationMessage, code int, result json.RawMessage) *whisk.Activation {
	now := time.Now().UnixMilli()
	return &whisk.Activation{
		Namespace: msg.Namespace, Name: msg.Action.Name, Version: msg.Action.Version, Subject: msg.Subject,
		ActivationID: msg.ActivationID, Start: now, End: now + 1, Duration: 1, StatusCode: code,
		Response: whisk.NewResponse(code, result),
		Logs:     []string{"2024-05-01T10:00:00.123Z stdout: hi"},
		Annotations: whisk.KeyValues{}.Set(whisk.AnnPath, msg.Action.FQN().Path()).
			Set(whisk.AnnKind, msg.Action.Exec.Kind),
	}
}

func succeed(msg *bus.ActivationMessage, result json.RawMessage) *whisk.Activation {
	return record(msg, whisk.StatusSuccess, result)
}

// harness is a gateway over a real store with the guest and other
// namespaces, and a fake controller.
type harness struct {
	t    testing.TB
	st   store.Store
	ctrl *fakeController
	gw   *Gateway
}

func newHarness(t testing.TB, st store.Store, cfg Config) *harness {
	t.Helper()
	ctx := context.Background()
	for _, id := range []store.Identity{
		{Namespace: "guest", UUID: guestUUID, KeyHash: store.HashKey(guestKey)},
		{Namespace: "other", UUID: otherUUID, KeyHash: store.HashKey(otherKey)},
	} {
		if err := st.PutIdentity(ctx, id); err != nil {
			t.Fatalf("PutIdentity %s: %v", id.Namespace, err)
		}
	}
	ctrl := &fakeController{}
	gw, err := New(cfg, Deps{Store: st, Controller: ctrl})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &harness{t: t, st: st, ctrl: ctrl, gw: gw}
}

// response is a finished request.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response body %q: %v", r.body, err)
	}
}

// errorBody decodes an OpenWhisk error and checks its code is the
// transaction id.
func (r response) errorBody(t *testing.T) string {
	t.Helper()
	var e struct{ Error, Code string }
	r.json(t, &e)
	if e.Code == "" || e.Code != r.header.Get("X-Request-ID") {
		t.Errorf("error code %q, want the X-Request-ID %q", e.Code, r.header.Get("X-Request-ID"))
	}
	return e.Error
}

// do sends one request through the app. body may be nil, a string or []byte
// (sent as is) or any other value (JSON-encoded).
func (h *harness) do(method, path, auth string, body any) response {
	h.t.Helper()
	var rd io.Reader = http.NoBody
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := h.gw.App().Test(req, 10_000)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	if res.Header.Get("X-Request-ID") == "" {
		h.t.Errorf("%s %s: no X-Request-ID", method, path)
	}
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// mustStatus fails unless r has status want.
func mustStatus(t testing.TB, what string, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, want, r.body)
	}
}

// putAction creates or replaces an action in guest from a JSON body; for
// "pkg/name", it creates the package pkg first unless it exists.
func (h *harness) putAction(name string, body any) whisk.Action {
	h.t.Helper()
	if pkg, _, ok := strings.Cut(name, "/"); ok {
		if r := h.do("GET", "/api/v1/namespaces/_/packages/"+pkg, guestAuth, nil); r.status == 404 {
			mustStatus(h.t, "PUT package "+pkg, h.do("PUT", "/api/v1/namespaces/_/packages/"+pkg, guestAuth, map[string]any{}), 200)
		}
	}
	r := h.do("PUT", "/api/v1/namespaces/_/actions/"+name+"?overwrite=true", guestAuth, body)
	mustStatus(h.t, "PUT "+name, r, 200)
	var a whisk.Action
	r.json(h.t, &a)
	return a
}

// nodeAction is a minimal action PUT body.
func nodeAction(code string) map[string]any {
	return map[string]any{"exec": map[string]any{"kind": "nodejs:20", "code": code}}
}
