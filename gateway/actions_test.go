package gateway

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

const actionsPath = "/api/v1/namespaces/_/actions/"

func TestActionLifecycle(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHarness(t, st, Config{})
		body := map[string]any{
			"exec":        map[string]any{"kind": "nodejs", "code": "function main(p) { return p }", "main": "main"},
			"parameters":  []map[string]any{{"key": "greeting", "value": "hi"}},
			"limits":      map[string]any{"timeout": 5000},
			"annotations": []map[string]any{{"key": "description", "value": "test"}},
		}

		// create
		r := h.do("PUT", actionsPath+"hello", guestAuth, body)
		mustStatus(t, "create", r, 200)
		var a whisk.Action
		r.json(t, &a)
		if a.Namespace != "guest" || a.Name != "hello" || a.Version != "0.0.1" {
			t.Errorf("created %s/%s@%s, want guest/hello@0.0.1", a.Namespace, a.Name, a.Version)
		}
		if a.Exec.Kind != whisk.KindNode || a.Exec.Code != "function main(p) { return p }" || a.Exec.Binary || a.Exec.Digest != "" {
			t.Errorf("exec %+v", a.Exec)
		}
		if want := (whisk.Limits{Timeout: 5000, Memory: whisk.DefaultMemory, Logs: whisk.DefaultLogs, Concurrency: 1}); a.Limits != want {
			t.Errorf("limits %+v, want %+v", a.Limits, want)
		}
		if string(a.Annotations.Get("exec")) != `"nodejs:20"` || string(a.Annotations.Get("provide-api-key")) != "false" ||
			string(a.Annotations.Get("description")) != `"test"` {
			t.Errorf("annotations %s", mustJSON(a.Annotations))
		}
		if a.Rev != "" {
			t.Errorf("rev %q leaked into the API", a.Rev)
		}

		// the stored document holds the digest and no code
		doc, err := st.GetEntity(t.Context(), store.Key{Namespace: "guest", Collection: store.Actions, Name: "hello"})
		if err != nil {
			t.Fatal(err)
		}
		stored, err := decodeAction(doc)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Exec.Code != "" || stored.Exec.Digest != store.Digest([]byte("function main(p) { return p }")) || stored.Rev == "" {
			t.Errorf("stored exec %+v rev %q", stored.Exec, stored.Rev)
		}

		// create again without overwrite
		r = h.do("PUT", actionsPath+"hello", guestAuth, body)
		mustStatus(t, "create twice", r, 409)
		if got := r.errorBody(t); got != msgExists {
			t.Errorf("409 error %q", got)
		}

		// update: only memory; the rest is kept, version bumped
		r = h.do("PUT", actionsPath+"hello?overwrite=true", guestAuth, map[string]any{"limits": map[string]any{"memory": 512}})
		mustStatus(t, "update", r, 200)
		var u whisk.Action
		r.json(t, &u)
		if u.Version != "0.0.2" || u.Limits.Timeout != 5000 || u.Limits.Memory != 512 {
			t.Errorf("updated version %s limits %+v", u.Version, u.Limits)
		}
		if u.Exec.Code != a.Exec.Code || string(u.Parameters.Get("greeting")) != `"hi"` {
			t.Errorf("update lost exec or parameters: %+v %s", u.Exec, mustJSON(u.Parameters))
		}
		doc, _ = st.GetEntity(t.Context(), store.Key{Namespace: "guest", Collection: store.Actions, Name: "hello"})
		if s2, _ := decodeAction(doc); s2.Rev == stored.Rev {
			t.Error("update kept the revision")
		}

		// update with new code and parameters
		r = h.do("PUT", actionsPath+"hello?overwrite=true", guestAuth, map[string]any{
			"exec":       map[string]any{"kind": "python:3", "code": "def main(a): return a"},
			"parameters": []map[string]any{},
			"version":    "1.2.3",
		})
		mustStatus(t, "update exec", r, 200)
		r.json(t, &u)
		if u.Version != "1.2.3" || u.Exec.Kind != whisk.KindPython || len(u.Parameters) != 0 || string(u.Annotations.Get("exec")) != `"python:3.11"` {
			t.Errorf("updated %s %+v params %s anns %s", u.Version, u.Exec, mustJSON(u.Parameters), mustJSON(u.Annotations))
		}

		// get, with and without code
		r = h.do("GET", actionsPath+"hello", guestAuth, nil)
		mustStatus(t, "get", r, 200)
		r.json(t, &u)
		if u.Exec.Code != "def main(a): return a" {
			t.Errorf("get code %q", u.Exec.Code)
		}
		r = h.do("GET", actionsPath+"hello?code=false", guestAuth, nil)
		mustStatus(t, "get code=false", r, 200)
		var raw struct{ Exec map[string]any }
		r.json(t, &raw)
		if _, ok := raw.Exec["code"]; ok || raw.Exec["kind"] != whisk.KindPython {
			t.Errorf("code=false exec %v", raw.Exec)
		}

		// delete returns the entity; then it is gone
		r = h.do("DELETE", actionsPath+"hello", guestAuth, nil)
		mustStatus(t, "delete", r, 200)
		r.json(t, &u)
		if u.Name != "hello" || u.Exec.Code != "def main(a): return a" {
			t.Errorf("deleted %+v", u)
		}
		for _, m := range []string{"GET", "DELETE"} {
			r = h.do(m, actionsPath+"hello", guestAuth, nil)
			mustStatus(t, m+" after delete", r, 404)
			if got := r.errorBody(t); got != msgNotFound {
				t.Errorf("404 error %q", got)
			}
		}
	})
}

func TestActionValidation(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	exec := func(kind, code string) map[string]any {
		return map[string]any{"exec": map[string]any{"kind": kind, "code": code}}
	}
	limits := func(l map[string]any) map[string]any {
		b := nodeAction("x")
		b["limits"] = l
		return b
	}
	tests := []struct {
		name   string
		path   string
		body   any
		status int
		msg    string // substring of the error
	}{
		{"unknown kind", "a1", exec("cobol:85", "x"), 400, "kind 'cobol:85' is not supported"},
		{"no kind", "a1", exec("", "x"), 400, "not supported"},
		{"no exec", "a1", map[string]any{}, 400, "exec undefined"},
		{"empty body", "a1", "", 400, "exec undefined"},
		{"no code", "a1", map[string]any{"exec": map[string]any{"kind": "nodejs:20"}}, 400, "exec.code is required"},
		{"blackbox without image", "a1", exec("blackbox", "x"), 400, "exec.image is required"},
		{"malformed json", "a1", `{"exec":`, 400, "malformed"},
		{"not an object", "a1", `[1,2]`, 400, "malformed"},
		{"timeout too small", "a1", limits(map[string]any{"timeout": 1}), 400, "timeout 1 ms exceeds allowed range"},
		{"memory too big", "a1", limits(map[string]any{"memory": 1 << 20}), 400, "memory"},
		{"logs negative", "a1", limits(map[string]any{"logs": -1}), 400, "logs"},
		{"concurrency zero", "a1", limits(map[string]any{"concurrency": 0}), 400, "concurrency"},
		{"limits wrong type", "a1", limits(map[string]any{"memory": "big"}), 400, "malformed"},
		{"bad version", "a1", map[string]any{"exec": map[string]any{"kind": "nodejs", "code": "x"}, "version": "1.2"}, 400, "semantic version"},
		{"empty parameter key", "a1", map[string]any{"exec": map[string]any{"kind": "nodejs", "code": "x"}, "parameters": []map[string]any{{"key": "", "value": 1}}}, 400, "non-empty key"},
		{"binary but not base64", "a1", map[string]any{"exec": map[string]any{"kind": "nodejs", "code": "not base64!", "binary": true}}, 400, "base64"},
		{"bad name", "a%21b", nodeAction("x"), 400, "illegal characters"},
		{"name with slash", "a%2Fb", nodeAction("x"), 400, "illegal characters"},
		{"name too long", strings.Repeat("n", whisk.MaxNameLength+1), nodeAction("x"), 400, "illegal characters"},
		{"bad package", "p%24/a", nodeAction("x"), 400, "illegal characters"},
		{"bad overwrite", "a1?overwrite=maybe", nodeAction("x"), 400, "overwrite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("PUT", actionsPath+tt.path, guestAuth, tt.body)
			mustStatus(t, tt.name, r, tt.status)
			if got := r.errorBody(t); !strings.Contains(got, tt.msg) {
				t.Errorf("error %q, want it to contain %q", got, tt.msg)
			}
		})
	}
	r := h.do("PUT", "/api/v1/namespaces/bad%24ns/actions/a", guestAuth, nodeAction("x"))
	mustStatus(t, "bad namespace", r, 400)
	// nothing was created by the failures above
	r = h.do("GET", actionsPath+"?count=true", guestAuth, nil)
	mustStatus(t, "count", r, 200)
	if got := strings.TrimSpace(string(r.body)); got != `{"actions":0}` {
		t.Errorf("count after failures: %s", got)
	}
}

func TestActionNames(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	tests := []struct {
		path, name, ns string
	}{
		{"hello", "hello", "guest"},
		{"a.b-c@d", "a.b-c@d", "guest"},
		{"with%20space", "with space", "guest"},
		{"pkg/inner", "inner", "guest/pkg"},
	}
	for _, tt := range tests {
		a := h.putAction(tt.path, nodeAction("x"))
		if a.Name != tt.name || a.Namespace != tt.ns {
			t.Errorf("PUT %s: %s/%s, want %s/%s", tt.path, a.Namespace, a.Name, tt.ns, tt.name)
		}
		r := h.do("GET", "/api/v1/namespaces/guest/actions/"+tt.path, guestAuth, nil)
		mustStatus(t, "GET "+tt.path, r, 200)
	}
}

func TestActionBinary(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	zip := base64.StdEncoding.EncodeToString([]byte("PK\x03\x04 pretend this is a zip file"))
	tests := []struct {
		name   string
		exec   map[string]any
		binary bool
	}{
		{"source", map[string]any{"kind": "nodejs", "code": "function main() {}"}, false},
		{"base64 zip", map[string]any{"kind": "nodejs", "code": zip}, true},
		{"base64 zip declared", map[string]any{"kind": "python", "code": zip, "binary": true}, true},
		{"blackbox image only", map[string]any{"kind": "blackbox", "image": "openwhisk/dockerskeleton"}, false},
		{"native zip", map[string]any{"kind": "native", "image": "openwhisk/dockerskeleton", "code": zip}, true},
	}
	for i, tt := range tests {
		a := h.putAction(fmt.Sprint("bin", i), map[string]any{"exec": tt.exec})
		if a.Exec.Binary != tt.binary {
			t.Errorf("%s: binary %v, want %v", tt.name, a.Exec.Binary, tt.binary)
		}
		if code, _ := tt.exec["code"].(string); a.Exec.Code != code {
			t.Errorf("%s: code %q, want it as sent", tt.name, a.Exec.Code)
		}
	}
}

func TestIsBase64(t *testing.T) {
	tests := map[string]bool{
		"":                  false,
		"abc":               false,
		"abcd":              true,
		"ab==":              true,
		"abc=":              true,
		"a===":              false,
		"ab=c":              false,
		"ab c":              false,
		"  YWJjZA==  ":      true,
		"function main(){}": false,
		"YWJj\nZA==":        false,
	}
	for in, want := range tests {
		if got := isBase64(in); got != want {
			t.Errorf("isBase64(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestActionSizeLimits(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	big := strings.Repeat("x", whisk.MaxCodeSize+1)
	r := h.do("PUT", actionsPath+"big", guestAuth, nodeAction(big))
	mustStatus(t, "code over MaxCodeSize", r, 413)
	if got := r.errorBody(t); !strings.Contains(got, "Exec code larger than allowed") {
		t.Errorf("error %q", got)
	}
	big = ""
	params := []map[string]any{{"key": "p", "value": strings.Repeat("y", whisk.MaxPayload)}}
	r = h.do("PUT", actionsPath+"bigparams", guestAuth, map[string]any{"exec": map[string]any{"kind": "nodejs", "code": "x"}, "parameters": params})
	mustStatus(t, "parameters over 1 MB", r, 413)
	if got := r.errorBody(t); !strings.Contains(got, "Parameters larger than allowed") {
		t.Errorf("error %q", got)
	}
}

// TestBodyLimit sends a body past the server's limit over a real
// connection: Fiber refuses it before any handler, with OpenWhisk's body.
func TestBodyLimit(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{Listen: "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.gw.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-h.gw.Ready()
	// Only the head: the server judges the declared Content-Length and
	// answers at once (a client still writing the body could see a reset).
	conn, err := net.Dial("tcp", h.gw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %shuge HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		actionsPath, guestAuth, maxBodySize+1)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, body: body}
	mustStatus(t, "body over the server limit", r, 413)
	if got := r.errorBody(t); got != msgTooLarge {
		t.Errorf("error %q", got)
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("no CORS headers on a Fiber-level error")
	}
}

func TestSequences(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	h.putAction("a", nodeAction("x"))
	h.putAction("pkg/b", nodeAction("y"))
	seq := func(comps ...string) map[string]any {
		return map[string]any{"exec": map[string]any{"kind": "sequence", "components": comps}}
	}
	a := h.putAction("s", seq("/_/a", "pkg/b", "/guest/a"))
	want := []string{"/guest/a", "/guest/pkg/b", "/guest/a"}
	if strings.Join(a.Exec.Components, ",") != strings.Join(want, ",") {
		t.Errorf("components %v, want %v", a.Exec.Components, want)
	}
	if got := string(a.Parameters.Get("_actions")); got != `["/guest/a","/guest/pkg/b","/guest/a"]` {
		t.Errorf("_actions %s", got)
	}
	h.putAction("s2", seq("s", "a")) // nested: 4 atomic actions

	many := make([]string, 0, 26)
	for range 26 {
		many = append(many, "s")
	}
	tests := []struct {
		name   string
		path   string
		body   any
		status int
		msg    string
	}{
		{"empty", "bad", seq(), 400, "No component specified"},
		{"missing component", "bad", seq("nope"), 400, "does not exist"},
		{"cycle through update", "s?overwrite=true", seq("s2"), 400, "may not refer to itself"},
		{"self on update", "a?overwrite=true", seq("a"), 400, "may not refer to itself"},
		{"too long after inlining", "bad", seq(many...), 400, "Too many actions"},
		{"too many components", "bad", seq(strings.Split(strings.Repeat("a,", 51), ",")[:51]...), 400, "Too many actions"},
		{"other namespace", "bad", seq("/other/x"), 403, "not authorized to access '/other/x'"},
		{"bad component name", "bad", seq("/a/b/c/d"), 400, "invalid entity name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("PUT", actionsPath+tt.path, guestAuth, tt.body)
			mustStatus(t, tt.name, r, tt.status)
			if got := r.errorBody(t); !strings.Contains(got, tt.msg) {
				t.Errorf("error %q, want it to contain %q", got, tt.msg)
			}
		})
	}
	// updating a sequence without an exec keeps its components as parameters
	r := h.do("PUT", actionsPath+"s?overwrite=true", guestAuth, map[string]any{"parameters": []map[string]any{{"key": "x", "value": 1}}})
	mustStatus(t, "update sequence", r, 200)
	var u whisk.Action
	r.json(t, &u)
	if u.Parameters.Get("x") != nil || u.Parameters.Get("_actions") == nil {
		t.Errorf("sequence parameters %s", mustJSON(u.Parameters))
	}
}

func TestActionList(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHarness(t, st, Config{})
		for _, n := range []string{"a", "b", "c", "d", "pkg/e"} {
			h.putAction(n, map[string]any{"exec": map[string]any{"kind": "nodejs", "code": "code of " + n}, "parameters": []map[string]any{{"key": "k", "value": 1}}})
		}
		names := func(r response) string {
			var list []map[string]any
			r.json(t, &list)
			var out []string
			for _, a := range list {
				if exec, _ := a["exec"].(map[string]any); exec["code"] != nil || exec["kind"] != nil {
					t.Errorf("list entry has code or kind: %v", exec)
				}
				if _, ok := a["parameters"]; ok {
					t.Errorf("list entry has parameters")
				}
				out = append(out, fmt.Sprint(a["namespace"], "/", a["name"]))
			}
			return strings.Join(out, ",")
		}
		tests := []struct {
			path   string
			status int
			want   string
		}{
			{"", 200, "guest/a,guest/b,guest/c,guest/d,guest/pkg/e"},
			{"?limit=2", 200, "guest/a,guest/b"},
			{"?skip=1&limit=2", 200, "guest/b,guest/c"},
			{"?skip=10", 200, ""},
			{"?limit=0", 200, "guest/a,guest/b,guest/c,guest/d,guest/pkg/e"},
			{"?count=true", 200, `{"actions":5}`},
			{"?count=true&skip=2", 200, `{"actions":3}`},
			{"pkg/", 200, "guest/pkg/e"},
			{"nopkg/", 404, msgNotFound},
			{"?limit=201", 400, "The value '201' is not in the range of 0 to 200 for actions."},
			{"?limit=-1", 400, "The value '-1' is not in the range of 0 to 200 for actions."},
			{"?skip=-1", 400, "The value '-1' is not greater than or equal to 0 for actions."},
			{"?limit=abc", 400, "The value 'abc' is not an integer for actions."},
			{"?count=maybe", 400, "The query parameter 'count' was malformed: 'maybe' is not a valid Boolean value."},
		}
		for _, tt := range tests {
			r := h.do("GET", actionsPath+tt.path, guestAuth, nil)
			mustStatus(t, tt.path, r, tt.status)
			var got string
			switch {
			case tt.status != 200:
				got = r.errorBody(t)
			case strings.Contains(tt.path, "count"):
				got = strings.TrimSpace(string(r.body))
			default:
				got = names(r)
			}
			if got != tt.want {
				t.Errorf("GET %s: %q, want %q", tt.path, got, tt.want)
			}
		}
		// without the trailing slash
		r := h.do("GET", "/api/v1/namespaces/guest/actions", guestAuth, nil)
		mustStatus(t, "list without slash", r, 200)
		if got := names(r); !strings.HasPrefix(got, "guest/a,") {
			t.Errorf("list without slash: %s", got)
		}
		// another namespace sees none of them
		r = h.do("GET", actionsPath, otherAuth, nil)
		mustStatus(t, "other's list", r, 200)
		if got := names(r); got != "" {
			t.Errorf("other namespace lists %q", got)
		}
	})
}

func TestNamespaceIsolation(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHarness(t, st, Config{})
		h.putAction("secret", nodeAction("x"))
		forbidden := "The supplied authentication is not authorized to access 'guest'."
		tests := []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/namespaces/guest/actions/secret", nil},
			{"GET", "/api/v1/namespaces/guest/actions", nil},
			{"PUT", "/api/v1/namespaces/guest/actions/secret?overwrite=true", nodeAction("y")},
			{"DELETE", "/api/v1/namespaces/guest/actions/secret", nil},
			{"POST", "/api/v1/namespaces/guest/actions/secret?blocking=true", nil},
			{"GET", "/api/v1/namespaces/guest/activations", nil},
			{"GET", "/api/v1/namespaces/guest/activations/0123456789abcdef0123456789abcdef", nil},
			{"GET", "/api/v1/namespaces/guest/limits", nil},
		}
		for _, tt := range tests {
			r := h.do(tt.method, tt.path, otherAuth, tt.body)
			mustStatus(t, "other: "+tt.method+" "+tt.path, r, 403)
			if got := r.errorBody(t); got != forbidden {
				t.Errorf("%s %s: error %q", tt.method, tt.path, got)
			}
		}
		// in its own namespace, other does not find guest's action
		for _, m := range []string{"GET", "DELETE", "POST"} {
			r := h.do(m, actionsPath+"secret", otherAuth, nil)
			mustStatus(t, "other: "+m+" own namespace", r, 404)
		}
		// and its own action of the same name is a different one
		r := h.do("PUT", actionsPath+"secret", otherAuth, nodeAction("other's"))
		mustStatus(t, "other creates its own", r, 200)
		r = h.do("GET", actionsPath+"secret", guestAuth, nil)
		var a whisk.Action
		r.json(t, &a)
		if a.Exec.Code != "x" || a.Namespace != "guest" {
			t.Errorf("guest's action changed: %+v", a)
		}
		if h.ctrl.count() != 0 {
			t.Errorf("controller called %d times by forbidden requests", h.ctrl.count())
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
