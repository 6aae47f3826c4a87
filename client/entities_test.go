package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gust-faas/gust/whisk"
)

// TestEntityRequests checks the method, path, query and body of every
// package, trigger and rule call.
func TestEntityRequests(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Query().Get("count") == "true":
			replyJSON(200, `{"triggers":4}`)(w, r)
		case r.Method == http.MethodGet && !strings.Contains(strings.TrimPrefix(r.URL.Path, "/api/v1/namespaces/"), "s/"):
			replyJSON(200, `[]`)(w, r) // a collection
		case strings.HasSuffix(r.URL.Path, "/refresh"):
			replyJSON(200, `{"added":["a"]}`)(w, r)
		default:
			replyJSON(200, `{"namespace":"guest","name":"x","activationId":"abc"}`)(w, r)
		}
	})
	c := newClient(t, s, "")
	ctx := context.Background()
	yes := true
	params := whisk.KeyValues{{Key: "a", Value: json.RawMessage(`1`)}}
	cases := []struct {
		name                       string
		call                       func() error
		method, path, query, wantB string
	}{
		{"package create", func() error {
			_, err := c.PutPackage(ctx, "utils", &PackagePut{Parameters: params, Publish: &yes}, false)
			return err
		}, "PUT", "/api/v1/namespaces/_/packages/utils", "overwrite=false", `{"parameters":[{"key":"a","value":1}],"publish":true}`},
		{"package bind", func() error {
			_, err := c.PutPackage(ctx, "/other/mine", &PackagePut{Binding: &Binding{Namespace: "whisk.system", Name: "alarms"}}, true)
			return err
		}, "PUT", "/api/v1/namespaces/other/packages/mine", "overwrite=true", `{"binding":{"namespace":"whisk.system","name":"alarms"}}`},
		{"package update nothing", func() error { _, err := c.PutPackage(ctx, "utils", nil, true); return err },
			"PUT", "/api/v1/namespaces/_/packages/utils", "overwrite=true", `{}`},
		{"package get", func() error { _, err := c.GetPackage(ctx, "utils"); return err },
			"GET", "/api/v1/namespaces/_/packages/utils", "", ""},
		{"package delete", func() error { return c.DeletePackage(ctx, "utils", false) },
			"DELETE", "/api/v1/namespaces/_/packages/utils", "", ""},
		{"package delete force", func() error { return c.DeletePackage(ctx, "utils", true) },
			"DELETE", "/api/v1/namespaces/_/packages/utils", "force=true", ""},
		{"package list", func() error { _, err := c.ListPackages(ctx, "", ListOptions{Limit: 30}); return err },
			"GET", "/api/v1/namespaces/_/packages", "limit=30", ""},
		{"package list other", func() error { _, err := c.ListPackages(ctx, "/other", ListOptions{Skip: 2}); return err },
			"GET", "/api/v1/namespaces/other/packages", "skip=2", ""},
		{"package refresh", func() error { _, err := c.RefreshPackages(ctx, ""); return err },
			"POST", "/api/v1/namespaces/_/packages/refresh", "", ""},
		{"trigger create", func() error {
			_, err := c.PutTrigger(ctx, "tick", &TriggerPut{Annotations: whisk.KeyValues{{Key: "feed", Value: json.RawMessage(`"/whisk.system/alarms/alarm"`)}}}, false)
			return err
		}, "PUT", "/api/v1/namespaces/_/triggers/tick", "overwrite=false", `{"annotations":[{"key":"feed","value":"/whisk.system/alarms/alarm"}]}`},
		{"trigger get", func() error { _, err := c.GetTrigger(ctx, "/guest/tick"); return err },
			"GET", "/api/v1/namespaces/guest/triggers/tick", "", ""},
		{"trigger delete", func() error { return c.DeleteTrigger(ctx, "tick") },
			"DELETE", "/api/v1/namespaces/_/triggers/tick", "", ""},
		{"trigger list", func() error { _, err := c.ListTriggers(ctx, "guest", ListOptions{}); return err },
			"GET", "/api/v1/namespaces/guest/triggers", "", ""},
		{"trigger fire", func() error { _, err := c.FireTrigger(ctx, "tick", map[string]int{"n": 1}); return err },
			"POST", "/api/v1/namespaces/_/triggers/tick", "", `{"n":1}`},
		{"trigger fire no payload", func() error { _, err := c.FireTrigger(ctx, "tick", nil); return err },
			"POST", "/api/v1/namespaces/_/triggers/tick", "", `{}`},
		{"rule create", func() error {
			_, err := c.PutRule(ctx, "r", &RulePut{Trigger: "/_/tick", Action: "/_/pkg/hello"}, false)
			return err
		}, "PUT", "/api/v1/namespaces/_/rules/r", "overwrite=false", `{"trigger":"/_/tick","action":"/_/pkg/hello"}`},
		{"rule get", func() error { _, err := c.GetRule(ctx, "r"); return err },
			"GET", "/api/v1/namespaces/_/rules/r", "", ""},
		{"rule delete", func() error { return c.DeleteRule(ctx, "r") },
			"DELETE", "/api/v1/namespaces/_/rules/r", "", ""},
		{"rule list", func() error { _, err := c.ListRules(ctx, "", ListOptions{Skip: 1, Limit: 5}); return err },
			"GET", "/api/v1/namespaces/_/rules", "skip=1&limit=5", ""},
		{"rule disable", func() error { return c.SetRuleState(ctx, "r", RuleInactive) },
			"POST", "/api/v1/namespaces/_/rules/r", "", `{"status":"inactive"}`},
		{"rule enable", func() error { return c.SetRuleState(ctx, "r", RuleActive) },
			"POST", "/api/v1/namespaces/_/rules/r", "", `{"status":"active"}`},
		{"count triggers", func() error { _, err := c.CountEntities(ctx, Triggers, ""); return err },
			"GET", "/api/v1/namespaces/_/triggers", "count=true", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			r, body := s.last(t)
			if r.Method != tc.method || r.URL.EscapedPath() != tc.path || r.URL.RawQuery != tc.query {
				t.Errorf("request = %s %s?%s; want %s %s?%s", r.Method, r.URL.EscapedPath(), r.URL.RawQuery, tc.method, tc.path, tc.query)
			}
			if string(body) != tc.wantB {
				t.Errorf("body = %s; want %s", body, tc.wantB)
			}
			if ct := r.Header.Get("Content-Type"); (len(body) > 0) != (ct == "application/json") {
				t.Errorf("Content-Type = %q with a body of %d bytes", ct, len(body))
			}
		})
	}
}

func TestEntityBadArguments(t *testing.T) {
	s := newServer(t, replyJSON(200, `{}`))
	c := newClient(t, s, "")
	ctx := context.Background()
	if err := c.SetRuleState(ctx, "r", "on"); !errors.Is(err, ErrBadArgument) {
		t.Errorf("SetRuleState(on) error = %v; want ErrBadArgument", err)
	}
	for _, name := range []string{"", "/ns", "a//b"} {
		if _, err := c.GetTrigger(ctx, name); !errors.Is(err, ErrBadName) {
			t.Errorf("GetTrigger(%q) error = %v; want ErrBadName", name, err)
		}
		if _, err := c.FireTrigger(ctx, name, nil); !errors.Is(err, ErrBadName) {
			t.Errorf("FireTrigger(%q) error = %v; want ErrBadName", name, err)
		}
		if err := c.DeleteRule(ctx, name); !errors.Is(err, ErrBadName) {
			t.Errorf("DeleteRule(%q) error = %v; want ErrBadName", name, err)
		}
	}
	if _, err := c.ListPackages(ctx, "/ns/pkg", ListOptions{}); !errors.Is(err, ErrBadName) {
		t.Errorf("ListPackages(/ns/pkg) error = %v; want ErrBadName", err)
	}
	if _, err := c.FireTrigger(ctx, "t", func() {}); err == nil {
		t.Error("FireTrigger with an unencodable payload succeeded")
	}
	if n := len(s.reqs); n != 0 {
		t.Errorf("%d requests sent for bad arguments", n)
	}
}

func TestFireTrigger(t *testing.T) {
	cases := []struct {
		name    string
		h       http.HandlerFunc
		want    string
		wantErr error
	}{
		{"accepted", replyJSON(202, `{"activationId":"0123"}`), "0123", nil},
		{"header wins", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set(ActivationIDHeader, "fromheader")
			replyJSON(202, `{"activationId":"frombody"}`)(w, r)
		}, "fromheader", nil},
		{"no active rule", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }, "", nil},
		{"missing", replyJSON(404, `{"error":"The requested resource does not exist.","code":"x"}`), "", ErrNotFound},
		{"throttled", replyJSON(429, `{"error":"Too many requests","code":"x"}`), "", ErrTooManyRequests},
		{"no id", replyJSON(202, `{}`), "", ErrBadResponse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, newServer(t, tc.h), "")
			id, err := c.FireTrigger(context.Background(), "tick", []byte(`{"a":1}`))
			if id != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("FireTrigger = %q, %v; want %q, %v", id, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestEntityDecoding(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/namespaces/_/packages/utils":
			replyJSON(200, `{"namespace":"guest","name":"utils","version":"0.0.2","publish":true,"binding":{},
				"parameters":[{"key":"p","value":"v"}],
				"actions":[{"name":"date","version":"0.0.1","annotations":[{"key":"exec","value":"nodejs"}]}],
				"feeds":[{"name":"changes","version":"0.0.1"}]}`)(w, r)
		case "/api/v1/namespaces/_/packages":
			replyJSON(200, `[{"namespace":"guest","name":"utils","publish":true,"binding":false},
				{"namespace":"guest","name":"mine","publish":false,"binding":{"namespace":"whisk.system","name":"alarms"}}]`)(w, r)
		case "/api/v1/namespaces/_/packages/mine":
			replyJSON(200, `{"namespace":"guest","name":"mine","publish":false,"binding":{"namespace":"whisk.system","name":"alarms"}}`)(w, r)
		case "/api/v1/namespaces/_/triggers/tick":
			replyJSON(200, `{"namespace":"guest","name":"tick","version":"0.0.1","publish":false,"limits":{},
				"annotations":[{"key":"feed","value":"/whisk.system/alarms/alarm"}],
				"rules":{"guest/every":{"action":{"name":"hello","path":"guest"},"status":"active"}}}`)(w, r)
		case "/api/v1/namespaces/_/rules/every":
			replyJSON(200, `{"namespace":"guest","name":"every","status":"inactive",
				"trigger":{"name":"tick","path":"guest"},"action":{"namespace":"guest/pkg","name":"hello"}}`)(w, r)
		case "/api/v1/namespaces/_/rules/old":
			replyJSON(200, `{"namespace":"guest","name":"old","status":"active","trigger":"/guest/tick","action":"guest/pkg/hello"}`)(w, r)
		default:
			replyJSON(404, `{"error":"The requested resource does not exist.","code":"x"}`)(w, r)
		}
	})
	c := newClient(t, s, "")
	ctx := context.Background()
	p, err := c.GetPackage(ctx, "utils")
	if err != nil || p.IsBinding() || p.Binding == nil || !p.Publish || len(p.Actions) != 1 || p.Actions[0].Name != "date" ||
		p.Actions[0].Annotations.Get("exec") == nil || len(p.Feeds) != 1 || p.Parameters.Get("p") == nil {
		t.Errorf("GetPackage(utils) = %+v, %v", p, err)
	}
	b, err := c.GetPackage(ctx, "mine")
	if err != nil || !b.IsBinding() || *b.Binding != (Binding{Namespace: "whisk.system", Name: "alarms"}) {
		t.Errorf("GetPackage(mine) = %+v, %v", b, err)
	}
	ps, err := c.ListPackages(ctx, "", ListOptions{})
	if err != nil || len(ps) != 2 || ps[0].IsBinding() || !ps[1].IsBinding() || ps[1].Binding.Name != "alarms" {
		t.Errorf("ListPackages = %+v, %v", ps, err)
	}
	tr, err := c.GetTrigger(ctx, "tick")
	if err != nil || tr.Feed() != "/whisk.system/alarms/alarm" || string(tr.Limits) != "{}" ||
		tr.Rules["guest/every"] != (TriggerRule{Action: EntityRef{Path: "guest", Name: "hello"}, Status: RuleActive}) {
		t.Errorf("GetTrigger = %+v, %v", tr, err)
	}
	if (&Trigger{}).Feed() != "" {
		t.Error("a trigger without annotations has a feed")
	}
	for name, want := range map[string][2]string{
		"every": {"/guest/tick", "/guest/pkg/hello"},
		"old":   {"/guest/tick", "/guest/pkg/hello"},
	} {
		r, err := c.GetRule(ctx, name)
		if err != nil || r.Trigger.String() != want[0] || r.Action.String() != want[1] {
			t.Errorf("GetRule(%s) = %+v, %v; want %v", name, r, err, want)
		}
	}
	if _, err := c.GetRule(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetRule(nope) error = %v; want ErrNotFound", err)
	}
	out, err := json.Marshal(EntityRef{Path: "guest", Name: "t"})
	if err != nil || string(out) != `{"path":"guest","name":"t"}` {
		t.Errorf("EntityRef marshals to %s, %v", out, err)
	}
	if (EntityRef{}).String() != "" {
		t.Error("the zero EntityRef has a name")
	}
}
