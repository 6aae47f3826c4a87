package entity_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/gust-faas/gust/internal/entity"
	"github.com/gust-faas/gust/whisk"
)

var errMissing = errors.New("not found")

// docs is a loader over documents in memory: the logic under test is
// resolution, not reading.
type docs struct {
	pkgs    map[entity.Ref]*entity.PackageDoc
	actions map[string]*whisk.Action // "ns/name"
}

func (d *docs) loader() entity.Loader[*entity.PackageDoc] {
	return entity.Loader[*entity.PackageDoc]{
		Package: func(_ context.Context, ns, name string) (*entity.PackageDoc, error) {
			if p := d.pkgs[entity.Ref{Namespace: ns, Name: name}]; p != nil {
				return p, nil
			}
			return nil, fmt.Errorf("package /%s/%s: %w", ns, name, errMissing)
		},
		Action: func(_ context.Context, ns, name string) (*whisk.Action, error) {
			if a := d.actions[ns+"/"+name]; a != nil {
				return a, nil
			}
			return nil, fmt.Errorf("action /%s/%s: %w", ns, name, errMissing)
		},
	}
}

func params(kv ...string) whisk.KeyValues {
	var out whisk.KeyValues
	for i := 0; i < len(kv); i += 2 {
		out = out.Set(kv[i], kv[i+1])
	}
	return out
}

func pkg(ns, name string, publish bool, bound string, p whisk.KeyValues) *entity.PackageDoc {
	d := &entity.PackageDoc{Namespace: ns, Name: name, Publish: publish, Parameters: p}
	if bound != "" {
		f, _ := whisk.ParseFQN(bound, ns)
		d.Binding = entity.Ref{Namespace: f.Namespace, Name: f.Name}
	}
	return d
}

func newDocs() *docs {
	d := &docs{pkgs: map[entity.Ref]*entity.PackageDoc{}, actions: map[string]*whisk.Action{}}
	for _, p := range []*entity.PackageDoc{
		pkg("lib", "math", true, "", params("a", "pkg", "b", "pkg", "c", "pkg")),
		pkg("lib", "private", false, "", nil),
		pkg(whisk.SystemNamespace, "utils", false, "", nil),
		pkg("guest", "mine", false, "/lib/math", params("b", "binding")),
		pkg("guest", "outer", false, "mine", params("c", "outer")), // a binding of a binding
		pkg("guest", "peek", false, "/lib/private", nil),
		pkg("guest", "gone", false, "/lib/deleted", nil),
		pkg("guest", "dangling", false, "deleted", nil),
		pkg("guest", "self", false, "self", nil),
		pkg("guest", "ping", false, "pong", nil),
		pkg("guest", "pong", false, "ping", nil),
		pkg("guest", "sys", false, "/whisk.system/utils", nil),
	} {
		d.pkgs[p.Ref()] = p
	}
	for _, name := range []string{"guest/hello", "lib/math/add", "lib/private/x", "whisk.system/utils/echo"} {
		d.actions[name] = &whisk.Action{Name: name, Parameters: params("c", "action")}
	}
	return d
}

func TestResolveAction(t *testing.T) {
	d := newDocs()
	tests := []struct {
		name, ns, pkg, action string
		wantParams            string // the merged parameters, JSON
		wantPublic            bool
		wantBinding           string // the binding annotation's value
	}{
		{"no package", "guest", "", "hello", `[{"key":"c","value":"action"}]`, false, ""},
		{"package", "lib", "math", "add", `[{"key":"a","value":"pkg"},{"key":"b","value":"pkg"},{"key":"c","value":"action"}]`, true, ""},
		{"binding over package", "guest", "mine", "add", `[{"key":"a","value":"pkg"},{"key":"b","value":"binding"},{"key":"c","value":"action"}]`, false, `"guest/mine"`},
		{"binding of a binding", "guest", "outer", "add", `[{"key":"a","value":"pkg"},{"key":"b","value":"binding"},{"key":"c","value":"action"}]`, false, `"guest/outer"`},
		{"whisk.system is public", "guest", "sys", "echo", `[{"key":"c","value":"action"}]`, false, `"guest/sys"`},
		{"own private package", "lib", "private", "x", `[{"key":"c","value":"action"}]`, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := entity.ResolveAction(context.Background(), d.loader(), tt.ns, tt.pkg, tt.action)
			if err != nil {
				t.Fatalf("ResolveAction: %v", err)
			}
			got, _ := json.Marshal(r.Action.Parameters)
			if string(got) != tt.wantParams {
				t.Errorf("parameters = %s, want %s", got, tt.wantParams)
			}
			if r.Public != tt.wantPublic {
				t.Errorf("public = %v, want %v", r.Public, tt.wantPublic)
			}
			if b := r.Binding.Get(entity.AnnBinding); string(b) != tt.wantBinding {
				t.Errorf("binding annotation = %s, want %s", b, tt.wantBinding)
			}
		})
	}
	// merging never writes the stored action
	if a := d.actions["lib/math/add"]; len(a.Parameters) != 1 {
		t.Errorf("stored action's parameters changed: %v", a.Parameters)
	}
}

func TestResolveErrors(t *testing.T) {
	d := newDocs()
	tests := []struct {
		name, ns, pkg, action string
		want                  error
		chain                 bool   // a *ChainError
		shared                bool   // its Shared
		bound, via            string // its Bound and Via
	}{
		{"missing action", "guest", "", "nope", errMissing, false, false, "", ""},
		{"missing package", "guest", "nope", "x", errMissing, false, false, "", ""},
		{"missing action in a package", "guest", "mine", "nope", errMissing, false, false, "", ""},
		{"another namespace's private package", "guest", "peek", "x", entity.ErrNotShared, true, true, "lib/private", "lib/private"},
		{"another namespace's missing package", "guest", "gone", "x", errMissing, true, true, "lib/deleted", "lib/deleted"},
		{"own missing package", "guest", "dangling", "x", errMissing, true, false, "guest/deleted", "guest/deleted"},
		{"binding to itself", "guest", "self", "x", entity.ErrCircular, true, false, "guest/self", "guest/self"},
		{"binding loop", "guest", "ping", "x", entity.ErrCircular, true, false, "guest/pong", "guest/pong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := entity.ResolveAction(context.Background(), d.loader(), tt.ns, tt.pkg, tt.action)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var ce *entity.ChainError
			if errors.As(err, &ce) != tt.chain {
				t.Fatalf("err = %#v, a ChainError: %v", err, tt.chain)
			}
			if !tt.chain {
				return
			}
			if ce.Shared != tt.shared || ce.Bound.String() != tt.bound || ce.Via.String() != tt.via || ce.Named.String() != tt.ns+"/"+tt.pkg {
				t.Errorf("ChainError{Named %s, Via %s, Bound %s, Shared %v}, want {%s/%s, %s, %s, %v}",
					ce.Named, ce.Via, ce.Bound, ce.Shared, tt.ns, tt.pkg, tt.via, tt.bound, tt.shared)
			}
		})
	}
}

func TestResolvePackage(t *testing.T) {
	d := newDocs()
	rp, err := entity.ResolvePackage(context.Background(), d.loader(), "guest", "outer")
	if err != nil {
		t.Fatal(err)
	}
	if rp.Self.Ref().String() != "guest/outer" || rp.Root.Ref().String() != "lib/math" {
		t.Errorf("self %s, root %s; want guest/outer, lib/math", rp.Self.Ref(), rp.Root.Ref())
	}
	got, _ := json.Marshal(rp.Params)
	if want := `[{"key":"a","value":"pkg"},{"key":"b","value":"binding"},{"key":"c","value":"outer"}]`; string(got) != want {
		t.Errorf("params = %s, want %s", got, want)
	}
}

func TestPublic(t *testing.T) {
	tests := []struct {
		doc  *entity.PackageDoc
		want bool
	}{
		{pkg("lib", "p", true, "", nil), true},
		{pkg("lib", "p", false, "", nil), false},
		{pkg(whisk.SystemNamespace, "p", false, "", nil), true},
		{pkg("lib", "b", true, "/lib/p", nil), false}, // a binding is never shared
	}
	for _, tt := range tests {
		if got := entity.Public(tt.doc); got != tt.want {
			t.Errorf("Public(%+v) = %v, want %v", tt.doc, got, tt.want)
		}
	}
}
