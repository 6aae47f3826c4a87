package runtimes

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// stockProxy serves h on a unix socket with net/http, like OpenWhisk's own
// runtimes, and returns a client for it.
func stockProxy(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	dir, err := os.MkdirTemp("", "gstk")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	c := NewClient(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	})
	t.Cleanup(func() {
		c.Close()
		srv.Close()
		<-done
		os.RemoveAll(dir)
	})
	return c
}

func TestClientClassification(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		chunked    bool
		wantStatus int
		wantBody   string
	}{
		{"success", 200, nil, `{"a":1}`, false, whisk.StatusSuccess, `{"a":1}`},
		{"array", 200, nil, `[1,2]`, false, whisk.StatusSuccess, `[1,2]`},
		{"chunked success", 200, nil, `{"a":1}`, true, whisk.StatusSuccess, `{"a":1}`},
		{"nested error is success", 200, nil, `{"data":{"error":"x"}}`, false, whisk.StatusSuccess, `{"data":{"error":"x"}}`},
		{"stock application error", 200, nil, `{"error":"boom"}`, false, whisk.StatusApplicationError, `{"error":"boom"}`},
		{"gust application error", 502, map[string]string{HeaderError: ErrorApplication}, `{"error":"boom","code":1}`, false, whisk.StatusApplicationError, `{"error":"boom","code":1}`},
		{"stock not a dictionary", 502, nil, `{"error":"The action did not return a dictionary or array."}`, false, whisk.StatusDeveloperError, `{"error":"The action did not return a dictionary or array."}`},
		{"command exited", 400, nil, `{"error":"command exited"}`, false, whisk.StatusDeveloperError, `{"error":"command exited"}`},
		{"500 without body", 500, nil, ``, false, whisk.StatusDeveloperError, `{"error":"` + msgAbnormalRun + `"}`},
		{"200 not JSON", 200, nil, `hello`, false, whisk.StatusDeveloperError, `{"error":"The action did not produce a valid JSON response: hello"}`},
		{"200 broken JSON", 200, nil, `{"a":`, false, whisk.StatusDeveloperError, `{"error":"The action did not produce a valid JSON response: {\"a\":"}`},
		{"200 string", 200, nil, `"x"`, false, whisk.StatusDeveloperError, `{"error":"The action did not produce a valid JSON response: \"x\""}`},
		{"marker on a non-error", 502, map[string]string{HeaderError: ErrorApplication}, `{"a":1}`, false, whisk.StatusDeveloperError, `{"error":"` + msgAbnormalRun + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := stockProxy(t, func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				if !tt.chunked {
					w.Header().Set("Content-Length", fmt.Sprint(len(tt.body)))
				}
				w.WriteHeader(tt.status)
				if tt.chunked {
					for _, c := range tt.body {
						io.WriteString(w, string(c))
						w.(http.Flusher).Flush()
					}
					return
				}
				io.WriteString(w, tt.body)
			})
			res, err := c.Run(ctxT(t, 5*time.Second), runReq(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.wantStatus || res.StatusCode != tt.status || string(res.Body) != tt.wantBody {
				t.Errorf("Run = {%d %d %s}, want {%d %d %s}", res.StatusCode, res.Status, res.Body, tt.status, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// TestClientReusesConnections checks keep-alive, and that a server closing
// the connection is followed.
func TestClientReusesConnections(t *testing.T) {
	var conns atomic.Int64
	var closeNext atomic.Bool
	c := stockProxy(t, func(w http.ResponseWriter, r *http.Request) {
		var req RunRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if closeNext.Load() {
			w.Header().Set("Connection", "close")
		}
		json.NewEncoder(w).Encode(map[string]any{"value": req.Value, "id": req.ActivationID, "key": req.APIKey, "ns": req.Namespace})
	})
	// Count connections through the dial function.
	dial := c.dial
	c.dial = func(ctx context.Context) (net.Conn, error) {
		conns.Add(1)
		return dial(ctx)
	}
	ctx := ctxT(t, 5*time.Second)
	req := runReq(`{"x": "ü\n"}`)
	req.APIKey = "k:\"ey\""
	req.Namespace = "n\u2028s\x01"
	for i := 0; i < 5; i++ {
		res, err := c.Run(ctx, req)
		if err != nil || !res.Success() {
			t.Fatalf("run %d: %+v %v", i, res, err)
		}
		jsonEqual(t, res.Body, `{"value":{"x":"ü\n"},"id":"0123456789abcdef0123456789abcdef","key":"k:\"ey\"","ns":"n\u2028s\u0001"}`)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 sequential runs dialed %d times, want 1", n)
	}
	closeNext.Store(true)
	for i := 0; i < 3; i++ {
		if _, err := c.Run(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("three runs answered with Connection: close dialed %d times in all, want 3", n)
	}
	c.Close()
	if _, err := c.Run(ctx, req); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
}

func TestClientInitErrors(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   string
	}{
		{200, `{"ok":true}`, ""},
		{502, `{"error":"syntax error"}`, "syntax error"},
		{403, `{"error":{"nested":1}}`, `{"nested":1}`},
		{500, `oops`, "status 500: oops"},
		{404, ``, "status 404"},
	}
	for _, tt := range tests {
		c := stockProxy(t, func(w http.ResponseWriter, r *http.Request) {
			var req InitRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Value.Code != "code" {
				http.Error(w, "bad init body", 400)
				return
			}
			w.WriteHeader(tt.status)
			io.WriteString(w, tt.body)
		})
		err := c.Init(ctxT(t, 5*time.Second), &InitRequest{Value: InitValue{Code: "code"}})
		if tt.want == "" {
			if err != nil {
				t.Errorf("status %d: Init = %v", tt.status, err)
			}
			continue
		}
		if !errors.Is(err, ErrInit) || !strings.HasSuffix(err.Error(), tt.want) {
			t.Errorf("status %d: Init = %v, want ErrInit ending %q", tt.status, err, tt.want)
		}
	}
}

// TestClientBrokenProxy: the proxy dies or answers garbage mid-call.
func TestClientBrokenProxy(t *testing.T) {
	tests := []struct{ name, answer string }{
		{"hang up", ""},
		{"garbage", "SSH-2.0-OpenSSH\r\n\r\n"},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}"},
		{"huge body", fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", maxResponseBody+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := os.MkdirTemp("", "gbrk")
			defer os.RemoveAll(dir)
			ln, err := net.Listen("unix", filepath.Join(dir, "s"))
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				bufio.NewReader(conn).ReadString('}') // the request, roughly
				io.WriteString(conn, tt.answer)
				conn.Close()
			}()
			c := NewClient(func(ctx context.Context) (net.Conn, error) { return net.Dial("unix", filepath.Join(dir, "s")) })
			defer c.Close()
			if res, err := c.Run(ctxT(t, 5*time.Second), runReq(`{}`)); err == nil {
				t.Fatalf("Run = %+v, want an error", res)
			}
		})
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "ctl\x00\x01\x1f\t\n\r", "ünïcødé ✓ \u2028", "bad \xff utf8", strings.Repeat("x", 1000)} {
		got := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("appendJSONString(%q) = %s: not JSON: %v", s, got, err)
			continue
		}
		want, _ := json.Marshal(s)
		var wantBack string
		json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("appendJSONString(%q) decodes to %q, want %q", s, back, wantBack)
		}
	}
}

func TestAppendRunRequest(t *testing.T) {
	req := runReq(" {\"a\": [1, {\"b\": null}]} ")
	req.APIKey = "uuid:key"
	got := appendRunRequest(nil, req)
	var back RunRequest
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	jsonEqual(t, back.Value, `{"a":[1,{"b":null}]}`)
	back.Value, req.Value = nil, nil
	if !reflect.DeepEqual(back, *req) {
		t.Errorf("round trip = %+v, want %+v", back, *req)
	}
	if empty := appendRunRequest(nil, &RunRequest{}); !json.Valid(empty) || !strings.HasPrefix(string(empty), `{"value":{}`) {
		t.Errorf("empty request = %s", empty)
	}
}

func TestClassifyResult(t *testing.T) {
	tests := []struct {
		res  string
		want resultKind
	}{
		{`{"a":1}`, resultOK},
		{` [1,2] `, resultOK},
		{`[{"error":1}]`, resultOK},
		{`{"a":{"error":1}}`, resultOK},
		{`{"a":"\"error\":1"}`, resultOK},
		{`{"error_code":1}`, resultOK},
		{`{"error":"x"}`, resultAppError},
		{`{"a":[1,{"b":2}], "error": null}`, resultAppError},
		{`{"\u0065rror":1}`, resultAppError},
		{`{"a":"b\\","error":1}`, resultAppError},
		{`"str"`, resultInvalid},
		{`42`, resultInvalid},
		{`null`, resultInvalid},
		{``, resultInvalid},
		{`{"a":`, resultInvalid},
	}
	for _, tt := range tests {
		if got := classifyResult([]byte(tt.res), true); got != tt.want {
			t.Errorf("classifyResult(%s) = %d, want %d", tt.res, got, tt.want)
		}
	}
}

func TestAppendInitRequest(t *testing.T) {
	for _, req := range []InitRequest{
		{},
		{Value: InitValue{Name: "n\"x", Main: "main", Code: "function main() {\n\treturn {a: '\u2028'};\n}", Env: map[string]string{"A": "1", "__OW_X": "y\n"}}},
		{Value: InitValue{Code: strings.Repeat("QUJD", 1000), Binary: true}},
	} {
		b, err := appendInitRequest(nil, &req)
		if err != nil {
			t.Fatal(err)
		}
		var back InitRequest
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if len(req.Value.Env) == 0 {
			back.Value.Env = nil
		}
		if !reflect.DeepEqual(back, req) {
			t.Errorf("round trip = %+v, want %+v", back, req)
		}
	}
}
