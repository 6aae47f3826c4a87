package whisk

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"hello": true, "a": true, "with space.ok": true, "mail@x.com": true, "ends-": true,
		"": false, " lead": false, "trail ": false, "slash/no": false, "-lead": false,
		strings.Repeat("x", MaxNameLength): true, strings.Repeat("x", MaxNameLength+1): false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestParseFQN(t *testing.T) {
	tests := []struct {
		in, ns string
		want   FQN
		err    bool
	}{
		{"hello", "guest", FQN{"guest", "", "hello"}, false},
		{"pkg/hello", "guest", FQN{"guest", "pkg", "hello"}, false},
		{"/other/hello", "guest", FQN{"other", "", "hello"}, false},
		{"/other/pkg/hello", "guest", FQN{"other", "pkg", "hello"}, false},
		{"/_/hello", "guest", FQN{"guest", "", "hello"}, false},
		{"a/b/c", "guest", FQN{}, true},
		{"/only", "guest", FQN{}, true},
		{"/a/b/c/d", "guest", FQN{}, true},
		{"bad name ", "guest", FQN{}, true},
	}
	for _, tt := range tests {
		got, err := ParseFQN(tt.in, tt.ns)
		if tt.err {
			if !errors.Is(err, ErrBadName) {
				t.Errorf("ParseFQN(%q) error = %v, want ErrBadName", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseFQN(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	f := FQN{"guest", "pkg", "a"}
	if f.String() != "/guest/pkg/a" || f.Path() != "guest/pkg/a" || f.EntityName() != "pkg/a" {
		t.Errorf("FQN forms: %s %s %s", f.String(), f.Path(), f.EntityName())
	}
}

func TestLimits(t *testing.T) {
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	bad := []Limits{
		{Timeout: 99, Memory: 256, Logs: 10, Concurrency: 1},
		{Timeout: 1000, Memory: 64, Logs: 10, Concurrency: 1},
		{Timeout: 1000, Memory: 256, Logs: 11, Concurrency: 1},
		{Timeout: 1000, Memory: 256, Logs: 10, Concurrency: 0},
	}
	for _, l := range bad {
		if err := l.Validate(); !errors.Is(err, ErrBadLimits) {
			t.Errorf("%+v: %v, want ErrBadLimits", l, err)
		}
	}
}

func TestNextVersion(t *testing.T) {
	for in, want := range map[string]string{"0.0.1": "0.0.2", "1.2.9": "1.2.10", "": "0.0.1", "x.y.z": "0.0.1"} {
		if got := NextVersion(in); got != want {
			t.Errorf("NextVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKeyValues(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	base := KeyValues{{Key: "a", Value: raw(`1`)}, {Key: "secret", Value: raw(`"s3"`), Init: true}, {Key: "conf", Value: raw(`{"x":1}`), Init: true}}
	merged := base.Merge(KeyValues{{Key: "a", Value: raw(`2`)}, {Key: "b", Value: raw(`true`)}})
	if got := string(merged.Get("a")); got != "2" || string(merged.Get("b")) != "true" || string(base.Get("a")) != "1" {
		t.Errorf("merge: a=%s b=%s, base a=%s", got, merged.Get("b"), base.Get("a"))
	}
	if args := merged.Args(); len(args) != 2 || args["secret"] != nil {
		t.Errorf("Args must leave init parameters out: %v", args)
	}
	if env := base.InitEnv(); !reflect.DeepEqual(env, map[string]string{"secret": "s3", "conf": `{"x":1}`}) {
		t.Errorf("InitEnv = %v", env)
	}
	ann := KeyValues{}.Set("web-export", true).Set("n", 0).Set("s", "false")
	if !ann.Bool("web-export") || ann.Bool("n") || ann.Bool("s") || ann.Bool("missing") {
		t.Errorf("Bool misreads %s", mustJSON(ann))
	}
	if ann = ann.Delete("n"); ann.Get("n") != nil || len(ann) != 2 {
		t.Errorf("Delete: %s", mustJSON(ann))
	}
}

func TestCanonicalKind(t *testing.T) {
	for in, want := range map[string]string{"nodejs:default": KindNode, "python:3": KindPython, "go": KindGo, "blackbox": KindBlackbox} {
		if got, err := CanonicalKind(in); err != nil || got != want {
			t.Errorf("CanonicalKind(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := CanonicalKind("java:8"); !errors.Is(err, ErrBadKind) {
		t.Errorf("java:8: %v, want ErrBadKind", err)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
