package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/gust-faas/gust/client"
)

// wskBinary finds the stock OpenWhisk CLI, built from apache/openwhisk-cli.
func wskBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("WSK_BIN")
	if p == "" {
		p = "/root/go/bin/wsk"
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("the stock wsk CLI is not at %s (set WSK_BIN to compare outputs with it)", p)
	}
	return p
}

func runWsk(t *testing.T, bin, props string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"WSK_CONFIG_FILE=" + props, "HOME=" + t.TempDir()}
	if tz, ok := os.LookupEnv("TZ"); ok {
		cmd.Env = append(cmd.Env, "TZ="+tz) // both CLIs print local times
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running wsk: %v", err)
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// compatCase is one command line run by both CLIs, after setup has run
// against each of their fakes.
type compatCase struct {
	name  string
	setup func(*fakeAPI)
	args  []string
}

// TestCompatWithWsk runs the same commands through the stock wsk CLI and
// through gust against identical fake APIs, and compares what they print
// and their exit status.
func TestCompatWithWsk(t *testing.T) {
	bin := wskBinary(t)
	hello := writeFile(t, "hello.js", []byte("function main(p) { return {payload: 'Hello, ' + p.name} }\n"))
	params := writeFile(t, "params.json", []byte(`{"name": "file", "n": 1}`))
	withHello := func(f *fakeAPI) { f.addAction("hello", "nodejs:20", "code") }
	withRun := func(f *fakeAPI) {
		withHello(f)
		f.addAction("fail", "python:3.11", "code")
		runFake(t, f, "action", "invoke", "hello", "-b", "-p", "name", "A")
		runFake(t, f, "action", "invoke", "fail", "-b")
	}
	cases := []compatCase{
		{"create", nil, []string{"action", "create", "hello", hello, "-p", "x", "1", "-t", "3000"}},
		{"create exists", withHello, []string{"action", "create", "hello", hello}},
		{"create no artifact", nil, []string{"action", "create", "hello"}},
		{"create no name", nil, []string{"action", "create"}},
		{"create zip without kind", nil, []string{"action", "create", "z", writeFile(t, "a.zip", []byte("PK"))}},
		{"create missing file", nil, []string{"action", "create", "z", "/nonexistent/x.js"}},
		{"update", withHello, []string{"action", "update", "hello", "-m", "512"}},
		{"get", withHello, []string{"action", "get", "hello"}},
		{"get field", withHello, []string{"action", "get", "hello", "limits"}},
		{"get bad field", withHello, []string{"action", "get", "hello", "nope"}},
		{"get summary", withHello, []string{"action", "get", "hello", "-s"}},
		{"get url", withHello, []string{"action", "get", "hello", "--url"}},
		{"get missing", nil, []string{"action", "get", "nope"}},
		{"list", withHello, []string{"action", "list"}},
		{"list empty", nil, []string{"action", "list"}},
		{"delete", withHello, []string{"action", "delete", "hello"}},
		{"delete missing", nil, []string{"action", "delete", "nope"}},
		{"invoke", withHello, []string{"action", "invoke", "hello"}},
		{"invoke blocking", withHello, []string{"action", "invoke", "hello", "-b", "-p", "name", "Ann", "-P", params}},
		{"invoke result", withHello, []string{"action", "invoke", "hello", "-r", "--param", "name", `"quoted"`}},
		{"invoke failing", withRun, []string{"action", "invoke", "fail", "--blocking"}},
		{"invoke failing result", withRun, []string{"action", "invoke", "fail", "-r"}},
		{"invoke missing", nil, []string{"action", "invoke", "nope"}},
		{"invoke bad param", withHello, []string{"action", "invoke", "hello", "-p", "name"}},
		{"activation list", withRun, []string{"activation", "list"}},
		{"activation list empty", nil, []string{"activation", "list"}},
		{"activation list full", withRun, []string{"activation", "list", "-f", "-l", "1"}},
		{"activation get", withRun, []string{"activation", "get", "00000000000000000000000000000001"}},
		{"activation get field", withRun, []string{"activation", "get", "00000000000000000000000000000001", "response"}},
		{"activation get last", withRun, []string{"activation", "get", "--last"}},
		{"activation get missing", nil, []string{"activation", "get", "abc"}},
		{"activation logs", withRun, []string{"activation", "logs", "00000000000000000000000000000001"}},
		{"activation logs strip", withRun, []string{"activation", "logs", "--last", "-r"}},
		{"activation result", withRun, []string{"activation", "result", "00000000000000000000000000000001"}},
		{"activation result last", withRun, []string{"activation", "result", "-l"}},
		{"activation last empty", nil, []string{"activation", "result", "--last"}},
		{"namespace list", nil, []string{"namespace", "list"}},
		{"list all", withHello, []string{"list"}},
		{"property get auth", nil, []string{"property", "get", "--auth"}},
		{"property get raw", nil, []string{"property", "get", "--apihost", "-o", "raw"}},
		{"create python web", nil, []string{"action", "create", "py", writeFile(t, "x.py", []byte("def main(a): return a\n")), "--web", "true", "-a", "description", "says hi", "--main", "run"}},
		{"create raw web secure", nil, []string{"action", "create", "w", hello, "--web", "raw", "--web-secure", "s3cret"}},
		{"update web off", func(f *fakeAPI) {
			runFake(t, f, "action", "create", "w", hello, "--web", "true")
		}, []string{"action", "update", "w", "--web", "false"}},
		{"create bad web", nil, []string{"action", "create", "w", hello, "--web", "maybe"}},
		{"create web-secure alone", nil, []string{"action", "create", "w", hello, "--web-secure", "true"}},
		{"create sequence", withHello, []string{"action", "create", "seq", "--sequence", "hello,/guest/other,pkg/x"}},
		{"create unknown ext", nil, []string{"action", "create", "x", writeFile(t, "x.txt", []byte("text"))}},
		{"create go in package", nil, []string{"action", "create", "pkg/x", writeFile(t, "x.go", []byte("package main\n")), "-c", "4", "-l", "0"}},
		{"get exec", withHello, []string{"action", "get", "/guest/hello", "exec"}},
		{"get summary params", func(f *fakeAPI) {
			runFake(t, f, "action", "create", "p", hello, "-p", "a", "1", "-p", "b", "2", "-p", "c", "3")
		}, []string{"action", "get", "p", "--summary"}},
		{"get web url", func(f *fakeAPI) {
			runFake(t, f, "action", "create", "w", hello, "--web", "true")
		}, []string{"action", "get", "w", "-r"}},
		{"list sorted", func(f *fakeAPI) {
			f.addAction("zeta", "nodejs:20", "")
			f.addAction("alpha", "python:3.11", "")
		}, []string{"action", "list", "-n"}},
		{"list package", func(f *fakeAPI) { f.addAction("utils/date", "nodejs:20", "") }, []string{"action", "list", "utils"}},
		{"list too many args", nil, []string{"action", "list", "a", "b"}},
		{"invoke slow", func(f *fakeAPI) { f.addAction("slow", "nodejs:20", "") }, []string{"action", "invoke", "slow", "-b"}},
		{"invoke qualified", withHello, []string{"action", "invoke", "/guest/hello", "-b"}},
		{"activation list name", withRun, []string{"activation", "list", "hello", "--skip", "0", "--limit", "5"}},
		{"activation get summary", withRun, []string{"activation", "get", "00000000000000000000000000000002", "-s"}},
		{"activation get logs", withRun, []string{"activation", "get", "00000000000000000000000000000002", "--logs"}},
		{"namespace get", withHello, []string{"namespace", "get"}},
		{"unknown flag", nil, []string{"action", "list", "--bogus"}},
		{"bad int flag", nil, []string{"action", "create", "x", hello, "-t", "abc"}},
	}
	cases = append(cases, programmingModelCases(t, hello, params)...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fg, fw := newFakeAPI(t), newFakeAPI(t)
			if tc.setup != nil {
				tc.setup(fg)
				tc.setup(fw)
			}
			extra := "AUTH=" + client.GuestAuth + "\n"
			got := runCLI(t, map[string]string{"WSK_CONFIG_FILE": propsFor(t, fg, extra)}, tc.args...)
			want := runWsk(t, bin, propsFor(t, fw, extra), tc.args...)
			norm := func(s string) string {
				s = strings.ReplaceAll(s, "'wsk ", "'gust ")
				return strings.ReplaceAll(s, fw.srv.URL, fg.srv.URL)
			}
			if os.Getenv("COMPAT_SHOW") != "" { // show what wsk printed
				t.Logf("wsk %q: exit %d\nstdout:\n%s\nstderr:\n%s", tc.args, want.code, want.stdout, want.stderr)
			}
			if got.stdout != norm(want.stdout) {
				t.Errorf("stdout differs\ngust:\n%s\nwsk:\n%s", got.stdout, norm(want.stdout))
			}
			if got.stderr != norm(want.stderr) {
				t.Errorf("stderr differs\ngust:\n%s\nwsk:\n%s", got.stderr, norm(want.stderr))
			}
			if got.code != want.code {
				t.Errorf("exit status: gust %d, wsk %d", got.code, want.code)
			}
			compareRequests(t, fg, fw)
		})
	}
}

// compareRequests checks that both CLIs sent the same requests: methods,
// paths, query parameters and JSON bodies, up to the order of keys and of
// parameter lists, and to the fields wsk sends that OpenWhisk ignores.
func compareRequests(t *testing.T, fg, fw *fakeAPI) {
	t.Helper()
	norm := func(f *fakeAPI) []string {
		f.mu.Lock()
		defer f.mu.Unlock()
		var out []string
		for i, r := range f.requests {
			if r.Path == "/api/v1/namespaces" || r.Path == "/api/v1" {
				continue // wsk's property get asks for these in its own order
			}
			q, _ := url.ParseQuery(r.Query)
			if q.Get("code") == "false" && i+1 < len(f.requests) && f.requests[i+1].Method == "PUT" && f.requests[i+1].Path == r.Path {
				continue // wsk reads the action before any update; gust only when --web needs it
			}
			if q.Get("skip") == "0" {
				q.Del("skip")
			}
			if l := q.Get("limit"); l == "0" || l == "200" {
				q.Del("limit") // wsk's "all" (limit=0) is gust's explicit maximum
			}
			line := r.Method + " " + r.Path + "?" + q.Encode()
			if len(r.Body) > 0 {
				var body any
				if err := json.Unmarshal(r.Body, &body); err != nil {
					t.Fatalf("request body is not JSON: %s", r.Body)
				}
				entityBody := r.Method == "PUT" || (r.Method == "POST" && strings.Contains(r.Path, "/rules/"))
				if m, ok := body.(map[string]any); ok && entityBody {
					delete(m, "namespace") // wsk sends the name in the body too
					delete(m, "name")
					for k, v := range m {
						if v == nil || (k == "status" && v == "") {
							delete(m, k) // wsk's rule struct sends "status":"", "trigger":null
						}
					}
					if e, ok := m["exec"].(map[string]any); ok && e["binary"] == false {
						delete(e, "binary")
					}
					for _, k := range []string{"parameters", "annotations"} {
						if kvs, ok := m[k].([]any); ok {
							sort.Slice(kvs, func(i, j int) bool {
								return fmt.Sprint(kvs[i].(map[string]any)["key"]) < fmt.Sprint(kvs[j].(map[string]any)["key"])
							})
						}
					}
				}
				b, _ := json.Marshal(body)
				line += " " + string(b)
			}
			out = append(out, line)
		}
		return out
	}
	got, want := norm(fg), norm(fw)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests differ\ngust:\n%s\nwsk:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
