package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/internal/syncbuf"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

func TestNewConfig(t *testing.T) {
	st := firstStore(t)
	tests := []struct {
		name    string
		cfg     Config
		deps    Deps
		wantErr bool
	}{
		{"defaults", Config{}, Deps{Store: st, Controller: &fakeController{}}, false},
		{"no store", Config{}, Deps{Controller: &fakeController{}}, true},
		{"no controller", Config{}, Deps{Store: st}, true},
		{"negative rate", Config{InvocationsPerMinute: -1}, Deps{Store: st, Controller: &fakeController{}}, true},
		{"negative ttl", Config{AuthCacheTTL: -time.Second}, Deps{Store: st, Controller: &fakeController{}}, true},
		{"tiny wait", Config{MaxBlockingWait: time.Microsecond}, Deps{Store: st, Controller: &fakeController{}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(tt.cfg, tt.deps)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New: err %v, want error %v", err, tt.wantErr)
			}
			if err == nil && g.cfg.Listen != DefaultListen {
				t.Errorf("Listen %q, want %q", g.cfg.Listen, DefaultListen)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{InvocationsPerMinute: 1234, Build: "v9"})
	for _, path := range []string{"/api/v1", "/api/v1/", "/"} {
		r := h.do("GET", path, "", nil)
		mustStatus(t, path, r, 200)
		var info struct {
			Build    string                     `json:"build"`
			APIPaths []string                   `json:"api_paths"`
			Limits   map[string]int             `json:"limits"`
			Runtimes map[string][]whisk.Runtime `json:"runtimes"`
		}
		r.json(t, &info)
		if info.Build != "v9" || len(info.APIPaths) != 1 || info.APIPaths[0] != "/api/v1" {
			t.Errorf("%s: build %q api_paths %v", path, info.Build, info.APIPaths)
		}
		if info.Limits["actions_per_minute"] != 1234 || info.Limits["max_action_memory"] != whisk.MaxMemory<<20 {
			t.Errorf("%s: limits %v", path, info.Limits)
		}
		if len(info.Runtimes["nodejs"]) == 0 || info.Runtimes["nodejs"][0].Kind != whisk.KindNode {
			t.Errorf("%s: runtimes %v", path, info.Runtimes)
		}
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("%s: Access-Control-Allow-Origin %q", path, got)
		}
	}
}

func TestCORSPreflight(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	r := h.do("OPTIONS", "/api/v1/namespaces/_/actions/hello", "", nil)
	mustStatus(t, "OPTIONS", r, 200)
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":  "*",
		"Access-Control-Allow-Methods": corsAllowMethods,
		"Access-Control-Allow-Headers": corsAllowHeaders,
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestAuth(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	tests := []struct {
		name, auth string
		status     int
		msg        string
	}{
		{"missing", "", 401, msgNoCredentials},
		{"not basic", "Bearer abc", 401, msgNoCredentials},
		{"bad base64", "Basic !!!", 401, msgBadCredentials},
		{"no colon", "Basic " + "Z3Vlc3Q=", 401, msgBadCredentials},
		{"unknown uuid", basic("11111111-2222-3333-4444-555555555555", guestKey), 401, msgBadCredentials},
		{"wrong key", basic(guestUUID, "nope"), 401, msgBadCredentials},
		{"other's key", basic(guestUUID, otherKey), 401, msgBadCredentials},
		{"valid", guestAuth, 200, ""},
		{"valid again (cached)", guestAuth, 200, ""},
		{"lower-case scheme", "basic " + guestAuth[len("Basic "):], 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("GET", "/api/v1/namespaces", tt.auth, nil)
			mustStatus(t, tt.name, r, tt.status)
			if tt.status != 200 {
				if got := r.errorBody(t); got != tt.msg {
					t.Errorf("error %q, want %q", got, tt.msg)
				}
				if r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				return
			}
			var nss []string
			r.json(t, &nss)
			if len(nss) != 1 || nss[0] != "guest" {
				t.Errorf("namespaces %v, want [guest]", nss)
			}
		})
	}
}

func TestAuthCacheExpires(t *testing.T) {
	st := firstStore(t)
	h := newHarness(t, st, Config{AuthCacheTTL: 50 * time.Millisecond})
	mustStatus(t, "first", h.do("GET", "/api/v1/namespaces", guestAuth, nil), 200)
	// A new key revokes the old one; the cache honours it after its TTL.
	if err := st.PutIdentity(context.Background(), store.Identity{Namespace: "guest", UUID: guestUUID, KeyHash: store.HashKey("new-key")}); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, "within ttl", h.do("GET", "/api/v1/namespaces", guestAuth, nil), 200)
	time.Sleep(80 * time.Millisecond)
	mustStatus(t, "after ttl", h.do("GET", "/api/v1/namespaces", guestAuth, nil), 401)
	mustStatus(t, "new key", h.do("GET", "/api/v1/namespaces", basic(guestUUID, "new-key"), nil), 200)
}

func TestLimits(t *testing.T) {
	st := firstStore(t)
	h := newHarness(t, st, Config{InvocationsPerMinute: 100, ConcurrentInvocations: 10, FiresPerMinute: 7})
	if err := st.PutIdentity(context.Background(), store.Identity{Namespace: "other", UUID: otherUUID, KeyHash: store.HashKey(otherKey), InvocationsPerMinute: 5}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		auth, path       string
		status           int
		perMin, conc, fp int
	}{
		{guestAuth, "/api/v1/namespaces/_/limits", 200, 100, 10, 7},
		{guestAuth, "/api/v1/namespaces/guest/limits", 200, 100, 10, 7},
		{otherAuth, "/api/v1/namespaces/_/limits", 200, 5, 10, 7},
		{otherAuth, "/api/v1/namespaces/guest/limits", 403, 0, 0, 0},
		{"", "/api/v1/namespaces/_/limits", 401, 0, 0, 0},
	}
	for _, tt := range tests {
		r := h.do("GET", tt.path, tt.auth, nil)
		mustStatus(t, tt.path, r, tt.status)
		if tt.status != 200 {
			continue
		}
		var l namespaceLimits
		r.json(t, &l)
		if l.InvocationsPerMinute != tt.perMin || l.ConcurrentInvocations != tt.conc || l.FiresPerMinute != tt.fp {
			t.Errorf("%s: limits %+v, want %d/%d/%d", tt.path, l, tt.perMin, tt.conc, tt.fp)
		}
		if l.MaxActionMemory != whisk.MaxMemory || l.MaxParameterSize != "1048576 B" {
			t.Errorf("%s: limits %+v", tt.path, l)
		}
	}
}

func TestRoutingErrors(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	tests := []struct {
		method, path string
		status       int
		msg          string
	}{
		{"GET", "/nothing/here", 404, msgNotFound},
		{"GET", "/api/v1/namespaces/_/unknowns", 404, msgNotFound},
		{"PATCH", "/api/v1/namespaces/_/actions/x", 405, msgMethod},
	}
	for _, tt := range tests {
		r := h.do(tt.method, tt.path, guestAuth, nil)
		mustStatus(t, tt.method+" "+tt.path, r, tt.status)
		if got := r.errorBody(t); got != tt.msg {
			t.Errorf("%s %s: error %q, want %q", tt.method, tt.path, got, tt.msg)
		}
	}
}

func TestPanicIsA500(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	h.putAction("boom", nodeAction("x"))
	h.ctrl.fn = func(context.Context, *bus.ActivationMessage, time.Duration) (*whisk.Activation, error) {
		panic("controller bug")
	}
	r := h.do("POST", "/api/v1/namespaces/_/actions/boom?blocking=true", guestAuth, nil)
	mustStatus(t, "panicking controller", r, 500)
	if got := r.errorBody(t); got != msgInternal {
		t.Errorf("error %q, want %q", got, msgInternal)
	}
}

func TestStatusMapping(t *testing.T) {
	tests := []struct {
		err    error
		status int
		msg    string
	}{
		{store.ErrNotFound, 404, msgNotFound},
		{fmt.Errorf("get: %w", store.ErrNotFound), 404, msgNotFound},
		{store.ErrExists, 409, msgExists},
		{store.ErrConflict, 409, msgConflict},
		{fmt.Errorf("%w: memory 1 MB", whisk.ErrBadLimits), 400, "invalid limits: memory 1 MB"},
		{whisk.ErrBadKind, 400, whisk.ErrBadKind.Error()},
		{store.ErrInvalid, 400, store.ErrInvalid.Error()},
		{errorf(ErrForbidden, "not '%s'", "x"), 403, "not 'x'"},
		{ErrForbidden, 403, msgForbidden},
		{errorf(ErrTooLarge, "big"), 413, "big"},
		{errorf(ErrThrottled, "slow down"), 429, "slow down"},
		{errors.New("redis: connection refused at 10.0.0.1"), 500, msgInternal},
		{errorf(errors.New("internal"), "secret detail"), 500, msgInternal},
	}
	for _, tt := range tests {
		status, msg := status(tt.err)
		if status != tt.status || msg != tt.msg {
			t.Errorf("status(%v) = %d %q, want %d %q", tt.err, status, msg, tt.status, tt.msg)
		}
	}
}

// startRun runs gw until stop cancels its context; stop returns what Run
// returned, and fails the test if Run has not returned within wait.
func startRun(t *testing.T, gw *Gateway) (ctx context.Context, stop func(wait time.Duration) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	select {
	case <-gw.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("not ready after 5s")
	}
	return ctx, func(wait time.Duration) error {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(wait):
			t.Fatalf("Run has not returned %v after cancel", wait)
			return nil
		}
	}
}

func TestRunServesAndStops(t *testing.T) {
	st := firstStore(t)
	h := newHarness(t, st, Config{Listen: "127.0.0.1:0"})
	ctx, stop := startRun(t, h.gw)
	req, _ := http.NewRequest("GET", "http://"+h.gw.Addr().String()+"/api/v1/namespaces", nil)
	req.Header.Set("Authorization", guestAuth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || strings.TrimSpace(string(body)) != `["guest"]` {
		t.Fatalf("GET namespaces: %d %s", res.StatusCode, body)
	}
	if res.Header.Get("Server") != "" {
		t.Errorf("Server header %q, want none", res.Header.Get("Server"))
	}
	if err := h.gw.Run(ctx); err == nil {
		t.Error("second Run succeeded")
	}
	if err := stop(15 * time.Second); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

func TestRunListenError(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{Listen: "256.0.0.1:1"})
	if err := h.gw.Run(context.Background()); err == nil {
		t.Fatal("Run on a bad address succeeded")
	}
}

// decodeJSON is a tiny helper for inline expectations.
func decodeJSON(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// TestRunStopsWithSpareConnection: a connection that never sent a request
// (a browser opens spare ones) does not hold the stop for ShutdownTimeout;
// fasthttp alone waits for it as for a request being served.
func TestRunStopsWithSpareConnection(t *testing.T) {
	var logs syncbuf.Buffer
	gw, err := New(Config{Listen: "127.0.0.1:0", ShutdownTimeout: 20 * time.Second},
		Deps{Store: firstStore(t), Controller: &fakeController{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	_, stop := startRun(t, gw)
	spare, err := net.Dial("tcp", gw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	time.Sleep(50 * time.Millisecond) // accepted and being served
	start := time.Now()
	if err := stop(15 * time.Second); err != nil { // the spare connection held it for ShutdownTimeout (20 s)
		t.Fatalf("Run after cancel: %v", err)
	}
	t.Logf("stopped in %v", time.Since(start))
	spare.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := io.ReadAll(spare); err != nil {
		t.Errorf("the spare connection is still open 5 s after the stop: %v (read %q)", err, b)
	}
	if strings.Contains(logs.String(), "request failed") {
		t.Errorf("the stop logged a failed request:\n%s", logs.String())
	}
}
