package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/whisk"
)

func TestActionCreateRequests(t *testing.T) {
	js := writeFile(t, "hello.js", []byte("function main(p) { return p }\n"))
	zipData := []byte("PK\x03\x04\x00\xff binary")
	zip := writeFile(t, "app.zip", zipData)
	annFile := writeFile(t, "ann.json", []byte(`{"description": "from file"}`))
	cases := []struct {
		name   string
		argv   []string
		out    string
		query  string
		body   string
		setup  func(*fakeAPI)
		method string
	}{
		{name: "create with everything",
			argv:  []string{"action", "create", "hello", js, "-p", "n", "1", "-p", "s", "two words", "-a", "k", `{"x":true}`, "-A", annFile, "-t", "3000", "-m", "512", "-l", "0", "-c", "2", "--main", "run"},
			out:   "ok: created action hello\n",
			query: "overwrite=false",
			body: `{"exec":{"kind":"nodejs:default","code":"function main(p) { return p }\n","main":"run","binary":false},` +
				`"parameters":[{"key":"n","value":1},{"key":"s","value":"two words"}],` +
				`"annotations":[{"key":"k","value":{"x":true}},{"key":"description","value":"from file"}],` +
				`"limits":{"timeout":3000,"memory":512,"logs":0,"concurrency":2}}`},
		{name: "zip is base64",
			argv:  []string{"action", "create", "pkg/app", zip, "--kind", "python:3"},
			out:   "ok: created action pkg/app\n",
			query: "overwrite=false",
			body:  `{"exec":{"kind":"python:3","code":"` + base64.StdEncoding.EncodeToString(zipData) + `","binary":true}}`},
		{name: "update only a limit",
			setup: func(f *fakeAPI) { f.addAction("hello", "nodejs:20", "x") },
			argv:  []string{"action", "update", "/guest/hello", "--timeout", "100", "--del-annotation", "old"},
			out:   "ok: updated action hello\n",
			query: "overwrite=true",
			body:  `{"limits":{"timeout":100},"delAnnotations":["old"]}`},
		{name: "update creates web action",
			argv:  []string{"action", "update", "hello", js, "--web", "true"},
			out:   "ok: updated action hello\n",
			query: "overwrite=true",
			body: `{"exec":{"kind":"nodejs:default","code":"function main(p) { return p }\n","binary":false},` +
				`"annotations":[{"key":"web-export","value":true},{"key":"raw-http","value":false},{"key":"final","value":true}]}`},
		{name: "sequence",
			argv:  []string{"action", "create", "seq", "--sequence", "a,pkg/b,/other/c"},
			out:   "ok: created action seq\n",
			query: "overwrite=false",
			body:  `{"exec":{"kind":"sequence","binary":false,"components":["/_/a","/_/pkg/b","/other/c"]}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			r := runFake(t, f, tc.argv...)
			if r.code != 0 || r.stdout != tc.out || r.stderr != "" {
				t.Fatalf("exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
			}
			req := f.lastRequest(t, "PUT", "/api/v1/namespaces/")
			if req.Query != tc.query || req.Header.Get("Content-Type") != "application/json" {
				t.Errorf("query %q content type %q", req.Query, req.Header.Get("Content-Type"))
			}
			if string(req.Body) != tc.body {
				t.Errorf("body\n%s\nwant\n%s", req.Body, tc.body)
			}
		})
	}
}

func TestActionUpdateWebKeepsExistingAnnotations(t *testing.T) {
	f := newFakeAPI(t)
	js := writeFile(t, "hello.js", []byte("x"))
	if r := runFake(t, f, "action", "create", "w", js, "-a", "description", "d", "--web", "raw", "--web-secure", "s"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := runFake(t, f, "action", "update", "w", "--web", "true"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	req := f.lastRequest(t, "PUT", "/api/v1/namespaces/_/actions/w")
	var put struct {
		Annotations whisk.KeyValues `json:"annotations"`
	}
	json.Unmarshal(req.Body, &put)
	for key, want := range map[string]string{"description": `"d"`, "web-export": "true", "raw-http": "false", "final": "true", "require-whisk-auth": `"s"`} {
		if got := string(put.Annotations.Get(key)); got != want {
			t.Errorf("annotation %s = %s; want %s (all: %s)", key, got, want, req.Body)
		}
	}
	// --web-secure true generates a numeric secret.
	if r := runFake(t, f, "action", "update", "w", "--web-secure", "true"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	json.Unmarshal(f.lastRequest(t, "PUT", "/api/v1/namespaces/_/actions/w").Body, &put)
	var secret int64
	if err := json.Unmarshal(put.Annotations.Get("require-whisk-auth"), &secret); err != nil || secret <= 0 || secret > maxJSInteger {
		t.Errorf("generated secret %s: %v", put.Annotations.Get("require-whisk-auth"), err)
	}
}

func TestActionInvoke(t *testing.T) {
	cases := []struct {
		name           string
		argv           []string
		code           int
		stdout, stderr string
		query          string
		body           string
	}{
		{name: "non-blocking", argv: []string{"action", "invoke", "hello", "-p", "name", "Ann"}, code: 0,
			stdout: "ok: invoked /_/hello with id 00000000000000000000000000000001\n",
			query:  "blocking=false&result=false", body: `{"name":"Ann"}`},
		{name: "result only", argv: []string{"action", "invoke", "hello", "-r", "-p", "name", "<b>"}, code: 0,
			stdout: "{\n    \"payload\": \"Hello, <b>!\"\n}\n",
			query:  "blocking=true&result=true", body: `{"name":"<b>"}`},
		{name: "blocking record on stdout", argv: []string{"action", "invoke", "hello", "-b"}, code: 0,
			stdout: "ok: invoked /_/hello with id 00000000000000000000000000000001\n{\n    \"activationId\": \"00000000000000000000000000000001\",",
			query:  "blocking=true&result=false", body: `{}`},
		{name: "application error on stderr", argv: []string{"action", "invoke", "fail", "-b"}, code: 502 - 256,
			stderr: "ok: invoked /_/fail with id 00000000000000000000000000000001\n{\n    \"activationId\"",
			query:  "blocking=true&result=false", body: `{}`},
		{name: "application error result", argv: []string{"action", "invoke", "fail", "-r"}, code: 502 - 256,
			stderr: "{\n    \"error\": \"it failed\"\n}\n",
			query:  "blocking=true&result=true", body: `{}`},
		{name: "blocking wait expired", argv: []string{"action", "invoke", "slow", "--blocking"}, code: 202,
			stderr: "ok: invoked /_/slow, but the request has not yet finished, with id 00000000000000000000000000000001\n",
			query:  "blocking=true&result=false", body: `{}`},
		{name: "unknown action", argv: []string{"action", "invoke", "nope"}, code: 404 - 256,
			stderr: "error: Unable to invoke action 'nope': The requested resource does not exist. (code tid404)\nRun 'gust --help' for usage.\n",
			query:  "blocking=false&result=false", body: `{}`},
		{name: "wrong key", argv: []string{"action", "invoke", "hello", "-u", "x:y"}, code: 401 - 256,
			stderr: "error: Unable to invoke action 'hello': The supplied authentication is invalid (code tid401)\nRun 'gust --help' for usage.\n",
			query:  "blocking=false&result=false", body: `{}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			for _, n := range []string{"hello", "fail", "slow"} {
				f.addAction(n, "nodejs:20", "x")
			}
			r := runFake(t, f, tc.argv...)
			if r.code != tc.code {
				t.Errorf("exit %d; want %d (stderr %q)", r.code, tc.code, r.stderr)
			}
			if !strings.HasPrefix(r.stdout, tc.stdout) || (tc.stdout == "" && r.stdout != "") {
				t.Errorf("stdout %q; want prefix %q", r.stdout, tc.stdout)
			}
			if !strings.HasPrefix(r.stderr, tc.stderr) || (tc.stderr == "" && r.stderr != "") {
				t.Errorf("stderr %q; want prefix %q", r.stderr, tc.stderr)
			}
			req := f.lastRequest(t, "POST", "/api/v1/namespaces/_/actions/")
			if req.Query != tc.query || string(req.Body) != tc.body {
				t.Errorf("request ?%s %s; want ?%s %s", req.Query, req.Body, tc.query, tc.body)
			}
		})
	}
}

func TestNetworkError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	r := runCLI(t, map[string]string{"WSK_CONFIG_FILE": filepath.Join(t.TempDir(), "none")}, "action", "list", "--apihost", "http://"+addr)
	if r.code != exitNetwork {
		t.Errorf("exit %d; want %d", r.code, exitNetwork)
	}
	if !strings.HasPrefix(r.stderr, "error: Unable to obtain the list of actions for namespace 'default': ") ||
		!strings.Contains(r.stderr, "connection refused") || !strings.Contains(r.stderr, "gust up") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestActionGetSaveDeleteList(t *testing.T) {
	f := newFakeAPI(t)
	f.addAction("hello", "nodejs:20", "function main() {}")
	zip := []byte("PK\x03\x04zip")
	bin := f.addAction("bin", "python:3.11", base64.StdEncoding.EncodeToString(zip))
	bin.Exec.Binary = true
	f.addAction("seq", "sequence", "")
	f.addAction("utils/date", "nodejs:20", "")
	dir := t.TempDir()
	t.Chdir(dir)

	r := runFake(t, f, "action", "get", "hello", "--save")
	if want := "ok: saved action code to " + filepath.Join(dir, "hello.js") + "\n"; r.code != 0 || r.stdout != want {
		t.Errorf("save: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "hello.js")); string(data) != "function main() {}" {
		t.Errorf("saved %q", data)
	}
	if req := f.lastRequest(t, "GET", "/api/v1/namespaces/_/actions/hello"); req.Query != "" {
		t.Errorf("--save fetched with query %q; want the code", req.Query)
	}
	r = runFake(t, f, "action", "get", "hello", "--save")
	if r.code != exitUsage || !strings.Contains(r.stderr, "error: The file 'hello.js' already exists") {
		t.Errorf("second save: %d %q", r.code, r.stderr)
	}
	r = runFake(t, f, "action", "get", "bin", "--save-as", "out.bin")
	if data, _ := os.ReadFile(filepath.Join(dir, "out.bin")); r.code != 0 || !bytes.Equal(data, zip) {
		t.Errorf("save-as binary: %d %q, data %q", r.code, r.stderr, data)
	}
	r = runFake(t, f, "action", "get", "seq", "--save")
	if r.code != exitUsage || !strings.Contains(r.stderr, "Cannot save action sequences") {
		t.Errorf("save sequence: %d %q", r.code, r.stderr)
	}

	r = runFake(t, f, "action", "get", "hello")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ok: got action hello\n{\n    \"namespace\": \"guest\",\n    \"name\": \"hello\",") {
		t.Errorf("get: %q", r.stdout)
	}
	if strings.Contains(r.stdout, "function main") {
		t.Errorf("get printed the code: %s", r.stdout)
	}
	if req := f.lastRequest(t, "GET", "/api/v1/namespaces/_/actions/hello"); req.Query != "code=false" {
		t.Errorf("get query %q", req.Query)
	}

	r = runFake(t, f, "action", "list", "utils", "--limit", "5", "--skip", "1")
	if req := f.lastRequest(t, "GET", "/api/v1/namespaces/_/actions"); req.Path != "/api/v1/namespaces/_/actions/utils/" || req.Query != "skip=1&limit=5" {
		t.Errorf("list package request %s?%s", req.Path, req.Query)
	}
	if want := fmt.Sprintf("actions\n%-70s private nodejs\n", "/guest/utils/date"); r.stdout != want {
		t.Errorf("list package output %q; want %q", r.stdout, want)
	}

	r = runFake(t, f, "action", "delete", "hello")
	if r.code != 0 || r.stdout != "ok: deleted action hello\n" {
		t.Errorf("delete: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = runFake(t, f, "action", "delete", "hello")
	if r.code != 404-256 || r.stderr != "error: Unable to delete action 'hello': The requested resource does not exist. (code tid404)\nRun 'gust --help' for usage.\n" {
		t.Errorf("delete again: %d %q", r.code, r.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	f := newFakeAPI(t)
	cases := []struct {
		argv   []string
		code   int
		stderr string
	}{
		{[]string{"action", "create"}, 1, "error: Invalid argument(s). An action name and code artifact are required.\nRun 'gust --help' for usage.\n"},
		{[]string{"action", "create", "x"}, 2, "error: Invalid argument(s). An action name and code artifact are required.\nRun 'gust --help' for usage.\n"},
		{[]string{"action", "invoke", "a", "b"}, 1, "error: Invalid argument(s): b. An action name is required.\nRun 'gust --help' for usage.\n"},
		{[]string{"action", "create", "x", "x.js", "--docker", "img"}, 2, "error: Invalid argument(s). Gust does not run Docker images (--docker)"},
		{[]string{"action", "create", "x", "x.js", "--docker", "img", "--kind", "nodejs"}, 2, "error: Invalid argument(s). Cannot specify both --kind and --docker at the same time."},
		{[]string{"action", "get", "x", "nofield"}, 2, "error: Invalid field filter 'nofield'.\n"},
		{[]string{"action", "get", "/"}, 1, "error: '/' is not a valid qualified name: A valid qualified name must be specified.\n"},
		{[]string{"activation", "get"}, 1, "error: Invalid argument(s). An activation ID is required.\n"},
		{[]string{"namespace", "list", "x"}, 1, "error: Invalid argument(s): x. No arguments are required.\n"},
		{[]string{"actoin"}, 1, "error: unknown command \"actoin\" for \"gust\"\nRun 'gust --help' for usage.\n"},
		{[]string{"action", "list", "--bogus"}, 1, "unknown flag: --bogus\n"},
	}
	for _, tc := range cases {
		r := runFake(t, f, tc.argv...)
		if r.code != tc.code || !strings.HasPrefix(r.stderr, tc.stderr) || r.stdout != "" {
			t.Errorf("%q: exit %d stderr %q stdout %q; want %d %q", tc.argv, r.code, r.stderr, r.stdout, tc.code, tc.stderr)
		}
	}
	if n := f.requestCount(); n != 0 {
		t.Errorf("%d requests sent for bad command lines", n)
	}
}

func TestHelp(t *testing.T) {
	cases := []struct {
		argv []string
		want []string
	}{
		{nil, []string{"Usage:\n  gust [command]", "  action      work with actions\n", "  activation  work with activations\n", "Platform Commands:", "  up  ", "  -v, --verbose "}},
		{[]string{"--help"}, []string{"Available Commands:", "  property    work with whisk properties\n"}},
		{[]string{"action"}, []string{"work with actions\n", "  gust action [command]", "  invoke      invoke action\n", `Use "gust action [command] --help"`}},
		{[]string{"action", "create", "-h"}, []string{"gust action create ACTION_NAME ACTION [flags]", "  -p, --param KEY VALUE ", "(default 60000)", "Global Flags:"}},
		{[]string{"activation", "poll", "--help"}, []string{"  -e, --exit SECONDS ", "--since-seconds SECONDS"}},
	}
	for _, tc := range cases {
		r := runCLI(t, map[string]string{}, tc.argv...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%q: exit %d stderr %q", tc.argv, r.code, r.stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%q: help lacks %q:\n%s", tc.argv, w, r.stdout)
			}
		}
	}
}

func TestVerbose(t *testing.T) {
	f := newFakeAPI(t)
	f.addAction("hello", "nodejs:20", "x")
	r := runFake(t, f, "action", "invoke", "hello", "-v", "-p", "k", "v")
	for _, w := range []string{
		"REQUEST:\n[POST]\t" + f.srv.URL + "/api/v1/namespaces/_/actions/hello?blocking=false&result=false\nReq Headers\n{\n  \"Accept\": [",
		"Req Body\n{\"k\":\"v\"}\n",
		"RESPONSE:Got response with code 202\nResp Headers\n",
		"Response body size is ",
		"Response body received:\n{\"activationId\":\"00000000000000000000000000000001\"}\n",
		"ok: invoked /_/hello with id 00000000000000000000000000000001\n",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("verbose output lacks %q:\n%s", w, r.stdout)
		}
	}
}

func TestProgressTransport(t *testing.T) {
	f := newFakeAPI(t)
	var out bytes.Buffer
	a := &app{stdout: &bytes.Buffer{}, stderr: &out, lookupEnv: func(string) (string, bool) { return "", false },
		now: time.Now, stderrTTY: true}
	big := writeFile(t, "big.zip", bytes.Repeat([]byte{0xff, 'z'}, 1<<20))
	if code := a.run(context.Background(), []string{"action", "create", "big", big, "--native", "--apihost", f.srv.URL}); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	s := out.String()
	if !strings.Contains(s, "\rUploading ") || !strings.Contains(s, "(100%)") || !strings.HasSuffix(s, "\r\033[K") {
		t.Errorf("progress output %q", s)
	}
	if req := f.lastRequest(t, "PUT", "/api/v1/namespaces/_/actions/big"); len(req.Body) < 2<<20 {
		t.Errorf("uploaded %d bytes", len(req.Body))
	}
	out.Reset()
	small := writeFile(t, "small.js", []byte("x"))
	a = &app{stdout: &bytes.Buffer{}, stderr: &out, lookupEnv: func(string) (string, bool) { return "", false }, now: time.Now, stderrTTY: true}
	if code := a.run(context.Background(), []string{"action", "create", "small", small, "--apihost", f.srv.URL}); code != 0 || out.Len() != 0 {
		t.Errorf("small upload: exit %d, stderr %q", code, out.String())
	}
}
