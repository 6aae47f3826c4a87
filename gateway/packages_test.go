package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

const packagesPath = "/api/v1/namespaces/_/packages/"

// kv builds parameters or annotations from alternating keys and values.
func kv(pairs ...any) []map[string]any {
	out := []map[string]any{}
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, map[string]any{"key": pairs[i], "value": pairs[i+1]})
	}
	return out
}

// putPackage creates or replaces a package in the namespace of auth.
func (h *harness) putPackage(auth, name string, body any) packageDoc {
	h.t.Helper()
	r := h.do("PUT", "/api/v1/namespaces/_/packages/"+name+"?overwrite=true", auth, body)
	mustStatus(h.t, "PUT package "+name, r, 200)
	var p packageDoc
	r.json(h.t, &p)
	return p
}

// echoArgs makes the fake controller answer every blocking invocation with
// its arguments as the result, so tests see exactly what the action got.
func echoArgs(_ context.Context, msg *bus.ActivationMessage, _ time.Duration) (*whisk.Activation, error) {
	if !msg.Blocking {
		return nil, nil
	}
	return succeed(msg, msg.Args), nil
}

// argsOf decodes an invocation's arguments.
func argsOf(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("arguments %s: %v", raw, err)
	}
	return m
}

func TestPackageCRUD(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHarness(t, st, Config{})
		r := h.do("PUT", packagesPath+"utils", guestAuth, map[string]any{
			"parameters":  kv("p", 1),
			"annotations": kv("description", "tools", "binding", "forged"),
		})
		mustStatus(t, "create", r, 200)
		if !strings.Contains(string(r.body), `"binding":{}`) {
			t.Errorf("package without binding must show binding {}: %s", r.body)
		}
		var p packageDoc
		r.json(t, &p)
		if p.Namespace != "guest" || p.Name != "utils" || p.Version != "0.0.1" || p.Publish || p.Rev != "" ||
			string(p.Parameters.Get("p")) != "1" || string(p.Annotations.Get("description")) != `"tools"` || p.Annotations.Get(annBinding) != nil {
			t.Errorf("created %s", r.body)
		}

		r = h.do("PUT", packagesPath+"utils", guestAuth, map[string]any{})
		mustStatus(t, "create again", r, 409)
		if got := r.errorBody(t); got != msgExists {
			t.Errorf("409 message %q", got)
		}

		// an update keeps what it does not mention
		p = h.putPackage(guestAuth, "utils", map[string]any{"publish": true})
		if p.Version != "0.0.2" || !p.Publish || string(p.Parameters.Get("p")) != "1" || string(p.Annotations.Get("description")) != `"tools"` {
			t.Errorf("updated %+v", p)
		}

		h.putAction("utils/b", map[string]any{"exec": map[string]any{"kind": "nodejs", "code": "x"}, "annotations": kv("feed", true)})
		h.putAction("utils/a", nodeAction("x"))
		r = h.do("GET", packagesPath+"utils", guestAuth, nil)
		mustStatus(t, "get", r, 200)
		var got struct {
			packageDoc
			Actions []packageAction `json:"actions"`
			Feeds   []packageAction `json:"feeds"`
		}
		r.json(t, &got)
		if len(got.Actions) != 1 || got.Actions[0].Name != "a" || got.Actions[0].Version != "0.0.1" || got.Actions[0].Annotations.Get("exec") == nil ||
			len(got.Feeds) != 1 || got.Feeds[0].Name != "b" || got.Name != "utils" || string(got.Parameters.Get("p")) != "1" {
			t.Errorf("get %s", r.body)
		}

		h.putPackage(guestAuth, "other", map[string]any{})
		r = h.do("GET", packagesPath, guestAuth, nil)
		mustStatus(t, "list", r, 200)
		var list []map[string]any
		r.json(t, &list)
		if len(list) != 2 || list[0]["name"] != "other" || list[1]["name"] != "utils" || list[1]["binding"] != false || list[1]["publish"] != true ||
			list[1]["parameters"] != nil || list[1]["annotations"] == nil {
			t.Errorf("list %s", r.body)
		}
		for path, want := range map[string]string{
			"?count=true": `{"packages":2}`, "?count=true&skip=1": `{"packages":1}`,
		} {
			r = h.do("GET", "/api/v1/namespaces/guest/packages"+path, guestAuth, nil)
			mustStatus(t, path, r, 200)
			if strings.TrimSpace(string(r.body)) != want {
				t.Errorf("%s: %s, want %s", path, r.body, want)
			}
		}
		r = h.do("GET", packagesPath+"?limit=1&skip=1", guestAuth, nil)
		list = nil
		r.json(t, &list)
		if len(list) != 1 || list[0]["name"] != "utils" {
			t.Errorf("page %s", r.body)
		}

		r = h.do("DELETE", packagesPath+"utils", guestAuth, nil)
		mustStatus(t, "delete non-empty", r, 409)
		if got := r.errorBody(t); got != "Package not empty (contains 2 entities). Set force param or delete package contents." {
			t.Errorf("409 message %q", got)
		}
		mustStatus(t, "delete a", h.do("DELETE", actionsPath+"utils/a", guestAuth, nil), 200)
		r = h.do("DELETE", packagesPath+"utils", guestAuth, nil)
		mustStatus(t, "delete non-empty", r, 409)
		if got := r.errorBody(t); got != "Package not empty (contains 1 entity). Set force param or delete package contents." {
			t.Errorf("409 message %q", got)
		}
		h.putAction("utils/c", nodeAction("x"))
		r = h.do("DELETE", packagesPath+"utils?force=true", guestAuth, nil)
		mustStatus(t, "force delete", r, 200)
		p = packageDoc{}
		r.json(t, &p)
		if p.Name != "utils" || p.Version != "0.0.2" {
			t.Errorf("deleted %s", r.body)
		}
		for _, path := range []string{actionsPath + "utils/b", actionsPath + "utils/c", packagesPath + "utils", actionsPath + "utils/"} {
			mustStatus(t, "GET after force delete "+path, h.do("GET", path, guestAuth, nil), 404)
		}
		r = h.do("GET", actionsPath+"?count=true", guestAuth, nil)
		if strings.TrimSpace(string(r.body)) != `{"actions":0}` {
			t.Errorf("actions left after force delete: %s", r.body)
		}
		mustStatus(t, "delete empty", h.do("DELETE", packagesPath+"other", guestAuth, nil), 200)
		mustStatus(t, "delete missing", h.do("DELETE", packagesPath+"other", guestAuth, nil), 404)
	})
}

func TestPackageErrors(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	h.putPackage(guestAuth, "pkg", map[string]any{})
	tests := []struct {
		name, method, path string
		body               any
		status             int
		msg                string
	}{
		{"reserved name", "PUT", packagesPath + "default", map[string]any{}, 400, "Package name 'default' is reserved."},
		{"bad name", "PUT", packagesPath + "a%24b", map[string]any{}, 400, "illegal characters"},
		{"malformed", "PUT", packagesPath + "x", `{"parameters":`, 400, "malformed"},
		{"parameters not a list", "PUT", packagesPath + "x", `{"parameters":{"a":1}}`, 400, "malformed"},
		{"empty key", "PUT", packagesPath + "x", map[string]any{"parameters": kv("", 1)}, 400, "non-empty key"},
		{"bad version", "PUT", packagesPath + "x", map[string]any{"version": "1"}, 400, "semantic version"},
		{"bad overwrite", "PUT", packagesPath + "x?overwrite=2", map[string]any{}, 400, "'overwrite' was malformed"},
		{"bad force", "DELETE", packagesPath + "pkg?force=2", nil, 400, "'force' was malformed"},
		{"binding without namespace", "PUT", packagesPath + "x", map[string]any{"binding": map[string]any{"name": "pkg"}}, 400, "binding must have a namespace and a name"},
		{"binding bad name", "PUT", packagesPath + "x", map[string]any{"binding": map[string]any{"namespace": "_", "name": "p$"}}, 400, "illegal characters"},
		{"missing", "GET", packagesPath + "nope", nil, 404, msgNotFound},
		{"post not allowed", "POST", packagesPath + "pkg", nil, 405, msgMethod},
		{"too large", "PUT", packagesPath + "x", map[string]any{"parameters": kv("big", strings.Repeat("x", whisk.MaxPayload))}, 413, "Parameters larger than allowed"},
		{"other namespace", "PUT", "/api/v1/namespaces/other/packages/x", map[string]any{}, 403, "not authorized to access 'other'"},
		{"list bad limit", "GET", packagesPath + "?limit=500", nil, 400, "The value '500' is not in the range of 0 to 200 for packages."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(tt.method, tt.path, guestAuth, tt.body)
			mustStatus(t, tt.name, r, tt.status)
			if got := r.errorBody(t); !strings.Contains(got, tt.msg) {
				t.Errorf("error %q, want it to contain %q", got, tt.msg)
			}
		})
	}
	// nothing was written by the failures
	r := h.do("GET", packagesPath+"?count=true", guestAuth, nil)
	if strings.TrimSpace(string(r.body)) != `{"packages":1}` {
		t.Errorf("packages after failures: %s", r.body)
	}
	mustStatus(t, "no auth", h.do("GET", packagesPath, "", nil), 401)
}

func TestPackagedActions(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	h.putPackage(guestAuth, "pkg", map[string]any{"parameters": kv("p", "pkg")})
	h.putPackage(guestAuth, "bind", map[string]any{"binding": map[string]any{"namespace": "_", "name": "pkg"}, "parameters": kv("b", "bind")})
	h.putAction("pkg/a", map[string]any{"exec": map[string]any{"kind": "nodejs", "code": "code a"}, "parameters": kv("a", "act")})

	tests := []struct {
		name, method, path string
		body               any
		status             int
		msg                string
	}{
		{"create in missing package", "PUT", actionsPath + "nopkg/x", nodeAction("x"), 404, msgNotFound},
		{"create in binding", "PUT", actionsPath + "bind/x", nodeAction("x"), 400, msgOnBinding},
		{"replace in binding", "PUT", actionsPath + "bind/a?overwrite=true", nodeAction("x"), 400, msgOnBinding},
		{"delete in binding", "DELETE", actionsPath + "bind/a", nil, 400, msgOnBinding},
		{"delete in missing package", "DELETE", actionsPath + "nopkg/a", nil, 404, msgNotFound},
		{"get missing through binding", "GET", actionsPath + "bind/nope", nil, 404, msgNotFound},
		{"invoke in missing package", "POST", actionsPath + "nopkg/a", nil, 404, msgNotFound},
		{"list missing package", "GET", actionsPath + "nopkg/", nil, 404, msgNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(tt.method, tt.path, guestAuth, tt.body)
			mustStatus(t, tt.name, r, tt.status)
			if got := r.errorBody(t); !strings.Contains(got, tt.msg) {
				t.Errorf("error %q, want it to contain %q", got, tt.msg)
			}
		})
	}
	r := h.do("GET", actionsPath+"?count=true", guestAuth, nil)
	if strings.TrimSpace(string(r.body)) != `{"actions":1}` {
		t.Errorf("actions after refused writes: %s", r.body)
	}

	// GET through the binding: the bound action, parameters merged
	r = h.do("GET", actionsPath+"bind/a", guestAuth, nil)
	mustStatus(t, "get through binding", r, 200)
	var a whisk.Action
	r.json(t, &a)
	if a.Namespace != "guest/pkg" || a.Name != "a" || a.Exec.Code != "code a" ||
		string(a.Parameters.Get("p")) != `"pkg"` || string(a.Parameters.Get("b")) != `"bind"` || string(a.Parameters.Get("a")) != `"act"` {
		t.Errorf("action through binding %s", r.body)
	}
	// lists: a binding lists the bound package's actions
	for _, path := range []string{"pkg/", "bind/"} {
		r = h.do("GET", actionsPath+path, guestAuth, nil)
		mustStatus(t, "list "+path, r, 200)
		var list []map[string]any
		r.json(t, &list)
		if len(list) != 1 || list[0]["namespace"] != "guest/pkg" || list[0]["name"] != "a" {
			t.Errorf("list %s: %s", path, r.body)
		}
	}
}

func TestBindings(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHarness(t, st, Config{})
		ctx := context.Background()
		if err := InstallSystemPackage(ctx, st, SystemPackage{Name: "utils", Actions: []SystemAction{{Name: "echo", Exec: whisk.Exec{Kind: "nodejs", Code: "x"}}}}); err != nil {
			t.Fatal(err)
		}
		h.putPackage(guestAuth, "mine", map[string]any{"parameters": kv("x", 1)})
		h.putPackage(guestAuth, "mine2", map[string]any{})
		h.putPackage(guestAuth, "mybind", map[string]any{"binding": map[string]any{"namespace": "guest", "name": "mine"}})
		h.putPackage(otherAuth, "shared", map[string]any{"publish": true})
		h.putPackage(otherAuth, "private", map[string]any{})
		h.putPackage(otherAuth, "theirbind", map[string]any{"binding": map[string]any{"namespace": "_", "name": "shared"}, "publish": true})

		bind := func(ns, name string) map[string]any {
			return map[string]any{"binding": map[string]any{"namespace": ns, "name": name}}
		}
		tests := []struct {
			name, pkg string
			body      any
			status    int
			msg       string
			want      binding // on success
		}{
			{"own package", "b1", bind("guest", "mine"), 200, "", binding{"guest", "mine"}},
			{"underscore namespace", "b2", bind("_", "mine"), 200, "", binding{"guest", "mine"}},
			{"published package of another namespace", "b3", bind("other", "shared"), 200, "", binding{"other", "shared"}},
			{"system package", "b4", bind("whisk.system", "utils"), 200, "", binding{"whisk.system", "utils"}},
			{"empty binding is a package", "b5", map[string]any{"binding": map[string]any{}}, 200, "", binding{}},
			{"missing own package", "b6", bind("guest", "nope"), 400, msgBindingMissing, binding{}},
			{"binding to a binding", "b7", bind("guest", "mybind"), 400, msgBindingToBinding, binding{}},
			{"private package of another namespace", "b8", bind("other", "private"), 403, "not authorized to access 'other/private'", binding{}},
			{"missing package of another namespace", "b9", bind("other", "nope"), 403, "not authorized to access 'other/nope'", binding{}},
			{"another namespace's binding", "b10", bind("other", "theirbind"), 403, "not authorized", binding{}},
			{"missing system package", "b11", bind("whisk.system", "nope"), 403, "not authorized", binding{}},
			{"package cannot become a binding", "mine2?overwrite=true", bind("guest", "mine"), 409, msgPackageNotBinding, binding{}},
			{"re-point a binding", "mybind?overwrite=true", bind("guest", "mine2"), 200, "", binding{"guest", "mine2"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := h.do("PUT", packagesPath+tt.pkg, guestAuth, tt.body)
				mustStatus(t, tt.name, r, tt.status)
				name, _, _ := strings.Cut(tt.pkg, "?")
				if tt.status != 200 {
					if got := r.errorBody(t); !strings.Contains(got, tt.msg) {
						t.Errorf("error %q, want it to contain %q", got, tt.msg)
					}
					if g := h.do("GET", packagesPath+name, guestAuth, nil); g.status == 200 && !strings.Contains(tt.pkg, "overwrite") {
						t.Errorf("refused binding %s was written", name)
					}
					return
				}
				var p packageDoc
				r.json(t, &p)
				if p.Binding != tt.want {
					t.Errorf("binding %+v, want %+v", p.Binding, tt.want)
				}
				ann := p.Annotations.Get(annBinding)
				if tt.want.isSet() != (ann != nil) || (ann != nil && string(ann) != mustJSON(tt.want)) {
					t.Errorf("binding annotation %s for binding %+v", ann, tt.want)
				}
			})
		}
		// mine2 is still a plain package after the refused conversion
		r := h.do("GET", packagesPath+"mine2", guestAuth, nil)
		if !strings.Contains(string(r.body), `"binding":{}`) {
			t.Errorf("mine2 after refused conversion: %s", r.body)
		}
		// list shows bindings as {namespace, name}
		r = h.do("GET", packagesPath, guestAuth, nil)
		var list []map[string]any
		r.json(t, &list)
		for _, p := range list {
			if p["name"] == "b3" {
				if b, _ := p["binding"].(map[string]any); b["namespace"] != "other" || b["name"] != "shared" {
					t.Errorf("b3 in list: %v", p)
				}
			}
		}
		// a binding whose package went private is no longer usable
		h.putAction("mine/x", nodeAction("x"))
		h.putPackage(otherAuth, "shared", map[string]any{"publish": false})
		mustStatus(t, "GET binding to an unpublished package", h.do("GET", packagesPath+"b3", guestAuth, nil), 403)
		mustStatus(t, "GET binding to a deleted package", func() response {
			h.do("DELETE", packagesPath+"mine2", guestAuth, nil)
			return h.do("GET", packagesPath+"mybind", guestAuth, nil)
		}(), 404)
		// a binding can always be deleted
		mustStatus(t, "delete binding", h.do("DELETE", packagesPath+"mybind", guestAuth, nil), 200)
	})
}

func TestBindingGet(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	h.putPackage(otherAuth, "lib", map[string]any{"publish": true, "parameters": kv("a", "lib", "b", "lib")})
	r := h.do("PUT", "/api/v1/namespaces/other/actions/lib/f?overwrite=true", otherAuth, nodeAction("x"))
	mustStatus(t, "PUT other/lib/f", r, 200)
	h.putPackage(guestAuth, "mylib", map[string]any{"binding": map[string]any{"namespace": "other", "name": "lib"}, "parameters": kv("b", "bind", "c", "bind")})

	r = h.do("GET", packagesPath+"mylib", guestAuth, nil)
	mustStatus(t, "GET binding", r, 200)
	var got struct {
		packageDoc
		Actions []packageAction `json:"actions"`
	}
	r.json(t, &got)
	params := map[string]string{}
	for _, p := range got.Parameters {
		params[p.Key] = string(p.Value)
	}
	if got.Namespace != "guest" || got.Name != "mylib" || got.Binding != (binding{"other", "lib"}) ||
		params["a"] != `"lib"` || params["b"] != `"bind"` || params["c"] != `"bind"` ||
		len(got.Actions) != 1 || got.Actions[0].Name != "f" {
		t.Errorf("GET binding %s", r.body)
	}
}

// TestParameterMerge asserts on the arguments the controller receives:
// package < binding < action < request.
func TestParameterMerge(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	h.ctrl.fn = echoArgs
	h.putPackage(otherAuth, "lib", map[string]any{"publish": true, "parameters": kv("a", "pkg", "b", "pkg", "c", "pkg", "d", "pkg", "e", "pkg")})
	mustStatus(t, "PUT other/lib/f", h.do("PUT", "/api/v1/namespaces/other/actions/lib/f", otherAuth,
		map[string]any{"exec": map[string]any{"kind": "nodejs", "code": "x"}, "parameters": kv("c", "act", "d", "act", "e", "act")}), 200)
	h.putPackage(guestAuth, "mylib", map[string]any{"binding": map[string]any{"namespace": "other", "name": "lib"}, "parameters": kv("b", "bind", "c", "bind", "d", "bind")})
	h.putPackage(guestAuth, "local", map[string]any{"parameters": kv("a", "pkg", "b", "pkg")})
	h.putAction("local/g", map[string]any{"exec": map[string]any{"kind": "nodejs", "code": "x"}, "parameters": kv("b", "act")})

	tests := []struct {
		name, path, body string
		want             map[string]any
		action, ns       string // the action run and the namespace invoking
		annBinding       string // the binding annotation of the record
	}{
		{"through binding", actionsPath + "mylib/f", `{"e":"req"}`,
			map[string]any{"a": "pkg", "b": "bind", "c": "act", "d": "act", "e": "req"}, "other/lib/f", "guest", "guest/mylib"},
		{"direct in another namespace", "/api/v1/namespaces/other/actions/lib/f", `{"d":"req"}`,
			map[string]any{"a": "pkg", "b": "pkg", "c": "act", "d": "req", "e": "act"}, "other/lib/f", "guest", ""},
		{"own package", actionsPath + "local/g", `{"c":"req"}`,
			map[string]any{"a": "pkg", "b": "act", "c": "req"}, "guest/local/g", "guest", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("POST", tt.path+"?blocking=true&result=true", guestAuth, tt.body)
			mustStatus(t, tt.name, r, 200)
			got := argsOf(t, r.body)
			if len(got) != len(tt.want) {
				t.Errorf("args %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("arg %s = %v, want %v (args %s)", k, got[k], v, r.body)
				}
			}
			msg := h.ctrl.last(t).msg
			if msg.Action.FQN().Path() != tt.action || msg.Namespace != tt.ns || msg.Subject != tt.ns {
				t.Errorf("ran %s in %s (subject %s), want %s in %s", msg.Action.FQN().Path(), msg.Namespace, msg.Subject, tt.action, tt.ns)
			}
			if b := msg.Annotations.Get(annBinding); (tt.annBinding == "") != (b == nil) || (b != nil && string(b) != `"`+tt.annBinding+`"`) {
				t.Errorf("binding annotation %s, want %q", b, tt.annBinding)
			}
		})
	}
}

func TestFinalParameters(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	h.ctrl.fn = echoArgs
	h.putPackage(guestAuth, "pkg", map[string]any{"parameters": kv("fromPkg", 1, "unset", nil)})
	h.putPackage(guestAuth, "bind", map[string]any{"binding": map[string]any{"namespace": "_", "name": "pkg"}, "parameters": kv("fromBinding", 2)})
	h.putAction("pkg/fin", map[string]any{"exec": map[string]any{"kind": "nodejs", "code": "x"}, "parameters": kv("fromAction", 3), "annotations": kv("final", true)})
	h.putAction("pkg/open", map[string]any{"exec": map[string]any{"kind": "nodejs", "code": "x"}, "parameters": kv("fromAction", 3)})
	tests := []struct {
		name, path, body string
		status           int
	}{
		{"final: package parameter", "pkg/fin", `{"fromPkg":9}`, 400},
		{"final: action parameter", "pkg/fin", `{"fromAction":9}`, 400},
		{"final: binding parameter", "bind/fin", `{"fromBinding":9}`, 400},
		{"final: escaped key", "pkg/fin", `{"from\u0041ction":9}`, 400},
		{"final: undefined parameter may be set", "pkg/fin", `{"unset":9}`, 200},
		{"final: new argument", "pkg/fin", `{"other":9}`, 200},
		{"not final: override", "bind/open", `{"fromPkg":9,"fromBinding":9,"fromAction":9}`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.ctrl.count()
			r := h.do("POST", actionsPath+tt.path+"?blocking=true&result=true", guestAuth, tt.body)
			mustStatus(t, tt.name, r, tt.status)
			if tt.status == 400 {
				if got := r.errorBody(t); got != "Request defines parameters that are not allowed (e.g., reserved properties)." {
					t.Errorf("error %q", got)
				}
				if h.ctrl.count() != before {
					t.Error("controller called for a refused request")
				}
			}
		})
	}
}

func TestSharedPackages(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	h.ctrl.fn = echoArgs
	h.putPackage(otherAuth, "pub", map[string]any{"publish": true})
	h.putPackage(otherAuth, "priv", map[string]any{})
	for _, a := range []string{"pub/x", "priv/y", "z"} {
		mustStatus(t, "PUT "+a, h.do("PUT", "/api/v1/namespaces/_/actions/"+a, otherAuth, nodeAction("code "+a)), 200)
	}
	const other = "/api/v1/namespaces/other/"
	tests := []struct {
		name, method, path string
		status             int
		want               string // substring of the body
	}{
		{"list packages", "GET", other + "packages", 200, `"name":"pub"`},
		{"count packages", "GET", other + "packages?count=true", 200, `{"packages":1}`},
		{"get published", "GET", other + "packages/pub", 200, `"actions":[{"name":"x"`},
		{"get private", "GET", other + "packages/priv", 403, "not authorized to access 'other/priv'"},
		{"get missing", "GET", other + "packages/nope", 403, "not authorized"},
		{"get action in published", "GET", other + "actions/pub/x", 200, `"code":"code pub/x"`},
		{"get action in private", "GET", other + "actions/priv/y", 403, "not authorized"},
		{"get missing action in published", "GET", other + "actions/pub/nope", 403, "not authorized"},
		{"get default-package action", "GET", other + "actions/z", 403, "not authorized"},
		{"list published actions", "GET", other + "actions/pub/", 200, `"name":"x"`},
		{"list private actions", "GET", other + "actions/priv/", 403, "not authorized"},
		{"list all actions", "GET", other + "actions", 403, "not authorized"},
		{"invoke in published", "POST", other + "actions/pub/x?blocking=true", 200, `"activationId"`},
		{"invoke in private", "POST", other + "actions/priv/y?blocking=true", 403, "not authorized"},
		{"invoke default-package action", "POST", other + "actions/z", 403, "not authorized"},
		{"create package", "PUT", other + "packages/new", 403, "not authorized"},
		{"delete package", "DELETE", other + "packages/pub", 403, "not authorized"},
		{"create action in published", "PUT", other + "actions/pub/new", 403, "not authorized"},
		{"delete action in published", "DELETE", other + "actions/pub/x", 403, "not authorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.method == "PUT" {
				body = nodeAction("x")
			}
			r := h.do(tt.method, tt.path, guestAuth, body)
			mustStatus(t, tt.name, r, tt.status)
			if !strings.Contains(string(r.body), tt.want) {
				t.Errorf("body %s, want it to contain %s", r.body, tt.want)
			}
		})
	}
	// the shared action ran in the caller's namespace
	if msg := h.ctrl.last(t).msg; msg.Namespace != "guest" || msg.Action.Namespace != "other/pub" {
		t.Errorf("shared invoke: namespace %s action %s", msg.Namespace, msg.Action.Namespace)
	}
	// unpublishing takes effect at once on this gateway
	h.putPackage(otherAuth, "pub", map[string]any{"publish": false})
	mustStatus(t, "invoke after unpublish", h.do("POST", other+"actions/pub/x", guestAuth, nil), 403)
}

func TestSystemNamespace(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHarness(t, st, Config{})
		h.ctrl.fn = echoArgs
		ctx := context.Background()
		install := func(p SystemPackage) {
			t.Helper()
			if err := InstallSystemPackage(ctx, st, p); err != nil {
				t.Fatalf("InstallSystemPackage: %v", err)
			}
		}
		install(SystemPackage{
			Name:       "utils",
			Parameters: whisk.KeyValues{{Key: "sys", Value: json.RawMessage(`"yes"`)}},
			Actions: []SystemAction{
				{Name: "echo", Exec: whisk.Exec{Kind: "nodejs:20", Code: "function main(a) { return a }"}},
				{Name: "old", Exec: whisk.Exec{Kind: "python", Code: "def main(a): return a"}},
			},
		})
		const sys = "/api/v1/namespaces/whisk.system/"
		for _, who := range []string{guestAuth, otherAuth} {
			r := h.do("GET", sys+"packages", who, nil)
			mustStatus(t, "list system packages", r, 200)
			if !strings.Contains(string(r.body), `"name":"utils"`) {
				t.Errorf("list: %s", r.body)
			}
			r = h.do("GET", sys+"packages/utils", who, nil)
			mustStatus(t, "get system package", r, 200)
			if !strings.Contains(string(r.body), `{"name":"echo"`) || !strings.Contains(string(r.body), `{"name":"old"`) {
				t.Errorf("get: %s", r.body)
			}
			r = h.do("POST", sys+"actions/utils/echo?blocking=true&result=true", who, `{"a":1}`)
			mustStatus(t, "invoke system action", r, 200)
			if got := argsOf(t, r.body); got["sys"] != "yes" || got["a"] != 1.0 {
				t.Errorf("system action args %s", r.body)
			}
		}
		for _, tt := range []struct{ method, path string }{
			{"PUT", sys + "packages/mine"},
			{"PUT", sys + "packages/utils?overwrite=true"},
			{"DELETE", sys + "packages/utils"},
			{"DELETE", sys + "packages/utils?force=true"},
			{"PUT", sys + "actions/utils/new"},
			{"PUT", sys + "actions/utils/echo?overwrite=true"},
			{"DELETE", sys + "actions/utils/echo"},
		} {
			r := h.do(tt.method, tt.path, guestAuth, map[string]any{"exec": map[string]any{"kind": "nodejs", "code": "x"}})
			mustStatus(t, tt.method+" "+tt.path, r, 403)
		}
		mustStatus(t, "echo survives", h.do("GET", sys+"actions/utils/echo", guestAuth, nil), 200)

		// bind and invoke through the binding
		h.putPackage(guestAuth, "u", map[string]any{"binding": map[string]any{"namespace": "whisk.system", "name": "utils"}, "parameters": kv("sys", "mine")})
		r := h.do("POST", actionsPath+"u/echo?blocking=true&result=true", guestAuth, nil)
		mustStatus(t, "invoke through binding", r, 200)
		if got := argsOf(t, r.body); got["sys"] != "mine" {
			t.Errorf("binding args %s", r.body)
		}

		// reinstalling replaces the package and drops actions it no longer has
		install(SystemPackage{Name: "utils", Actions: []SystemAction{{Name: "echo", Exec: whisk.Exec{Kind: "nodejs", Code: "x"}}}})
		r = h.do("GET", sys+"packages/utils", guestAuth, nil)
		if strings.Contains(string(r.body), `"name":"old"`) || !strings.Contains(string(r.body), `"version":"0.0.2"`) {
			t.Errorf("after reinstall: %s", r.body)
		}
		for _, bad := range []SystemPackage{
			{Name: "default"},
			{Name: "x", Actions: []SystemAction{{Name: "a", Exec: whisk.Exec{Kind: "cobol"}}}},
			{Name: "x", Actions: []SystemAction{{Name: "a", Exec: whisk.Exec{Kind: "nodejs"}}}},
			{Name: "x", Actions: []SystemAction{{Name: "a", Exec: whisk.Exec{Kind: "nodejs", Code: "x"}}, {Name: "a", Exec: whisk.Exec{Kind: "nodejs", Code: "y"}}}},
		} {
			if err := InstallSystemPackage(ctx, st, bad); err == nil {
				t.Errorf("InstallSystemPackage(%+v) succeeded", bad)
			}
		}
		mustStatus(t, "refused system package not written", h.do("GET", sys+"packages/x", guestAuth, nil), 403)
	})
}
