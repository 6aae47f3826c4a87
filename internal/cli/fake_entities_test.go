package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/whisk"
)

// The fake's packages, triggers and rules, as OpenWhisk's controller serves
// them: a package GET lists its actions and feeds, a package list carries
// "binding": false, a trigger GET lists its rules, a rule GET names its
// trigger and action as {"name", "path"}, a rule list has no status, and a
// fire answers 202 with a trigger activation when a rule is active, else 204.

const fakeUpdated = 1700000000000

// addPackage stores a package; binding is "/ns/pkg" for a binding, or "".
func (f *fakeAPI) addPackage(name string, publish bool, binding string) *client.Package {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns, entityName := splitFakeName(name)
	p := &client.Package{Namespace: ns, Name: entityName, Version: "0.0.1", Publish: publish, Binding: &client.Binding{}, Updated: fakeUpdated}
	if binding != "" {
		bns, bname := splitFakeName(binding)
		p.Binding = &client.Binding{Namespace: bns, Name: bname}
	}
	f.packages[ns+"/"+entityName] = p
	return p
}

// addTrigger stores a trigger; feed is the feed action's name, or "".
func (f *fakeAPI) addTrigger(name, feed string) *client.Trigger {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns, entityName := splitFakeName(name)
	t := &client.Trigger{Namespace: ns, Name: entityName, Version: "0.0.1", Limits: json.RawMessage(`{}`), Updated: fakeUpdated}
	if feed != "" {
		t.Annotations = t.Annotations.Set(client.FeedAnnotation, feed)
	}
	f.triggers[ns+"/"+entityName] = t
	return t
}

// addRule stores a rule between two qualified names ("/ns/t", "/ns/a").
func (f *fakeAPI) addRule(name, trigger, action, status string) *client.Rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns, entityName := splitFakeName(name)
	r := &client.Rule{Namespace: ns, Name: entityName, Version: "0.0.1", Status: status,
		Trigger: fakeRef(trigger), Action: fakeRef(action), Updated: fakeUpdated}
	f.rules[ns+"/"+entityName] = r
	return r
}

// fakeRef resolves a qualified name ("/_/t", "/ns/pkg/a", "t") to a ref.
func fakeRef(name string) client.EntityRef {
	ns, entityName := splitFakeName(name)
	if ns == "_" {
		ns = fakeNamespace
	}
	path, n := ns, entityName
	if pkg, rest, ok := strings.Cut(entityName, "/"); ok {
		path, n = ns+"/"+pkg, rest
	}
	return client.EntityRef{Path: path, Name: n}
}

func (f *fakeAPI) notFound(w http.ResponseWriter) {
	f.fail(w, 404, "The requested resource does not exist.")
}

// decodePut decodes a PUT body into v, answering 400 when it is malformed.
func (f *fakeAPI) decodePut(w http.ResponseWriter, body []byte, v any) bool {
	if err := json.Unmarshal(body, v); err != nil {
		f.fail(w, 400, "The request content was malformed:\n"+err.Error())
		return false
	}
	return true
}

// sortedKeys returns the keys of m under prefix "ns/", sorted.
func sortedKeys[V any](m map[string]V, ns string) []string {
	var keys []string
	for k := range m {
		if strings.HasPrefix(k, ns+"/") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// fakePackageAction is an action as a package GET lists it.
type fakePackageAction struct {
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Annotations whisk.KeyValues `json:"annotations"`
}

func (f *fakeAPI) servePackages(w http.ResponseWriter, r *http.Request, ns, name string, body []byte) {
	if name == "" {
		out := []map[string]any{}
		for _, k := range sortedKeys(f.packages, ns) {
			p := f.packages[k]
			var binding any = false
			if p.IsBinding() {
				binding = p.Binding
			}
			out = append(out, map[string]any{"namespace": p.Namespace, "name": p.Name, "version": p.Version,
				"publish": p.Publish, "annotations": nonNil(p.Annotations), "binding": binding, "updated": p.Updated})
		}
		writeJSON(w, 200, out)
		return
	}
	if name == "refresh" && r.Method == http.MethodPost {
		if f.refresh == nil {
			f.notFound(w)
			return
		}
		writeJSON(w, 200, f.refresh)
		return
	}
	key := ns + "/" + name
	p := f.packages[key]
	switch r.Method {
	case http.MethodGet:
		if p == nil {
			f.notFound(w)
			return
		}
		out := struct {
			*client.Package
			Actions []fakePackageAction `json:"actions"`
			Feeds   []fakePackageAction `json:"feeds"`
		}{Package: p, Actions: []fakePackageAction{}, Feeds: []fakePackageAction{}}
		if !p.IsBinding() {
			for _, k := range sortedKeys(f.actions, ns) {
				if a := f.actions[k]; a.Namespace == ns+"/"+name {
					pa := fakePackageAction{Name: a.Name, Version: a.Version, Annotations: nonNil(a.Annotations)}
					if a.Annotations.Get("feed") != nil {
						out.Feeds = append(out.Feeds, pa)
					} else {
						out.Actions = append(out.Actions, pa)
					}
				}
			}
		}
		writeJSON(w, 200, out)
	case http.MethodPut:
		var put client.PackagePut
		if !f.decodePut(w, body, &put) {
			return
		}
		if p != nil && r.URL.Query().Get("overwrite") != "true" {
			f.fail(w, 409, "resource already exists")
			return
		}
		if put.Binding != nil {
			bns := put.Binding.Namespace
			if bns == "_" {
				bns = fakeNamespace
			}
			if f.packages[bns+"/"+put.Binding.Name] == nil {
				f.fail(w, 400, "Binding references a package that does not exist.")
				return
			}
			put.Binding = &client.Binding{Namespace: bns, Name: put.Binding.Name}
		}
		if p == nil {
			p = &client.Package{Namespace: ns, Name: name, Version: "0.0.1", Binding: &client.Binding{}, Updated: fakeUpdated}
			f.packages[key] = p
		} else {
			p.Version = whisk.NextVersion(p.Version)
		}
		if put.Parameters != nil {
			p.Parameters = put.Parameters
		}
		if put.Annotations != nil {
			p.Annotations = put.Annotations
		}
		if put.Publish != nil {
			p.Publish = *put.Publish
		}
		if put.Binding != nil {
			p.Binding = put.Binding
		}
		writeJSON(w, 200, p)
	case http.MethodDelete:
		if p == nil {
			f.notFound(w)
			return
		}
		var inside []string
		for k, a := range f.actions {
			if a.Namespace == ns+"/"+name {
				inside = append(inside, k)
			}
		}
		if len(inside) > 0 && r.URL.Query().Get("force") != "true" {
			f.fail(w, 409, fmt.Sprintf("Package not empty (contains %d entity). Set force param or delete package contents.", len(inside)))
			return
		}
		for _, k := range inside {
			delete(f.actions, k)
		}
		delete(f.packages, key)
		writeJSON(w, 200, p)
	default:
		f.fail(w, 405, "Method not allowed.")
	}
}

func nonNil(kvs whisk.KeyValues) whisk.KeyValues {
	if kvs == nil {
		return whisk.KeyValues{}
	}
	return kvs
}

func (f *fakeAPI) serveTriggers(w http.ResponseWriter, r *http.Request, ns, name string, body []byte) {
	if name == "" {
		out := []map[string]any{}
		for _, k := range sortedKeys(f.triggers, ns) {
			t := f.triggers[k]
			out = append(out, map[string]any{"namespace": t.Namespace, "name": t.Name, "version": t.Version,
				"publish": t.Publish, "annotations": nonNil(t.Annotations), "updated": t.Updated})
		}
		writeJSON(w, 200, out)
		return
	}
	key := ns + "/" + name
	t := f.triggers[key]
	switch r.Method {
	case http.MethodGet:
		if t == nil {
			f.notFound(w)
			return
		}
		out := *t
		for _, rk := range sortedKeys(f.rules, ns) {
			if rule := f.rules[rk]; rule.Trigger == (client.EntityRef{Path: ns, Name: name}) {
				if out.Rules == nil {
					out.Rules = map[string]client.TriggerRule{}
				}
				out.Rules[rk] = client.TriggerRule{Action: rule.Action, Status: rule.Status}
			}
		}
		writeJSON(w, 200, &out)
	case http.MethodPut:
		var put client.TriggerPut
		if !f.decodePut(w, body, &put) {
			return
		}
		if t != nil && r.URL.Query().Get("overwrite") != "true" {
			f.fail(w, 409, "resource already exists")
			return
		}
		if t == nil {
			t = &client.Trigger{Namespace: ns, Name: name, Version: "0.0.1", Limits: json.RawMessage(`{}`), Updated: fakeUpdated}
			f.triggers[key] = t
		} else {
			t.Version = whisk.NextVersion(t.Version)
		}
		if put.Parameters != nil {
			t.Parameters = put.Parameters
		}
		if put.Annotations != nil {
			t.Annotations = put.Annotations
		}
		writeJSON(w, 200, t)
	case http.MethodDelete:
		if t == nil {
			f.notFound(w)
			return
		}
		delete(f.triggers, key)
		writeJSON(w, 200, t)
	case http.MethodPost:
		if t == nil {
			f.notFound(w)
			return
		}
		f.fire(w, t, body)
	default:
		f.fail(w, 405, "Method not allowed.")
	}
}

// fire runs the actions of the trigger's active rules and records the
// trigger's activation, whose logs list them.
func (f *fakeAPI) fire(w http.ResponseWriter, t *client.Trigger, body []byte) {
	var payload map[string]any
	if err := json.Unmarshal(body, &payload); err != nil {
		f.fail(w, 400, "The request content was malformed")
		return
	}
	args := map[string]any{}
	for _, p := range t.Parameters {
		var v any
		json.Unmarshal(p.Value, &v)
		args[p.Key] = v
	}
	for k, v := range payload {
		args[k] = v
	}
	var active []string
	for _, rk := range sortedKeys(f.rules, t.Namespace) {
		if rule := f.rules[rk]; rule.Status == client.RuleActive && rule.Trigger == (client.EntityRef{Path: t.Namespace, Name: t.Name}) {
			active = append(active, rk)
		}
	}
	if len(active) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	id := f.newID()
	result, _ := json.Marshal(args)
	act := &whisk.Activation{Namespace: fakeNamespace, Name: t.Name, Version: t.Version, Subject: fakeNamespace,
		ActivationID: id, Start: f.clock, End: f.clock, Response: whisk.NewResponse(whisk.StatusSuccess, result)}
	act.Response.Size = 0
	for _, rk := range active {
		rule := f.rules[rk]
		line := map[string]any{"statusCode": 0, "success": true, "rule": rk, "action": rule.Action.Path + "/" + rule.Action.Name}
		if a := f.actions[strings.TrimPrefix(rule.Action.String(), "/")]; a != nil {
			line["activationId"] = f.run(a, args, "").ActivationID
		} else {
			line["statusCode"], line["success"], line["error"] = 1, false, "The requested resource does not exist."
		}
		b, _ := json.Marshal(line)
		act.Logs = append(act.Logs, string(b))
	}
	f.activations = append(f.activations, act)
	writeJSON(w, 202, map[string]string{"activationId": id})
}

func (f *fakeAPI) serveRules(w http.ResponseWriter, r *http.Request, ns, name string, body []byte) {
	if name == "" {
		out := []map[string]any{}
		for _, k := range sortedKeys(f.rules, ns) {
			rule := f.rules[k]
			out = append(out, map[string]any{"namespace": rule.Namespace, "name": rule.Name, "version": rule.Version,
				"publish": rule.Publish, "annotations": nonNil(rule.Annotations), "updated": rule.Updated})
		}
		writeJSON(w, 200, out)
		return
	}
	key := ns + "/" + name
	rule := f.rules[key]
	switch r.Method {
	case http.MethodGet:
		if rule == nil {
			f.notFound(w)
			return
		}
		writeJSON(w, 200, rule)
	case http.MethodPut:
		var put client.RulePut
		if !f.decodePut(w, body, &put) {
			return
		}
		if rule != nil && r.URL.Query().Get("overwrite") != "true" {
			f.fail(w, 409, "resource already exists")
			return
		}
		trigger, action := fakeRef(put.Trigger), fakeRef(put.Action)
		if f.triggers[strings.TrimPrefix(trigger.String(), "/")] == nil || f.actions[strings.TrimPrefix(action.String(), "/")] == nil {
			f.notFound(w)
			return
		}
		if rule == nil {
			rule = &client.Rule{Namespace: ns, Name: name, Version: "0.0.1", Status: client.RuleActive, Updated: fakeUpdated}
			f.rules[key] = rule
		} else {
			rule.Version = whisk.NextVersion(rule.Version)
		}
		rule.Trigger, rule.Action = trigger, action
		writeJSON(w, 200, rule)
	case http.MethodPost:
		if rule == nil {
			f.notFound(w)
			return
		}
		var st struct {
			Status string `json:"status"`
		}
		if !f.decodePut(w, body, &st) {
			return
		}
		if st.Status != client.RuleActive && st.Status != client.RuleInactive {
			f.fail(w, 400, "status must be active or inactive")
			return
		}
		rule.Status = st.Status
		writeJSON(w, 200, map[string]any{})
	case http.MethodDelete:
		if rule == nil {
			f.notFound(w)
			return
		}
		delete(f.rules, key)
		writeJSON(w, 200, rule)
	default:
		f.fail(w, 405, "Method not allowed.")
	}
}
