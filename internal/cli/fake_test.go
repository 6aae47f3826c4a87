package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/whisk"
)

// fakeAPI is an in-memory OpenWhisk REST API at the HTTP seam: enough of
// actions, invocations, packages, triggers, rules, activations and namespaces
// for the CLI's logic, with every request recorded. The key's namespace is
// "guest" ("_"); "whisk.system" also exists, for feeds.
//
// Invoking an action named "fail" ends in an application error, one named
// "slow" outlives a blocking wait (202), one named "broken" answers a 500
// error without a record; a sequence invokes its components; any other
// action answers {"payload": "Hello, <name>!"} and logs one line.
type fakeAPI struct {
	srv *httptest.Server

	mu          sync.Mutex
	actions     map[string]*whisk.Action   // "ns/entityName"
	packages    map[string]*client.Package // "ns/name"
	triggers    map[string]*client.Trigger // "ns/name"
	rules       map[string]*client.Rule    // "ns/name"
	activations []*whisk.Activation        // oldest first
	requests    []recorded
	nextID      int
	clock       int64                  // epoch ms of the next activation
	refresh     *client.BindingUpdates // the answer of a package refresh; nil for 404
}

type recorded struct {
	Method, Path, Query string
	Body                []byte
	Header              http.Header
}

const fakeNamespace = "guest"

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{actions: map[string]*whisk.Action{}, packages: map[string]*client.Package{},
		triggers: map[string]*client.Trigger{}, rules: map[string]*client.Rule{}, clock: 1700000000000}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// lastRequest returns the last request whose path has the given prefix.
func (f *fakeAPI) lastRequest(t *testing.T, method, pathPrefix string) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.requests) - 1; i >= 0; i-- {
		r := f.requests[i]
		if r.Method == method && strings.HasPrefix(r.Path, pathPrefix) {
			return r
		}
	}
	t.Fatalf("no %s request under %s; got %+v", method, pathPrefix, f.requests)
	return recorded{}
}

func (f *fakeAPI) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// fakeNamespaces are the namespaces the fake serves; "_" is the first.
var fakeNamespaces = []string{fakeNamespace, "whisk.system"}

// splitFakeName splits "[/ns/][pkg/]name" into the namespace (default
// guest) and the entity name.
func splitFakeName(name string) (ns, entityName string) {
	if rest, ok := strings.CutPrefix(name, "/"); ok {
		ns, entityName, _ = strings.Cut(rest, "/")
		return ns, entityName
	}
	return fakeNamespace, name
}

// addAction stores an action directly: "name", "pkg/name" or
// "/ns/[pkg/]name". A kind of "sequence" takes the components, comma
// separated and fully qualified, as its code.
func (f *fakeAPI) addAction(name, kind, code string) *whisk.Action {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns, entityName := splitFakeName(name)
	a := f.addActionLocked(ns, entityName)
	a.Exec = whisk.Exec{Kind: kind, Code: code}
	if kind == whisk.KindSequence && code != "" {
		a.Exec = whisk.Exec{Kind: kind, Components: strings.Split(code, ",")}
	}
	a.Annotations = a.Annotations.Set("exec", strings.Split(kind, ":")[0])
	return a
}

func (f *fakeAPI) fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": "tid" + strconv.Itoa(status)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, recorded{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: body, Header: r.Header.Clone()})
	if r.URL.Path == "/api/v1" {
		writeJSON(w, 200, map[string]any{"description": "Gust fake", "build": "2024-01-01", "buildno": "fake-1"})
		return
	}
	if got := r.Header.Get("Authorization"); got != "Basic "+base64.StdEncoding.EncodeToString([]byte(client.GuestAuth)) {
		f.fail(w, 401, "The supplied authentication is invalid")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/namespaces")
	if !ok {
		f.fail(w, 404, "The requested resource does not exist.")
		return
	}
	if rest == "" {
		writeJSON(w, 200, []string{fakeNamespace})
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(rest, "/"), "/", 3)
	ns := ""
	if len(parts) > 0 {
		ns = parts[0]
		if ns == "_" {
			ns = fakeNamespace
		}
	}
	if len(parts) < 2 || !slices.Contains(fakeNamespaces, ns) {
		f.fail(w, 404, "The requested resource does not exist.")
		return
	}
	coll, name := parts[1], ""
	if len(parts) == 3 {
		name = parts[2]
	}
	switch coll {
	case "actions":
		f.serveActions(w, r, ns, name, body)
	case "activations":
		f.serveActivations(w, r, name)
	case "packages":
		f.servePackages(w, r, ns, name, body)
	case "triggers":
		f.serveTriggers(w, r, ns, name, body)
	case "rules":
		f.serveRules(w, r, ns, name, body)
	default:
		f.fail(w, 404, "The requested resource does not exist.")
	}
}

func (f *fakeAPI) serveActions(w http.ResponseWriter, r *http.Request, ns, name string, body []byte) {
	q := r.URL.Query()
	if name == "" || strings.HasSuffix(name, "/") {
		if r.Method != http.MethodGet {
			f.fail(w, 405, "Method not allowed.")
			return
		}
		pkgNS := ns
		if name != "" {
			pkgNS += "/" + strings.TrimSuffix(name, "/")
		}
		var out []whisk.Action
		keys := make([]string, 0, len(f.actions))
		for k := range f.actions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if a := f.actions[k]; a.Namespace == pkgNS {
				s := *a
				s.Exec, s.Parameters = whisk.Exec{}, nil
				out = append(out, s)
			}
		}
		if out == nil {
			out = []whisk.Action{}
		}
		writeJSON(w, 200, out)
		return
	}
	key := ns + "/" + name
	a := f.actions[key]
	switch r.Method {
	case http.MethodGet:
		if a == nil {
			f.fail(w, 404, "The requested resource does not exist.")
			return
		}
		out := *a
		if q.Get("code") == "false" {
			out.Exec.Code = ""
		}
		writeJSON(w, 200, &out)
	case http.MethodDelete:
		if a == nil {
			f.fail(w, 404, "The requested resource does not exist.")
			return
		}
		delete(f.actions, key)
		writeJSON(w, 200, a)
	case http.MethodPut:
		var put client.ActionPut
		if err := json.Unmarshal(body, &put); err != nil {
			f.fail(w, 400, "The request content was malformed:\n"+err.Error())
			return
		}
		if a != nil && q.Get("overwrite") != "true" {
			f.fail(w, 409, "resource already exists")
			return
		}
		if a == nil {
			if put.Exec == nil {
				f.fail(w, 400, "exec undefined")
				return
			}
			a = f.addActionLocked(ns, name)
		} else {
			a.Version = whisk.NextVersion(a.Version)
		}
		if put.Exec != nil {
			a.Exec = *put.Exec
			a.Exec.Binary = put.Exec.Binary
		}
		if put.Parameters != nil {
			a.Parameters = put.Parameters
		}
		if put.Annotations != nil {
			a.Annotations = put.Annotations
		}
		for _, k := range put.DelAnnotations {
			a.Annotations = a.Annotations.Delete(k)
		}
		a.Annotations = a.Annotations.Set("exec", strings.Split(a.Exec.Kind, ":")[0])
		if l := put.Limits; l != nil {
			for src, dst := range map[*int]*int{l.Timeout: &a.Limits.Timeout, l.Memory: &a.Limits.Memory, l.Logs: &a.Limits.Logs, l.Concurrency: &a.Limits.Concurrency} {
				if src != nil {
					*dst = *src
				}
			}
		}
		out := *a
		out.Exec.Code = ""
		writeJSON(w, 200, &out)
	case http.MethodPost:
		if a == nil {
			f.fail(w, 404, "The requested resource does not exist.")
			return
		}
		f.invoke(w, a, q, body)
	default:
		f.fail(w, 405, "Method not allowed.")
	}
}

func (f *fakeAPI) addActionLocked(ns, entityName string) *whisk.Action {
	path, name := ns, entityName
	if pkg, n, ok := strings.Cut(entityName, "/"); ok {
		path, name = ns+"/"+pkg, n
	}
	a := &whisk.Action{Namespace: path, Name: name, Version: "0.0.1", Limits: whisk.DefaultLimits(), Updated: 1700000000000}
	f.actions[ns+"/"+entityName] = a
	return a
}

func (f *fakeAPI) invoke(w http.ResponseWriter, a *whisk.Action, q map[string][]string, body []byte) {
	var args map[string]any
	if err := json.Unmarshal(body, &args); err != nil {
		f.fail(w, 400, "The request content was malformed")
		return
	}
	act := f.run(a, args, "")
	code, result := act.StatusCode, act.Response.Result
	w.Header().Set(client.ActivationIDHeader, act.ActivationID)
	blocking := q["blocking"] != nil && q["blocking"][0] == "true"
	resultOnly := q["result"] != nil && q["result"][0] == "true"
	switch {
	case !blocking || a.Name == "slow":
		writeJSON(w, 202, map[string]string{"activationId": act.ActivationID})
	case resultOnly:
		status := 200
		if code != whisk.StatusSuccess {
			status = 502
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(result)
	default:
		status := 200
		if code != whisk.StatusSuccess {
			status = 502
		}
		writeJSON(w, status, act)
	}
}

// newID returns the next activation id.
func (f *fakeAPI) newID() string {
	f.nextID++
	return fmt.Sprintf("%032x", f.nextID)
}

// run runs the action a on args and records its activation; cause is the
// id of the sequence that runs it as a component, or "".
func (f *fakeAPI) run(a *whisk.Action, args map[string]any, cause string) *whisk.Activation {
	if a.Exec.Kind == whisk.KindSequence {
		return f.runSequence(a, args)
	}
	first := f.nextID == 0
	id := f.newID()
	start := f.clock
	f.clock += 1000
	code, result := whisk.StatusSuccess, json.RawMessage(nil)
	switch a.Name {
	case "fail":
		code, result = whisk.StatusApplicationError, whisk.ErrorResult("it failed")
	default:
		who, _ := args["name"].(string)
		if who == "" {
			who = "stranger"
		}
		result, _ = json.Marshal(map[string]string{"payload": "Hello, " + who + "!"})
	}
	act := &whisk.Activation{Namespace: fakeNamespace, Name: a.Name, Version: a.Version, Subject: fakeNamespace,
		ActivationID: id, Cause: cause, Start: start, End: start + 12, Duration: 12, StatusCode: code,
		Response: whisk.NewResponse(code, result), Logs: []string{"2024-05-01T10:00:00.123Z stdout: hello from " + a.Name}}
	act.Response.Size = 0
	act.Annotations = act.Annotations.Set("path", a.Namespace+"/"+a.Name).Set("kind", a.Exec.Kind).Set("waitTime", 3)
	if cause != "" {
		act.Annotations = act.Annotations.Set("causedBy", "sequence")
	}
	if first {
		act.Annotations = act.Annotations.Set("initTime", 40)
	}
	f.activations = append(f.activations, act)
	return act
}

// runSequence runs the components of a in turn, each on the result of the
// one before, as OpenWhisk's controller does.
func (f *fakeAPI) runSequence(a *whisk.Action, args map[string]any) *whisk.Activation {
	id := f.newID()
	start := f.clock
	seq := &whisk.Activation{Namespace: fakeNamespace, Name: a.Name, Version: a.Version, Subject: fakeNamespace,
		ActivationID: id, Start: start, Logs: []string{}}
	var last *whisk.Activation
	for _, comp := range a.Exec.Components {
		ns, entityName := splitFakeName(comp)
		if ns == "_" {
			ns = fakeNamespace
		}
		c := f.actions[ns+"/"+entityName]
		if c == nil {
			break
		}
		last = f.run(c, args, id)
		seq.Logs = append(seq.Logs, last.ActivationID)
		if last.StatusCode != whisk.StatusSuccess {
			break
		}
		args = nil
		json.Unmarshal(last.Response.Result, &args)
	}
	seq.End = f.clock
	if last != nil {
		seq.End = last.End
		seq.StatusCode, seq.Response = last.StatusCode, last.Response
	} else {
		seq.StatusCode = whisk.StatusDeveloperError
		seq.Response = whisk.NewResponse(seq.StatusCode, whisk.ErrorResult("Sequence component does not exist."))
		seq.Response.Size = 0
	}
	seq.Duration = seq.End - seq.Start
	seq.Annotations = seq.Annotations.Set("topmost", true).Set("path", a.Namespace+"/"+a.Name).
		Set("kind", whisk.KindSequence).Set("limits", map[string]int{"timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1})
	f.activations = append(f.activations, seq)
	return seq
}

func (f *fakeAPI) serveActivations(w http.ResponseWriter, r *http.Request, rest string) {
	q := r.URL.Query()
	if rest == "" {
		docs := q.Get("docs") == "true"
		limit := 30
		if l := q.Get("limit"); l != "" {
			limit, _ = strconv.Atoi(l)
		}
		skip, _ := strconv.Atoi(q.Get("skip"))
		since, _ := strconv.ParseInt(q.Get("since"), 10, 64)
		var out []whisk.Activation
		for i := len(f.activations) - 1; i >= 0; i-- {
			a := f.activations[i]
			if (q.Get("name") != "" && a.Name != q.Get("name")) || a.Start < since {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if len(out) == limit {
				break
			}
			s := *a
			if !docs {
				s = *a.Summary()
			}
			out = append(out, s)
		}
		if out == nil {
			out = []whisk.Activation{}
		}
		writeJSON(w, 200, out)
		return
	}
	id, sub, _ := strings.Cut(rest, "/")
	for _, a := range f.activations {
		if a.ActivationID != id {
			continue
		}
		switch sub {
		case "":
			writeJSON(w, 200, a)
		case "result":
			writeJSON(w, 200, map[string]any{"result": a.Response.Result, "success": a.Response.Success, "status": a.Response.Status})
		case "logs":
			writeJSON(w, 200, map[string]any{"logs": a.Logs})
		default:
			f.fail(w, 404, "The requested resource does not exist.")
		}
		return
	}
	f.fail(w, 404, "The requested resource does not exist.")
}
