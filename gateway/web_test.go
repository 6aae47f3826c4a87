package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gust-faas/gust/controller"
	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

const webPath = "/api/v1/web/guest/"

// webReq sends a web request: headers as "Name: value" pairs, body as is.
func (h *harness) webReq(method, path string, body string, headers ...string) response {
	h.t.Helper()
	var rd io.Reader = http.NoBody
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	for _, hv := range headers {
		k, v, _ := strings.Cut(hv, ":")
		req.Header.Add(k, strings.TrimSpace(v))
	}
	res, err := h.gw.App().Test(req, 10_000)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// webAction creates a web action in guest: annotations are added to
// web-export (unless given) and final, as `wsk action create --web true` sets them.
func (h *harness) webAction(name string, params []map[string]any, anns ...any) {
	h.t.Helper()
	all := kv(anns...)
	has := func(k string) bool {
		for _, a := range all {
			if a["key"] == k {
				return true
			}
		}
		return false
	}
	if !has(annWebExport) {
		all = append(all, map[string]any{"key": annWebExport, "value": true})
	}
	if !has(annFinal) {
		all = append(all, map[string]any{"key": annFinal, "value": true})
	}
	h.putAction(name, map[string]any{"exec": map[string]any{"kind": "nodejs:20", "code": "x"}, "parameters": params, "annotations": all})
}

// webController answers web invocations: the "result" parameter, when the
// action has one, is the result (so each test picks its response); else
// the arguments are.
type webController struct {
	mu     sync.Mutex
	result string
	code   int
	err    error
}

func (w *webController) set(code int, result string, err error) {
	w.mu.Lock()
	w.code, w.result, w.err = code, result, err
	w.mu.Unlock()
}

func (w *webController) invoke(_ context.Context, msg *bus.ActivationMessage, _ time.Duration) (*whisk.Activation, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return nil, w.err
	}
	if w.result != "" {
		return record(msg, w.code, json.RawMessage(w.result)), nil
	}
	return succeed(msg, msg.Args), nil
}

func newWebHarness(t *testing.T, st store.Store, cfg Config) (*harness, *webController) {
	h := newHarness(t, st, cfg)
	wc := &webController{}
	h.ctrl.fn = wc.invoke
	return h, wc
}

func TestWebArguments(t *testing.T) {
	h, _ := newWebHarness(t, firstStore(t), Config{})
	h.webAction("echo", kv("greeting", "hi", "unset", nil))
	h.webAction("open", kv("greeting", "hi"), annFinal, false)
	h.webAction("raw", kv("greeting", "hi"), annRawHTTP, true)
	png := []byte("\x89PNG\r\n\x1a\n\x00binary\xff")

	tests := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		want                     map[string]any // args that must be there (nil value: must be absent)
		errMsg                   string
	}{
		{name: "query", method: "GET", path: "echo.json?name=Jane&n=1", status: 200, want: map[string]any{
			"name": "Jane", "n": "1", "greeting": "hi", owMethod: "get", owPath: "", owUser: nil, owBody: nil, owQuery: nil}},
		{name: "repeated query key: last wins", method: "GET", path: "echo.json?name=a&name=b", status: 200, want: map[string]any{"name": "b"}},
		{name: "escaped query", method: "GET", path: "echo.json?q=a%20b%26c", status: 200, want: map[string]any{"q": "a b&c"}},
		{name: "json body wins over query", method: "POST", path: "echo.json?name=Query&q=1", body: `{"name":"Body","obj":{"x":[1,2]}}`,
			headers: []string{"Content-Type: application/json"}, status: 200,
			want: map[string]any{"name": "Body", "q": "1", "obj": map[string]any{"x": []any{1.0, 2.0}}, owMethod: "post"}},
		{name: "json body with charset", method: "PUT", path: "echo.json", body: `{"a":true}`,
			headers: []string{"Content-Type: application/json; charset=utf-8"}, status: 200, want: map[string]any{"a": true, owMethod: "put"}},
		{name: "vendor json", method: "PATCH", path: "echo.json", body: `{"a":1}`,
			headers: []string{"Content-Type: application/vnd.api+json"}, status: 200, want: map[string]any{"a": 1.0, owMethod: "patch"}},
		{name: "json array body", method: "POST", path: "echo.json", body: `[1,"two"]`,
			headers: []string{"Content-Type: application/json"}, status: 200, want: map[string]any{owBody: []any{1.0, "two"}}},
		{name: "json string body", method: "POST", path: "echo.json", body: `"s"`,
			headers: []string{"Content-Type: application/json"}, status: 200, want: map[string]any{owBody: "s"}},
		{name: "empty json body", method: "POST", path: "echo.json", body: ` `,
			headers: []string{"Content-Type: application/json"}, status: 200, want: map[string]any{owBody: nil}},
		{name: "form body", method: "POST", path: "echo.json?name=Query", body: `name=Form&x=a+b`,
			headers: []string{"Content-Type: application/x-www-form-urlencoded"}, status: 200, want: map[string]any{"name": "Form", "x": "a b"}},
		{name: "text body", method: "POST", path: "echo.json", body: "hello\nworld \"quoted\"",
			headers: []string{"Content-Type: text/plain"}, status: 200, want: map[string]any{owBody: "hello\nworld \"quoted\""}},
		{name: "binary body", method: "POST", path: "echo.json", body: string(png),
			headers: []string{"Content-Type: image/png"}, status: 200, want: map[string]any{owBody: base64.StdEncoding.EncodeToString(png)}},
		{name: "body without content type", method: "POST", path: "echo.json", body: "abc",
			status: 200, want: map[string]any{owBody: base64.StdEncoding.EncodeToString([]byte("abc"))}},
		{name: "delete", method: "DELETE", path: "echo.json", status: 200, want: map[string]any{owMethod: "delete"}},
		{name: "path after the extension", method: "GET", path: "echo.http/a/b%20c?x=1", status: 204},
		{name: "headers lowercased", method: "GET", path: "echo.json", headers: []string{"X-Custom-Thing: v1", "Accept: text/plain"}, status: 200,
			want: map[string]any{owHeaders: map[string]any{"x-custom-thing": "v1", "accept": "text/plain", "host": "example.com"}}},

		{name: "set __ow_method by query", method: "GET", path: "echo.json?__ow_method=put", status: 400, errMsg: errFinal.Error()},
		{name: "set __ow_user by body", method: "POST", path: "echo.json", body: `{"__ow_user":"root"}`,
			headers: []string{"Content-Type: application/json"}, status: 400, errMsg: errFinal.Error()},
		{name: "set any __ow_ argument", method: "POST", path: "open.json", body: `__ow_other=1`,
			headers: []string{"Content-Type: application/x-www-form-urlencoded"}, status: 400, errMsg: errFinal.Error()},
		{name: "final parameter by query", method: "GET", path: "echo.json?greeting=bye", status: 400, errMsg: errFinal.Error()},
		{name: "final parameter by body", method: "POST", path: "echo.json", body: `{"greeting":"bye"}`,
			headers: []string{"Content-Type: application/json"}, status: 400, errMsg: errFinal.Error()},
		{name: "final parameter undefined", method: "GET", path: "echo.json?unset=1", status: 200, want: map[string]any{"unset": "1"}},
		{name: "not final", method: "GET", path: "open.json?greeting=bye", status: 200, want: map[string]any{"greeting": "bye"}},
		{name: "malformed json", method: "POST", path: "echo.json", body: `{"a":`,
			headers: []string{"Content-Type: application/json"}, status: 400, errMsg: "malformed"},
		{name: "too large", method: "POST", path: "echo.json", body: strings.Repeat("x", whisk.MaxPayload+1),
			headers: []string{"Content-Type: text/plain"}, status: 413, errMsg: "Request larger than allowed"},

		{name: "raw: body and query unparsed", method: "POST", path: "raw.json?a=1&b=%20", body: `{"name":"x"}`,
			headers: []string{"Content-Type: application/json"}, status: 200, want: map[string]any{
				owQuery: "a=1&b=%20", owBody: base64.StdEncoding.EncodeToString([]byte(`{"name":"x"}`)), "name": nil, "a": nil, "greeting": "hi"}},
		{name: "raw: text body", method: "POST", path: "raw.json", body: "plain text",
			headers: []string{"Content-Type: text/plain; charset=utf-8"}, status: 200, want: map[string]any{owBody: "plain text", owQuery: ""}},
		{name: "raw: binary body", method: "POST", path: "raw.json", body: string(png),
			headers: []string{"Content-Type: application/octet-stream"}, status: 200, want: map[string]any{owBody: base64.StdEncoding.EncodeToString(png)}},
		{name: "raw: no body", method: "GET", path: "raw.json?__ow_method=x", status: 200, want: map[string]any{owBody: "", owQuery: "__ow_method=x", owMethod: "get"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.ctrl.count()
			r := h.webReq(tt.method, webPath+"default/"+tt.path, tt.body, tt.headers...)
			mustStatus(t, tt.name, r, tt.status)
			if tt.status >= 400 {
				if got := r.errorBody(t); !strings.Contains(got, tt.errMsg) {
					t.Errorf("error %q, want %q", got, tt.errMsg)
				}
				if h.ctrl.count() != before {
					t.Error("controller called for a refused request")
				}
				return
			}
			args := argsOf(t, h.ctrl.last(t).msg.Args)
			if strings.Contains(tt.path, ".http/") {
				if args[owPath] != "/a/b%20c" || args["x"] != "1" {
					t.Errorf("__ow_path %v, x %v", args[owPath], args["x"])
				}
			}
			for k, want := range tt.want {
				got, ok := args[k]
				if want == nil {
					if ok {
						t.Errorf("arg %s = %v, want none", k, got)
					}
					continue
				}
				if k == owHeaders { // a subset: the test client adds some
					gh, _ := got.(map[string]any)
					for hk, hv := range want.(map[string]any) {
						if gh[hk] != hv {
							t.Errorf("header %s = %v, want %v (all %v)", hk, gh[hk], hv, gh)
						}
					}
					continue
				}
				if mustJSON(got) != mustJSON(want) {
					t.Errorf("arg %s = %s, want %s", k, mustJSON(got), mustJSON(want))
				}
			}
			// .json answers the result, here the arguments themselves
			if strings.Contains(tt.path, ".json") && (r.header.Get("Content-Type") != "application/json" || !json.Valid(r.body)) {
				t.Errorf("response %s %s", r.header.Get("Content-Type"), r.body)
			}
		})
	}
}

func TestWebInvocation(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h, wc := newWebHarness(t, st, Config{})
		h.webAction("pub", nil)
		h.putAction("hidden", nodeAction("x"))
		h.webAction("notexported", nil, annWebExport, false)
		h.putPackage(guestAuth, "demo", map[string]any{"parameters": kv("p", "pkg", "q", "pkg")})
		h.webAction("demo/hello", kv("q", "act"))
		h.putPackage(guestAuth, "alias", map[string]any{"binding": map[string]any{"namespace": "_", "name": "demo"}, "parameters": kv("p", "bind")})

		tests := []struct {
			name, path string
			status     int
			errMsg     string
		}{
			{"default package", webPath + "default/pub.json", 200, ""},
			{"no extension is .http", webPath + "default/pub", 204, ""},
			{"package", webPath + "demo/hello.json", 200, ""},
			{"binding", webPath + "alias/hello.json", 200, ""},
			{"not a web action", webPath + "default/hidden.json", 404, msgNotFound},
			{"web-export false", webPath + "default/notexported.json", 404, msgNotFound},
			{"missing action", webPath + "default/nope.json", 404, msgNotFound},
			{"missing package", webPath + "nopkg/hello.json", 404, msgNotFound},
			{"missing namespace", "/api/v1/web/nobody/default/pub.json", 404, msgNotFound},
			{"bad name", webPath + "default/a$b.json", 404, msgNotFound},
			{"no action segment", webPath + "default/", 404, msgNotFound},
			{"another namespace's action", "/api/v1/web/other/default/pub.json", 404, msgNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := h.webReq("GET", tt.path, "", "Authorization: "+otherAuth)
				mustStatus(t, tt.name, r, tt.status)
				if tt.status >= 400 {
					if got := r.errorBody(t); got != tt.errMsg {
						t.Errorf("error %q, want %q", got, tt.errMsg)
					}
					return
				}
				call := h.ctrl.last(t)
				if id := r.header.Get(headerActivationID); !activationIDRE.MatchString(id) || id != call.msg.ActivationID {
					t.Errorf("activation id header %q, message %q", id, call.msg.ActivationID)
				}
				// the owner pays, whoever calls
				if call.msg.Namespace != "guest" || call.msg.Subject != "guest" || !call.msg.Blocking || call.wait != DefaultMaxBlockingWait {
					t.Errorf("message namespace %s subject %s blocking %v wait %v", call.msg.Namespace, call.msg.Subject, call.msg.Blocking, call.wait)
				}
				if args := argsOf(t, call.msg.Args); args[owUser] != "other" {
					t.Errorf("__ow_user %v, want the caller's namespace", args[owUser])
				}
			})
		}
		// package < binding < action < query for web invocations too
		r := h.webReq("GET", webPath+"alias/hello.json?r=req", "")
		mustStatus(t, "binding args", r, 200)
		if args := argsOf(t, r.body); args["p"] != "bind" || args["q"] != "act" || args["r"] != "req" || args[owUser] != nil {
			t.Errorf("binding args %s", r.body)
		}
		if b := h.ctrl.last(t).msg.Annotations.Get(annBinding); string(b) != `"guest/alias"` {
			t.Errorf("binding annotation %s", b)
		}

		// a run past the wait: 202 with the id
		wc.set(0, "", fmt.Errorf("wait: %w", controller.ErrStillRunning))
		r = h.webReq("POST", webPath+"default/pub.json", "")
		mustStatus(t, "still running", r, 202)
		if got := r.errorBody(t); got != "Response not yet ready." {
			t.Errorf("202 message %q", got)
		}
		if id := r.header.Get(headerActivationID); !activationIDRE.MatchString(id) {
			t.Errorf("202 without activation id: %q", id)
		}
		wc.set(0, "", controller.ErrNoInvokers)
		mustStatus(t, "no invokers", h.webReq("GET", webPath+"default/pub.json", ""), 503)
	})
}

func TestWebAuth(t *testing.T) {
	h, _ := newWebHarness(t, firstStore(t), Config{})
	h.webAction("key", nil, annRequireAuth, true)
	h.webAction("secret", nil, annRequireAuth, "s3cret")
	h.webAction("number", nil, annRequireAuth, 4711)
	h.webAction("off", nil, annRequireAuth, false)
	h.webAction("weird", nil, annRequireAuth, map[string]any{"x": 1})
	bad := basic(guestUUID, "wrongkey")
	tests := []struct {
		name, action string
		headers      []string
		status       int
		user         any // __ow_user
	}{
		{"key: none", "key", nil, 401, nil},
		{"key: bad", "key", []string{"Authorization: " + bad}, 401, nil},
		{"key: not basic", "key", []string{"Authorization: Bearer abc"}, 401, nil},
		{"key: owner", "key", []string{"Authorization: " + guestAuth}, 200, "guest"},
		{"key: any valid namespace", "key", []string{"Authorization: " + otherAuth}, 200, "other"},
		{"secret: none", "secret", nil, 401, nil},
		{"secret: wrong", "secret", []string{"X-Require-Whisk-Auth: nope"}, 401, nil},
		{"secret: case matters", "secret", []string{"X-Require-Whisk-Auth: S3CRET"}, 401, nil},
		{"secret: right", "secret", []string{"X-Require-Whisk-Auth: s3cret"}, 200, nil},
		{"secret: right and a key", "secret", []string{"X-Require-Whisk-Auth: s3cret", "Authorization: " + otherAuth}, 200, "other"},
		{"secret: a key is not the secret", "secret", []string{"Authorization: " + guestAuth}, 401, nil},
		{"number: right", "number", []string{"X-Require-Whisk-Auth: 4711"}, 200, nil},
		{"number: wrong", "number", []string{"X-Require-Whisk-Auth: 4712"}, 401, nil},
		{"false: anyone", "off", nil, 200, nil},
		{"false: bad key ignored", "off", []string{"Authorization: " + bad}, 200, nil},
		{"unusable value: nobody", "weird", []string{"Authorization: " + guestAuth}, 401, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.ctrl.count()
			r := h.webReq("GET", webPath+"default/"+tt.action+".json", "", tt.headers...)
			mustStatus(t, tt.name, r, tt.status)
			if tt.status == 401 {
				if got := r.errorBody(t); got != msgBadCredentials {
					t.Errorf("401 message %q", got)
				}
				if h.ctrl.count() != before {
					t.Error("controller called without authorization")
				}
				return
			}
			if got := argsOf(t, r.body)[owUser]; got != tt.user {
				t.Errorf("__ow_user %v, want %v", got, tt.user)
			}
		})
	}
}

func TestWebCORS(t *testing.T) {
	h, wc := newWebHarness(t, firstStore(t), Config{})
	h.webAction("auto", nil, annRequireAuth, true)
	h.webAction("custom", nil, annCustomOptions, true, annRequireAuth, "s")

	// automatic: the gateway answers OPTIONS, without auth or invocation
	r := h.webReq("OPTIONS", webPath+"default/auto.http", "", "Access-Control-Request-Headers: X-Foo, Content-Type")
	mustStatus(t, "preflight", r, 200)
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":  "*",
		"Access-Control-Allow-Methods": "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH",
		"Access-Control-Allow-Headers": "X-Foo, Content-Type",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if h.ctrl.count() != 0 || len(r.body) != 0 {
		t.Errorf("preflight invoked the action (%d calls) or has a body %q", h.ctrl.count(), r.body)
	}
	r = h.webReq("OPTIONS", webPath+"default/auto.http", "")
	if got := r.header.Get("Access-Control-Allow-Headers"); got != corsAllowHeaders {
		t.Errorf("default Access-Control-Allow-Headers %q", got)
	}
	// and adds the CORS headers to the action's answers
	r = h.webReq("GET", webPath+"default/auto.json", "", "Authorization: "+guestAuth)
	mustStatus(t, "get", r, 200)
	if r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Access-Control-Allow-Methods") != "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH" {
		t.Errorf("CORS headers on a web answer: %v", r.header)
	}

	// custom: OPTIONS goes to the action (no auth needed), no headers added
	wc.set(0, `{"statusCode":200,"headers":{"Access-Control-Allow-Origin":"https://app.example","Access-Control-Allow-Methods":"OPTIONS, GET"}}`, nil)
	r = h.webReq("OPTIONS", webPath+"default/custom.http", "")
	mustStatus(t, "custom preflight", r, 200)
	if got := argsOf(t, h.ctrl.last(t).msg.Args)[owMethod]; got != "options" {
		t.Errorf("__ow_method %v", got)
	}
	if r.header.Get("Access-Control-Allow-Origin") != "https://app.example" || r.header.Get("Access-Control-Allow-Methods") != "OPTIONS, GET" ||
		r.header.Get("Access-Control-Allow-Headers") != "" {
		t.Errorf("custom preflight headers %v", r.header)
	}
	wc.set(0, `{"body":"x"}`, nil)
	r = h.webReq("GET", webPath+"default/custom.http", "", "X-Require-Whisk-Auth: s")
	mustStatus(t, "custom get", r, 200)
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS header added to a web-custom-options action: %v", r.header)
	}
	mustStatus(t, "custom get without secret", h.webReq("GET", webPath+"default/custom.http", ""), 401)
}

func TestWebResponses(t *testing.T) {
	h, wc := newWebHarness(t, firstStore(t), Config{})
	h.webAction("a", nil)
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR binary \xff\xfe")
	png64 := base64.StdEncoding.EncodeToString(png)
	const (
		htmlType = "text/html; charset=UTF-8"
		textType = "text/plain; charset=UTF-8"
		jsonType = "application/json"
	)
	tests := []struct {
		name   string
		path   string // after /a
		code   int    // the activation's status code
		result string
		status int
		ctype  string
		body   string            // exact, or the error message
		header map[string]string // more headers expected
	}{
		// .http
		{"html string", ".http", 0, `{"body":"<h1>hi</h1>"}`, 200, htmlType, "<h1>hi</h1>", nil},
		{"default extension", "", 0, `{"body":"<h1>hi</h1>"}`, 200, htmlType, "<h1>hi</h1>", nil},
		{"json object body", ".http", 0, `{"statusCode":201,"body":{"a":[1,2]}}`, 201, jsonType, `{"a":[1,2]}`, nil},
		{"json array body", ".http", 0, `{"body":[1,2]}`, 200, jsonType, `[1,2]`, nil},
		{"number body", ".http", 0, `{"body":42}`, 200, jsonType, `42`, nil},
		{"no body", ".http", 0, `{}`, 204, "", "", nil},
		{"null body", ".http", 0, `{"body":null,"headers":{"Content-Type":"text/plain"}}`, 204, "", "", nil},
		{"empty body with status", ".http", 0, `{"statusCode":200,"body":""}`, 200, "", "", nil},
		{"redirect", ".http", 0, `{"statusCode":302,"headers":{"location":"http://openwhisk.org"}}`, 302, "", "", map[string]string{"Location": "http://openwhisk.org"}},
		{"status as string", ".http", 0, `{"statusCode":"418","body":"teapot"}`, 418, htmlType, "teapot", nil},
		{"status as float", ".http", 0, `{"statusCode":404.0,"body":"gone"}`, 404, htmlType, "gone", nil},
		{"png", ".http", 0, `{"headers":{"Content-Type":"image/png"},"body":"` + png64 + `"}`, 200, "image/png", string(png), nil},
		{"octet stream", ".http", 0, `{"headers":{"content-type":"application/octet-stream"},"body":"` + png64 + `"}`, 200, "application/octet-stream", string(png), nil},
		{"binary not base64", ".http", 0, `{"headers":{"Content-Type":"image/png"},"body":"not base64!"}`, 400, "", msgTypeMismatch, nil},
		{"svg plain text", ".http", 0, `{"headers":{"Content-Type":"image/svg+xml"},"body":"<svg/>"}`, 200, "image/svg+xml", "<svg/>", nil},
		{"json string base64", ".http", 0, `{"headers":{"Content-Type":"application/json"},"body":"eyJ4IjoxfQ=="}`, 200, jsonType, `{"x":1}`, nil},
		{"json string", ".http", 0, `{"headers":{"Content-Type":"application/json"},"body":"{\"x\":1}"}`, 200, jsonType, `{"x":1}`, nil},
		{"text with charset added", ".http", 0, `{"headers":{"Content-Type":"text/plain"},"body":"plain"}`, 200, textType, "plain", nil},
		{"text with own charset", ".http", 0, `{"headers":{"Content-Type":"text/csv; charset=latin1"},"body":"a,b"}`, 200, "text/csv; charset=latin1", "a,b", nil},
		{"vendor json", ".http", 0, `{"headers":{"Content-Type":"application/hal+json"},"body":{"a":1}}`, 200, "application/hal+json", `{"a":1}`, nil},
		{"object body, text type", ".http", 0, `{"headers":{"Content-Type":"text/html"},"body":{"a":1}}`, 400, "", msgTypeMismatch, nil},
		{"unparsable type", ".http", 0, `{"headers":{"Content-Type":"///"},"body":"x"}`, 400, "", msgUnknownType, nil},
		{"headers of several kinds", ".http", 0, `{"headers":{"X-Num":5,"X-Bool":true,"X-List":["a","b"],"Content-Length":"999"},"body":"ok"}`, 200, htmlType, "ok",
			map[string]string{"X-Num": "5", "X-Bool": "true", "X-List": "a"}},
		{"action overrides a CORS header", ".http", 0, `{"headers":{"Access-Control-Allow-Origin":"https://x.example"},"body":"ok"}`, 200, htmlType, "ok",
			map[string]string{"Access-Control-Allow-Origin": "https://x.example"}},
		{"not an object", ".http", 0, `["a"]`, 400, "", "Response is not valid 'message/http'.", nil},
		{"bad status", ".http", 0, `{"statusCode":99}`, 400, "", "Response is not valid 'message/http'.", nil},
		{"status not a number", ".http", 0, `{"statusCode":"abc"}`, 400, "", "Response is not valid 'message/http'.", nil},
		{"headers not an object", ".http", 0, `{"headers":"x"}`, 400, "", "Response is not valid 'message/http'.", nil},
		{"header value an object", ".http", 0, `{"headers":{"X":{}}}`, 400, "", "Response is not valid 'message/http'.", nil},
		{"header value with newline", ".http", 0, `{"headers":{"X":"a\r\nSet-Cookie: evil=1"}}`, 400, "", "Response is not valid 'message/http'.", nil},
		{"bad header name", ".http", 0, `{"headers":{"Bad Name":"x"}}`, 400, "", "Response is not valid 'message/http'.", nil},
		{"application error", ".http", 1, `{"error":{"statusCode":404,"body":"no such thing"}}`, 404, htmlType, "no such thing", nil},
		{"application error not http", ".http", 1, `{"error":"boom"}`, 400, "", "Response is not valid 'message/http'.", nil},
		{"developer error", ".http", 2, `{"error":"The action did not initialize."}`, 400, "", msgProcessing, nil},
		{"internal error", ".http", 3, `{"error":"whisk"}`, 500, "", msgInternal, nil},

		// .json
		{"json", ".json", 0, `{"a":1,"b":{"c":"d"}}`, 200, jsonType, `{"a":1,"b":{"c":"d"}}`, nil},
		{"json array", ".json", 0, `[1]`, 200, jsonType, `[1]`, nil},
		{"json projection", ".json/b", 0, `{"a":1,"b":{"c":"d"}}`, 200, jsonType, `{"c":"d"}`, nil},
		{"json projection to a scalar", ".json/b/c", 0, `{"a":1,"b":{"c":"d"}}`, 400, "", "Response is not valid 'application/json'.", nil},
		{"json projection missing", ".json/nope", 0, `{"a":1}`, 404, "", msgPropertyNotFound, nil},
		{"json projection escaped", ".json/a%20b", 0, `{"a b":{"x":1}}`, 200, jsonType, `{"x":1}`, nil},
		{"json application error", ".json", 1, `{"error":{"message":"bad"}}`, 200, jsonType, `{"message":"bad"}`, nil},
		{"json application error without error", ".json", 1, `{"oops":1}`, 404, "", msgPropertyNotFound, nil},

		// .html .svg .text
		{"html field", ".html", 0, `{"html":"<p>x</p>"}`, 200, htmlType, "<p>x</p>", nil},
		{"html body field first", ".html", 0, `{"body":"<b>b</b>","html":"<p>x</p>"}`, 200, htmlType, "<b>b</b>", nil},
		{"html missing", ".html", 0, `{"text":"x"}`, 400, "", "Response is not valid 'text/html'.", nil},
		{"html not a string", ".html", 0, `{"html":{"a":1}}`, 400, "", "Response is not valid 'text/html'.", nil},
		{"html projection", ".html/page/main", 0, `{"page":{"main":"<main/>"}}`, 200, htmlType, "<main/>", nil},
		{"svg field", ".svg", 0, `{"svg":"<svg></svg>"}`, 200, "image/svg+xml", "<svg></svg>", nil},
		{"svg missing", ".svg", 0, `{}`, 400, "", "Response is not valid 'image/svg+xml'.", nil},
		{"text field", ".text", 0, `{"text":"hello"}`, 200, textType, "hello", nil},
		{"text object", ".text", 0, `{"text":{"a":1}}`, 200, textType, "{\n  \"a\": 1\n}", nil},
		{"text number", ".text", 0, `{"text":3.5}`, 200, textType, "3.5", nil},
		{"text missing", ".text", 0, `{"html":"x"}`, 404, "", msgPropertyNotFound, nil},
		{"text projection", ".text/x", 0, `{"x":true}`, 200, textType, "true", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wc.set(tt.code, tt.result, nil)
			r := h.webReq("GET", webPath+"default/a"+tt.path, "")
			mustStatus(t, tt.name, r, tt.status)
			if !activationIDRE.MatchString(r.header.Get(headerActivationID)) {
				t.Errorf("no activation id header")
			}
			if tt.status >= 400 && tt.ctype == "" { // the gateway's error, not the action's answer
				if got := r.errorBody(t); got != tt.body {
					t.Errorf("error %q, want %q", got, tt.body)
				}
				return
			}
			if got := r.header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if string(r.body) != tt.body {
				t.Errorf("body %q, want %q", r.body, tt.body)
			}
			for k, v := range tt.header {
				if got := r.header.Get(k); got != v {
					t.Errorf("header %s: %q, want %q", k, got, v)
				}
			}
		})
	}

	// several values of one header
	wc.set(0, `{"headers":{"Set-Cookie":["a=1; Path=/","b=2"],"X-List":["x","y"]},"body":"ok"}`, nil)
	r := h.webReq("GET", webPath+"default/a.http", "")
	if got := r.header.Values("Set-Cookie"); len(got) != 2 || !strings.HasPrefix(got[0], "a=1") || got[1] != "b=2" {
		t.Errorf("Set-Cookie %q", got)
	}
	if got := r.header.Values("X-List"); len(got) != 2 || got[0] != "x" || got[1] != "y" {
		t.Errorf("X-List %q", got)
	}
	// HEAD: status and headers, no body
	wc.set(0, `{"body":"<p>hi</p>"}`, nil)
	r = h.webReq("HEAD", webPath+"default/a", "")
	if r.status != 200 || len(r.body) != 0 {
		t.Errorf("HEAD: %d %q", r.status, r.body)
	}
}

func TestWebThrottle(t *testing.T) {
	h, _ := newWebHarness(t, firstStore(t), Config{InvocationsPerMinute: 3})
	h.webAction("a", nil)
	// the owner's throttle, shared with API invocations; callers do not matter
	mustStatus(t, "api", h.do("POST", actionsPath+"a", guestAuth, nil), 202)
	mustStatus(t, "web 1", h.webReq("GET", webPath+"default/a.json", "", "Authorization: "+otherAuth), 200)
	mustStatus(t, "web 2", h.webReq("GET", webPath+"default/a.json", ""), 200)
	r := h.webReq("GET", webPath+"default/a.json", "")
	mustStatus(t, "web 3", r, 429)
	if got := r.errorBody(t); got != "Too many requests in the last minute (count: 3, allowed: 3)." {
		t.Errorf("429 message %q", got)
	}
	// a preflight is no invocation
	mustStatus(t, "preflight", h.webReq("OPTIONS", webPath+"default/a.json", ""), 200)
	mustStatus(t, "other namespace unaffected", h.do("POST", "/api/v1/namespaces/_/actions/x", otherAuth, nil), 404)
}

func TestWebAnnotations(t *testing.T) {
	tests := []struct {
		name string
		anns whisk.KeyValues
		want webAnnotations
	}{
		{"none", nil, webAnnotations{}},
		{"web true", whisk.KeyValues{}.Set(annWebExport, true).Set(annRawHTTP, true).Set(annCustomOptions, true),
			webAnnotations{export: true, raw: true, customOptions: true}},
		{"strings are not true", whisk.KeyValues{}.Set(annWebExport, "true"), webAnnotations{}},
		{"auth true", whisk.KeyValues{}.Set(annRequireAuth, true), webAnnotations{auth: webAuthKey}},
		{"auth false", whisk.KeyValues{}.Set(annRequireAuth, false), webAnnotations{}},
		{"auth string", whisk.KeyValues{}.Set(annRequireAuth, "x y"), webAnnotations{auth: webAuthSecret, secret: "x y"}},
		{"auth number", whisk.KeyValues{}.Set(annRequireAuth, 12), webAnnotations{auth: webAuthSecret, secret: "12"}},
		{"auth null", whisk.KeyValues{{Key: annRequireAuth, Value: json.RawMessage("null")}}, webAnnotations{auth: webAuthDeny}},
		{"auth array", whisk.KeyValues{}.Set(annRequireAuth, []int{1}), webAnnotations{auth: webAuthDeny}},
	}
	for _, tt := range tests {
		if got := parseWebAnnotations(tt.anns); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\s/", "ctl\x00\x01\x1f\t\n\r", "utf8 é ☃ 😀", "bad \xff\xfe utf8", "<script>&"} {
		got := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("%q: invalid JSON %s: %v", s, got, err)
			continue
		}
		want, _ := json.Marshal(s)
		var wantBack string
		json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("%q: round trip %q, want %q", s, back, wantBack)
		}
		if !bytes.Equal(appendJSONString(nil, []byte(s)), got) {
			t.Errorf("%q: string and []byte forms differ", s)
		}
	}
}

// BenchmarkWebWarm measures the gateway's share of a warm web invocation
// (go test -bench WebWarm -benchmem ./gateway).
func BenchmarkWebWarm(b *testing.B) {
	st := firstStore(b)
	h := newHarness(b, st, Config{AuthCacheTTL: time.Hour, ActionCacheTTL: time.Hour})
	h.putAction("hello", map[string]any{
		"exec":        map[string]any{"kind": "nodejs", "code": "x"},
		"parameters":  []map[string]any{{"key": "greeting", "value": "Hello"}},
		"annotations": []map[string]any{{"key": "web-export", "value": true}, {"key": "final", "value": true}},
	})
	gw, err := New(Config{AuthCacheTTL: time.Hour, ActionCacheTTL: time.Hour, InvocationsPerMinute: 1 << 40}, Deps{Store: st, Controller: &benchController{
		rec: &whisk.Activation{ActivationID: "0123456789abcdef0123456789abcdef",
			Response: whisk.NewResponse(whisk.StatusSuccess, json.RawMessage(`{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":{"greeting":"Hello Gust"}}`))},
	}})
	if err != nil {
		b.Fatal(err)
	}
	handler := gw.App().Handler()
	for _, bc := range []struct{ name, path, body string }{
		{"get-http", "/api/v1/web/guest/default/hello?name=Gust", ""},
		{"post-json", "/api/v1/web/guest/default/hello.json", `{"name":"Gust"}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var req fasthttp.Request
			req.Header.SetMethod("POST")
			req.SetRequestURI(bc.path)
			req.Header.Set("User-Agent", "bench")
			req.Header.Set("Accept", "*/*")
			if bc.body != "" {
				req.Header.SetContentType("application/json")
				req.SetBodyString(bc.body)
			}
			var ctx fasthttp.RequestCtx
			ctx.Init(&req, nil, nil)
			handler(&ctx)
			if s := ctx.Response.StatusCode(); s != 200 {
				b.Fatalf("status %d: %s", s, ctx.Response.Body())
			}
			b.ReportAllocs()
			for b.Loop() {
				ctx.Response.Reset()
				handler(&ctx)
			}
		})
	}
}
