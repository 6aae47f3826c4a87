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
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// Action sources by scenario and kind. Go sources are compiled by the test.
var sources = map[string]map[string]string{
	"hello": {
		whisk.KindNode: `function main(params) {
  console.log('log line');
  console.error('err line');
  return {payload: 'Hello, ' + (params.name || 'stranger'), activation: process.env.__OW_ACTIVATION_ID,
          initParam: process.env.GREETING, leak: process.env.GUST_TEST_LEAK || ''};
}`,
		whisk.KindPython: `import os, sys
def main(args):
    print('log line')
    print('err line', file=sys.stderr)
    return {'payload': 'Hello, ' + args.get('name', 'stranger'), 'activation': os.environ.get('__OW_ACTIVATION_ID'),
            'initParam': os.environ.get('GREETING'), 'leak': os.environ.get('GUST_TEST_LEAK', '')}
`,
		whisk.KindGo: `package hello

import (
	"fmt"
	"os"
)

func Main(args map[string]any) map[string]any {
	fmt.Println("log line")
	fmt.Fprintln(os.Stderr, "err line")
	name, _ := args["name"].(string)
	if name == "" {
		name = "stranger"
	}
	return map[string]any{"payload": "Hello, " + name, "activation": os.Getenv("__OW_ACTIVATION_ID"),
		"initParam": os.Getenv("GREETING"), "leak": os.Getenv("GUST_TEST_LEAK")}
}
`,
		whisk.KindBlackbox: `#!/bin/sh
echo "log line"
echo "err line" >&2
name=$(printf '%s' "$1" | sed -n 's/.*"name":[[:space:]]*"\([^"]*\)".*/\1/p')
printf '{"payload":"Hello, %s","activation":"%s","initParam":"%s","leak":"%s"}\n' "${name:-stranger}" "$__OW_ACTIVATION_ID" "$GREETING" "$GUST_TEST_LEAK"
`,
	},
	"apperror": {
		whisk.KindNode:     `function main() { return {error: 'boom'}; }`,
		whisk.KindPython:   "def main(args):\n    return {'error': 'boom'}\n",
		whisk.KindGo:       "package main\nfunc Main(map[string]any) map[string]any { return map[string]any{\"error\": \"boom\"} }\n",
		whisk.KindBlackbox: "#!/bin/sh\necho '{\"error\":\"boom\"}'\n",
	},
	"exception": {
		whisk.KindNode:   `function main() { throw new Error('bad'); }`,
		whisk.KindPython: "def main(args):\n    raise ValueError('bad')\n",
		whisk.KindGo:     "package main\nfunc Main(map[string]any) map[string]any { panic(\"bad\") }\n",
	},
	"nondict": {
		whisk.KindNode:     `function main() { return 'just a string'; }`,
		whisk.KindPython:   "def main(args):\n    return 'just a string'\n",
		whisk.KindGo:       "package main\nfunc Main(map[string]any) map[string]any { return nil }\n",
		whisk.KindBlackbox: "#!/bin/sh\necho 'not json'\n",
	},
	"crash": {
		whisk.KindNode:   `function main() { process.exit(3); }`,
		whisk.KindPython: "import os\ndef main(args):\n    os._exit(3)\n",
		whisk.KindGo:     "package main\nimport \"os\"\nfunc Main(map[string]any) map[string]any { os.Exit(3); return nil }\n",
	},
	"syntax": {
		whisk.KindNode:     "function main(params {\n  return {};\n}",
		whisk.KindPython:   "def main(args:\n    return {}\n",
		whisk.KindBlackbox: "this is not a script",
	},
	"nomain": {
		whisk.KindNode:   `function other() { return {}; }`,
		whisk.KindPython: "def other(args):\n    return {}\n",
	},
	"select": {
		whisk.KindNode:   `function main() { return {which: 'main'}; } function hello() { return {which: 'hello'}; }`,
		whisk.KindPython: "def main(args):\n    return {'which': 'main'}\ndef hello(args):\n    return {'which': 'hello'}\n",
		whisk.KindGo: `package main
func Main(map[string]any) map[string]any { return map[string]any{"which": "main"} }
func Hello(map[string]any) map[string]any { return map[string]any{"which": "hello"} }
`,
	},
}

var allKinds = []string{whisk.KindNode, whisk.KindPython, whisk.KindGo, whisk.KindBlackbox}

// initValue is the InitValue for a scenario's source, compiled for Go.
func initValue(t testing.TB, kind, scenario, main string) InitValue {
	t.Helper()
	src, ok := sources[scenario][kind]
	if !ok {
		t.Skipf("no %s source for %s", scenario, kind)
	}
	v := InitValue{Name: scenario, Main: main, Code: src,
		Env: map[string]string{"GREETING": "hi", "__OW_NAMESPACE": "guest", "__OW_ACTION_NAME": "/guest/" + scenario}}
	if kind == whisk.KindGo {
		v.Code, v.Binary = compileGo(t, []byte(src), main), true
	}
	return v
}

// started is a proxy with an action initialized.
func started(t *testing.T, kind, scenario, main string) *proxyProc {
	t.Helper()
	needInterpreter(t, kind)
	v := initValue(t, kind, scenario, main)
	p := startProxy(t, kind)
	if err := p.client.Init(ctxT(t, 20*time.Second), &InitRequest{Value: v}); err != nil {
		t.Fatalf("init: %v\nstderr:\n%s", err, p.stderr.String())
	}
	return p
}

func TestHello(t *testing.T) {
	t.Setenv("GUST_TEST_LEAK", "leaked") // host environment must not reach the action
	for _, kind := range allKinds {
		t.Run(kind, func(t *testing.T) {
			p := started(t, kind, "hello", "")
			ctx := ctxT(t, 10*time.Second)
			for i, name := range []string{"Ada", "Grace"} {
				// A tab between the value's tokens: split launchers take
				// the first tab as the end of the context.
				res, err := p.client.Run(ctx, runReq("{\"name\":\t\""+name+"\"}"))
				if err != nil {
					t.Fatal(err)
				}
				if !res.Success() || res.StatusCode != http.StatusOK {
					t.Fatalf("run %d: status %d (%d) %s\nstderr:\n%s", i, res.StatusCode, res.Status, res.Body, p.stderr.String())
				}
				jsonEqual(t, res.Body, `{"payload":"Hello, `+name+`","activation":"0123456789abcdef0123456789abcdef","initParam":"hi","leak":""}`)
			}
			// One sentinel after /init, one after each /run, on both streams,
			// each run's logs before its sentinel.
			stdout, stderr := p.waitOutput(t, 3)
			s := whisk.LogSentinel + "\n"
			if want := s + "log line\n" + s + "log line\n" + s; !strings.HasSuffix(stdout, want) {
				t.Errorf("stdout = %q, want it to end with %q", stdout, want)
			}
			if want := s + "err line\n" + s + "err line\n" + s; !strings.HasSuffix(stderr, want) {
				t.Errorf("stderr = %q, want it to end with %q", stderr, want)
			}
		})
	}
}

func TestRunOutcomes(t *testing.T) {
	tests := []struct {
		scenario   string
		wantStatus int    // whisk status
		wantError  string // substring of the result's "error"
	}{
		{"apperror", whisk.StatusApplicationError, "boom"},
		{"exception", whisk.StatusApplicationError, "bad"},
		{"nondict", whisk.StatusDeveloperError, msgNotDictionary},
		{"crash", whisk.StatusDeveloperError, "exited unexpectedly"},
	}
	for _, tt := range tests {
		for _, kind := range allKinds {
			t.Run(tt.scenario+"/"+kind, func(t *testing.T) {
				p := started(t, kind, tt.scenario, "")
				ctx := ctxT(t, 10*time.Second)
				for i := 0; i < 2; i++ {
					res, err := p.client.Run(ctx, runReq(`{}`))
					if err != nil {
						t.Fatal(err)
					}
					if res.Status != tt.wantStatus || res.StatusCode != http.StatusBadGateway {
						t.Fatalf("run %d: status %d (http %d) %s, want %d (http 502)", i, res.Status, res.StatusCode, res.Body, tt.wantStatus)
					}
					var body struct{ Error string }
					if err := json.Unmarshal(res.Body, &body); err != nil || !strings.Contains(body.Error, tt.wantError) {
						t.Errorf("run %d: result %s, want an error containing %q", i, res.Body, tt.wantError)
					}
				}
				if tt.scenario == "exception" && kind == whisk.KindPython {
					_, stderr := p.waitOutput(t, 3)
					if !strings.Contains(stderr, "Traceback") || !strings.Contains(stderr, "ValueError: bad") {
						t.Errorf("no traceback on stderr:\n%s", stderr)
					}
				}
			})
		}
	}
}

func TestInitFailures(t *testing.T) {
	tests := []struct {
		scenario, kind, want string
	}{
		{"syntax", whisk.KindNode, "SyntaxError"},
		{"syntax", whisk.KindPython, "SyntaxError"},
		{"syntax", whisk.KindBlackbox, "not an executable"},
		{"nomain", whisk.KindNode, "does not define a function named 'main'"},
		{"nomain", whisk.KindPython, "does not define a function named 'main'"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario+"/"+tt.kind, func(t *testing.T) {
			needInterpreter(t, tt.kind)
			p := startProxy(t, tt.kind)
			err := p.client.Init(ctxT(t, 10*time.Second), &InitRequest{Value: initValue(t, tt.kind, tt.scenario, "")})
			if !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("init error = %v, want ErrInit with %q", err, tt.want)
			}
			res, err := p.client.Run(ctxT(t, 10*time.Second), runReq(`{}`))
			if err != nil || !res.DeveloperError() {
				t.Errorf("run after a failed init = %+v, %v; want a developer error", res, err)
			}
		})
	}
}

func TestMainSelection(t *testing.T) {
	for _, kind := range []string{whisk.KindNode, whisk.KindPython, whisk.KindGo} {
		for _, main := range []string{"", "hello"} {
			t.Run(kind+"/"+main, func(t *testing.T) {
				p := started(t, kind, "select", main)
				res, err := p.client.Run(ctxT(t, 10*time.Second), runReq(`{}`))
				if err != nil {
					t.Fatal(err)
				}
				want := "hello"
				if main == "" {
					want = "main"
				}
				jsonEqual(t, res.Body, `{"which":"`+want+`"}`)
			})
		}
	}
}

func TestNodeModuleStyles(t *testing.T) {
	needInterpreter(t, whisk.KindNode)
	tests := []struct{ name, code, main string }{
		{"module.exports", `module.exports = function (p) { return {style: 'module.exports', n: p.n}; };`, ""},
		{"module.exports.main", `function main(p) { return {style: 'module.exports.main', n: p.n}; } module.exports.main = main;`, ""},
		{"exports.named", `exports.handler = (p) => ({style: 'exports.named', n: p.n});`, "handler"},
		{"async", `async function main(p) { await new Promise(r => setTimeout(r, 5)); return {style: 'async', n: p.n}; }`, ""},
		{"strict+require", "'use strict';\nconst path = require('path');\nconst main = (p) => ({style: path.basename('/x/strict+require'), n: p.n});", ""},
		{"hashbang", "#!/usr/bin/env node\nfunction main(p) { return {style: 'hashbang', n: p.n}; }", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, whisk.KindNode)
			ctx := ctxT(t, 10*time.Second)
			if err := p.client.Init(ctx, &InitRequest{Value: InitValue{Code: tt.code, Main: tt.main}}); err != nil {
				t.Fatal(err)
			}
			res, err := p.client.Run(ctx, runReq(`{"n": 7}`))
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, res.Body, `{"style":"`+tt.name+`","n":7}`)
		})
	}
}

func TestNodeRejection(t *testing.T) {
	needInterpreter(t, whisk.KindNode)
	tests := []struct{ code, want string }{
		{`function main() { return Promise.reject(new Error('nope')); }`, `{"error":"nope"}`},
		{`function main() { return Promise.reject({error: 'custom', code: 7}); }`, `{"error":"custom","code":7}`},
		{`function main() { return {n: 10n}; }`, ""}, // BigInt cannot be JSON
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			p := startProxy(t, whisk.KindNode)
			ctx := ctxT(t, 10*time.Second)
			if err := p.client.Init(ctx, &InitRequest{Value: InitValue{Code: tt.code}}); err != nil {
				t.Fatal(err)
			}
			res, err := p.client.Run(ctx, runReq(`{}`))
			if err != nil || !res.ApplicationError() {
				t.Fatalf("run = %+v, %v; want an application error", res, err)
			}
			if tt.want != "" {
				jsonEqual(t, res.Body, tt.want)
			}
		})
	}
}

func TestZipActions(t *testing.T) {
	tests := []struct {
		kind  string
		files map[string]string
		main  string
		want  string
	}{
		{whisk.KindNode, map[string]string{
			"package.json":  `{"name": "zipped", "main": "lib/app.js"}`,
			"lib/app.js":    `const h = require('./helper'); exports.main = (p) => ({greeting: h.greet(p.name)});`,
			"lib/helper.js": `exports.greet = (n) => 'Hello, ' + n;`,
		}, "", `{"greeting":"Hello, Ada"}`},
		{whisk.KindNode, map[string]string{
			"index.js": `module.exports.run = (p) => ({greeting: 'Hi ' + p.name + ' from ' + require('path').basename(process.cwd())});`,
		}, "run", `{"greeting":"Hi Ada from action"}`},
		{whisk.KindPython, map[string]string{
			"__main__.py":  "from helper import greet\ndef main(args):\n    return {'greeting': greet(args['name'])}\n",
			"helper.py":    "def greet(n):\n    return 'Hello, ' + n\n",
			"data/msg.txt": "unused",
		}, "", `{"greeting":"Hello, Ada"}`},
		{whisk.KindPython, map[string]string{
			"__main__.py": "import vpkg\ndef main(args):\n    return {'greeting': vpkg.greet(args['name'])}\n",
			"virtualenv/lib/python3.11/site-packages/vpkg.py": "def greet(n):\n    return 'Hello from the virtualenv, ' + n\n",
		}, "", `{"greeting":"Hello from the virtualenv, Ada"}`},
		{whisk.KindBlackbox, map[string]string{
			"exec*":      "#!/bin/sh\n. ./lib.sh\ngreet\n",
			"lib.sh":     "greet() { echo 'a log line'; echo '{\"greeting\":\"Hello from a zip\"}'; }\n",
			"README.txt": "hi",
		}, "", `{"greeting":"Hello from a zip"}`},
		{whisk.KindBlackbox, map[string]string{ // exec without its x bit
			"exec": "#!/bin/sh\necho '{\"ok\":1}'\n",
		}, "", `{"ok":1}`},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(tt.kind, "/", i), func(t *testing.T) {
			needInterpreter(t, tt.kind)
			p := startProxy(t, tt.kind)
			ctx := ctxT(t, 10*time.Second)
			v := InitValue{Code: b64(makeZip(t, tt.files)), Binary: true, Main: tt.main}
			if err := p.client.Init(ctx, &InitRequest{Value: v}); err != nil {
				t.Fatalf("init: %v\n%s", err, p.stderr.String())
			}
			res, err := p.client.Run(ctx, runReq(`{"name":"Ada"}`))
			if err != nil {
				t.Fatal(err)
			}
			if !res.Success() {
				t.Fatalf("run: %d %s\n%s", res.StatusCode, res.Body, p.stderr.String())
			}
			jsonEqual(t, res.Body, tt.want)
		})
	}
}

func TestZipRefused(t *testing.T) {
	needInterpreter(t, whisk.KindNode)
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"slip", map[string]string{"index.js": "exports.main = () => ({})", "../evil.js": "pwned"}, "outside the action directory"},
		{"absolute", map[string]string{"/tmp/gust-evil.js": "pwned"}, "outside the action directory"},
		{"nested slip", map[string]string{"a/../../evil.js": "pwned"}, "outside the action directory"},
		{"no entry", map[string]string{"lib/app.js": "exports.main = () => ({})"}, "package.json or index.js"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, whisk.KindNode)
			v := InitValue{Code: b64(makeZip(t, tt.files)), Binary: true}
			err := p.client.Init(ctxT(t, 10*time.Second), &InitRequest{Value: v})
			if !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("init error = %v, want ErrInit with %q", err, tt.want)
			}
		})
	}
	if _, err := os.Stat("/tmp/gust-evil.js"); err == nil {
		t.Error("an absolute zip entry was written")
	}
}

func TestSecondInitRefused(t *testing.T) {
	p := started(t, whisk.KindPython, "hello", "")
	err := p.client.Init(ctxT(t, 10*time.Second), &InitRequest{Value: initValue(t, whisk.KindPython, "select", "")})
	if !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), msgInitTwice) {
		t.Fatalf("second init error = %v, want ErrInit %q", err, msgInitTwice)
	}
	res, err := p.client.Run(ctxT(t, 10*time.Second), runReq(`{"name":"Ada"}`))
	if err != nil || !res.Success() || !strings.Contains(string(res.Body), "Hello, Ada") {
		t.Fatalf("the first action must still run: %+v %v", res, err)
	}
}

func TestRunBeforeInit(t *testing.T) {
	p := startProxy(t, whisk.KindBlackbox)
	res, err := p.client.Run(ctxT(t, 10*time.Second), runReq(`{}`))
	if err != nil || !res.DeveloperError() || res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("run = %+v, %v; want a developer error with status 500", res, err)
	}
}

func TestNodeConcurrency(t *testing.T) {
	needInterpreter(t, whisk.KindNode)
	const n = 8
	// Every run waits until all n have arrived: serialized runs would never
	// finish, concurrent ones all do.
	code := fmt.Sprintf(`let waiting = [];
function main(p) {
  return new Promise((resolve) => {
    waiting.push(() => resolve({i: p.i, activation: process.env.__OW_ACTIVATION_ID !== undefined}));
    if (waiting.length === %d) { waiting.forEach((f) => f()); waiting = []; }
  });
}`, n)
	p := startProxy(t, whisk.KindNode)
	ctx := ctxT(t, 10*time.Second)
	v := InitValue{Code: code, Env: map[string]string{"__OW_ALLOW_CONCURRENT": "true"}}
	if err := p.client.Init(ctx, &InitRequest{Value: v}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := p.client.Run(ctx, runReq(fmt.Sprintf(`{"i": %d}`, i)))
			if err != nil {
				errs <- err
				return
			}
			var got struct{ I int }
			if json.Unmarshal(res.Body, &got); !res.Success() || got.I != i {
				errs <- fmt.Errorf("run %d got %s", i, res.Body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestClientDeadline(t *testing.T) {
	needInterpreter(t, whisk.KindPython)
	p := startProxy(t, whisk.KindPython)
	code := "import time\ndef main(args):\n    time.sleep(30)\n    return {}\n"
	if err := p.client.Init(ctxT(t, 10*time.Second), &InitRequest{Value: InitValue{Code: code}}); err != nil {
		t.Fatal(err)
	}
	for _, cancelled := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		if cancelled {
			ctx, cancel = context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
		}
		start := time.Now()
		_, err := p.client.Run(ctx, runReq(`{}`))
		cancel()
		want := context.DeadlineExceeded
		if cancelled {
			want = context.Canceled
		}
		if !errors.Is(err, want) {
			t.Fatalf("Run error = %v, want %v", err, want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Run returned after %v", d)
		}
	}
}

// TestHTTPInterop drives the proxy with net/http, which sends what our own
// client does not: Expect: 100-continue, chunked bodies, unknown paths.
func TestHTTPInterop(t *testing.T) {
	p := startProxy(t, whisk.KindBlackbox)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return p.dial(ctx)
	}}}
	defer hc.CloseIdleConnections()
	post := func(path string, body io.Reader, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://runtime"+path, body)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	script := "#!/bin/sh\nprintf '%s\\n' \"$1\"\n"
	init, _ := json.Marshal(InitRequest{Value: InitValue{Code: script}})
	big := strings.Repeat("x", 4000)
	if code, body := post("/init", strings.NewReader(string(init)), map[string]string{"Expect": "100-continue"}); code != 200 {
		t.Fatalf("init: %d %s", code, body)
	}
	// A chunked body (unknown length) and a large argument.
	pr, pw := io.Pipe()
	go func() {
		fmt.Fprintf(pw, `{"value": {"big": "%s"},`, big)
		fmt.Fprint(pw, ` "activation_id": "x"}`)
		pw.Close()
	}()
	if code, body := post("/run", pr, nil); code != 200 || !strings.Contains(body, big) {
		t.Fatalf("chunked run: %d %.80s", code, body)
	}
	if code, _ := post("/run", strings.NewReader(`[1,2]`), nil); code != http.StatusBadRequest {
		t.Errorf("non-object run body: status %d, want 400", code)
	}
	if code, _ := post("/nope", strings.NewReader(`{}`), nil); code != http.StatusNotFound {
		t.Errorf("unknown path: status %d, want 404", code)
	}
	resp, err := hc.Get("http://runtime/run")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /run: status %d, want 405", resp.StatusCode)
	}
	// The connection survives all of that.
	if code, body := post("/run", strings.NewReader(`{"value":{"a":1}}`), nil); code != 200 || body != `{"a":1}` {
		t.Errorf("run: %d %s", code, body)
	}
}

// TestMalformedRequests writes raw bytes to the proxy.
func TestMalformedRequests(t *testing.T) {
	p := startProxy(t, whisk.KindBlackbox)
	tests := []struct{ name, req, want string }{
		{"garbage", "HELLO\r\n\r\n", "HTTP/1.1 400"},
		{"bad length", "POST /run HTTP/1.1\r\nContent-Length: x\r\n\r\n", "HTTP/1.1 400"},
		{"too large", fmt.Sprintf("POST /run HTTP/1.1\r\nContent-Length: %d\r\n\r\n", maxRunBody+1), "HTTP/1.1 413"},
		{"bad init", "POST /init HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", "HTTP/1.1 400"},
		{"http/1.0", "POST /run HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}", "HTTP/1.1 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("unix", p.sock)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, tt.req)
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || !strings.HasPrefix(line, tt.want) {
				t.Fatalf("status line %q (%v), want %q", line, err, tt.want)
			}
		})
	}
}

func TestServeBadKind(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	if err := Serve(context.Background(), sock, "cobol:1"); !errors.Is(err, ErrBadKind) {
		t.Fatalf("Serve(cobol) = %v, want ErrBadKind", err)
	}
}

// serveInProcess runs Serve in this process on a fresh socket; stop cancels
// it and returns Serve's error, failing the test if it does not return.
func serveInProcess(t *testing.T, kind string) (c *Client, sock string, stop func() error) {
	t.Helper()
	dir, err := os.MkdirTemp("", "gprt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock = filepath.Join(dir, "s")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, sock, kind) }()
	c = NewClient(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		for {
			conn, err := d.DialContext(ctx, "unix", sock)
			if err == nil || ctx.Err() != nil {
				return conn, err
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	t.Cleanup(func() { c.Close() })
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return after cancel")
			return nil
		}
	}
	t.Cleanup(func() { stop() })
	return c, sock, stop
}

// TestServeInProcess runs Serve without re-exec and stops it with ctx.
func TestServeInProcess(t *testing.T) {
	c, sock, stop := serveInProcess(t, "native")
	if err := c.Init(ctxT(t, 10*time.Second), &InitRequest{Value: InitValue{Code: "#!/bin/sh\necho '[1,2]'\n"}}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Run(ctxT(t, 10*time.Second), runReq(`{}`))
	if err != nil || !res.Success() || string(res.Body) != "[1,2]" {
		t.Fatalf("run = %+v %v", res, err)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o666 {
		t.Errorf("socket mode = %v, %v; want 0666", fi.Mode(), err)
	}
	if err := Serve(context.Background(), sock, "native"); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("Serve on a live socket = %v, want an error", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

// TestServeStopsBusy stops Serve while a blackbox run or an executable's
// start is in progress: both must end with it.
func TestServeStopsBusy(t *testing.T) {
	tests := []struct {
		kind, code string
		run        bool // block in /run (else in /init)
	}{
		{whisk.KindBlackbox, "#!/bin/sh\nexec sleep 60\n", true},
		{whisk.KindGo, "#!/bin/sh\nexec sleep 60\n", false}, // never acknowledges
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			c, _, stop := serveInProcess(t, tt.kind)
			ctx := ctxT(t, 30*time.Second)
			errc := make(chan error, 1)
			go func() {
				err := c.Init(ctx, &InitRequest{Value: InitValue{Code: b64([]byte(tt.code)), Binary: true}})
				if err == nil && tt.run {
					_, err = c.Run(ctx, runReq(`{}`))
				}
				errc <- err
			}()
			time.Sleep(300 * time.Millisecond) // let the call get going
			start := time.Now()
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err == nil {
				t.Error("the call succeeded across the shutdown")
			}
			t.Logf("stopped in %v", time.Since(start))
		})
	}
}

func TestServeReplacesStaleSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "gprt")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // a socket file nobody listens on, as a killed proxy leaves
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, sock, whisk.KindBlackbox) }()
	c := NewClient(func(ctx context.Context) (net.Conn, error) { return net.Dial("unix", sock) })
	defer c.Close()
	var res RunResult
	for deadline := time.Now().Add(5 * time.Second); ; {
		res, err = c.Run(ctxT(t, 5*time.Second), runReq(`{}`))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil || res.StatusCode != http.StatusInternalServerError {
		t.Errorf("run on the new proxy = %+v, %v; want 500 (not initialized)", res, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestChildrenDieWithProxy kills the proxy outright: the launcher and a
// blackbox run in progress must die with it (Pdeathsig), not linger.
func TestChildrenDieWithProxy(t *testing.T) {
	tests := []struct{ kind, code string }{
		{whisk.KindBlackbox, "#!/bin/sh\necho $$ > \"$PIDFILE\"\nexec sleep 60\n"},
		{whisk.KindNode, "function main() { require('fs').writeFileSync(process.env.PIDFILE, String(process.pid)); return new Promise(() => {}); }"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			needInterpreter(t, tt.kind)
			pidfile := filepath.Join(t.TempDir(), "pid")
			p := startProxy(t, tt.kind)
			ctx := ctxT(t, 20*time.Second)
			v := InitValue{Code: tt.code, Env: map[string]string{"PIDFILE": pidfile}}
			if err := p.client.Init(ctx, &InitRequest{Value: v}); err != nil {
				t.Fatal(err)
			}
			go p.client.Run(ctx, runReq(`{}`))
			var pid int
			for pid == 0 {
				if b, err := os.ReadFile(pidfile); err == nil {
					fmt.Sscan(string(b), &pid)
				}
				if ctx.Err() != nil {
					t.Fatal("the action did not start")
				}
				time.Sleep(5 * time.Millisecond)
			}
			p.cmd.Process.Kill()
			for alive(pid) {
				if ctx.Err() != nil {
					t.Fatalf("process %d outlived the proxy", pid)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// alive reports whether pid runs: it exists and is not a zombie waiting for
// its new parent (here PID 1, which may reap slowly) to collect it.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: the state follows the last ')'.
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// TestNodeConcurrentCrash: runs in flight when the launcher dies all get a
// developer error, and so do later ones.
func TestNodeConcurrentCrash(t *testing.T) {
	needInterpreter(t, whisk.KindNode)
	p := startProxy(t, whisk.KindNode)
	ctx := ctxT(t, 10*time.Second)
	code := `let n = 0;
function main(p) {
  if (++n === 4) setTimeout(() => process.exit(2), 10);
  return new Promise(() => {});
}`
	v := InitValue{Code: code, Env: map[string]string{"__OW_ALLOW_CONCURRENT": "true"}}
	if err := p.client.Init(ctx, &InitRequest{Value: v}); err != nil {
		t.Fatal(err)
	}
	results := make(chan RunResult, 4)
	for i := 0; i < 4; i++ {
		go func() {
			res, err := p.client.Run(ctx, runReq(`{}`))
			if err != nil {
				t.Error(err)
			}
			results <- res
		}()
	}
	for i := 0; i < 4; i++ {
		if res := <-results; !res.DeveloperError() || !strings.Contains(string(res.Body), "exit status 2") {
			t.Errorf("run in flight: %d %s, want a developer error", res.Status, res.Body)
		}
	}
	if res, err := p.client.Run(ctx, runReq(`{}`)); err != nil || !res.DeveloperError() {
		t.Errorf("run after the crash: %+v %v", res, err)
	}
}

// TestActionCannotReadRuns: an action reading stdin gets nothing and does
// not steal the next run.
func TestActionCannotReadRuns(t *testing.T) {
	codes := map[string]string{
		whisk.KindPython: "import sys, subprocess\ndef main(args):\n    return {'read': sys.stdin.read(), 'child': subprocess.run(['cat'], capture_output=True).stdout.decode()}\n",
		whisk.KindGo:     "package main\nimport (\"io\"; \"os\"; \"os/exec\")\nfunc Main(map[string]any) map[string]any {\n\tb, _ := io.ReadAll(os.Stdin)\n\tc, _ := exec.Command(\"cat\").Output()\n\treturn map[string]any{\"read\": string(b), \"child\": string(c)}\n}\n",
	}
	for kind, code := range codes {
		t.Run(kind, func(t *testing.T) {
			needInterpreter(t, kind)
			v := InitValue{Code: code}
			if kind == whisk.KindGo {
				v = InitValue{Code: compileGo(t, []byte(code), ""), Binary: true}
			}
			p := startProxy(t, kind)
			ctx := ctxT(t, 10*time.Second)
			if err := p.client.Init(ctx, &InitRequest{Value: v}); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				res, err := p.client.Run(ctx, runReq(`{}`))
				if err != nil || !res.Success() {
					t.Fatalf("run %d: %+v %v\n%s", i, res, err, p.stderr.String())
				}
				jsonEqual(t, res.Body, `{"read":"","child":""}`)
			}
		})
	}
}

// TestSplitRunBody: a /run body becomes the context, a tab and the value;
// members other than the value keep their JSON, a missing value is {}.
func TestSplitRunBody(t *testing.T) {
	tests := []struct{ body, ctx, value string }{
		{`{"value":{"a":[1, 2]},"activation_id":"x","deadline":17}`, `{"activation_id":"x","deadline":17}`, `{"a":[1, 2]}`},
		{`{"activation_id":"t\tab"}`, `{"activation_id":"t\tab"}`, `{}`},
		{`{"value":null}`, `{}`, `null`},
	}
	for _, tt := range tests {
		line, err := splitRunBody([]byte(tt.body))
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		ctx, value, ok := strings.Cut(string(line), "\t")
		if !ok || value != tt.value {
			t.Errorf("%s: value %q, want %q", tt.body, value, tt.value)
		}
		jsonEqual(t, []byte(ctx), tt.ctx)
	}
	if _, err := splitRunBody([]byte(`[1]`)); err == nil {
		t.Errorf("an array split without error")
	}
}
