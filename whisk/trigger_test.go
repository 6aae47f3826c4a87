package whisk

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestEntityRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want EntityRef
		fqn  FQN
	}{
		{`{"path":"guest","name":"t"}`, EntityRef{Path: "guest", Name: "t"}, FQN{Namespace: "guest", Name: "t"}},
		{`{"path":"guest/pkg","name":"a"}`, EntityRef{Path: "guest/pkg", Name: "a"}, FQN{Namespace: "guest", Package: "pkg", Name: "a"}},
		{`{"namespace":"whisk.system","name":"alarms"}`, EntityRef{Path: "whisk.system", Name: "alarms"}, FQN{Namespace: "whisk.system", Name: "alarms"}},
		{`"/guest/pkg/a"`, EntityRef{Path: "guest/pkg", Name: "a"}, FQN{Namespace: "guest", Package: "pkg", Name: "a"}},
		{`"guest/t"`, EntityRef{Path: "guest", Name: "t"}, FQN{Namespace: "guest", Name: "t"}},
	} {
		var r EntityRef
		if err := json.Unmarshal([]byte(tc.in), &r); err != nil || r != tc.want {
			t.Errorf("decode %s = %+v, %v; want %+v", tc.in, r, err, tc.want)
			continue
		}
		if f, err := r.FQN(); err != nil || f != tc.fqn {
			t.Errorf("%+v.FQN() = %+v, %v; want %+v", r, f, err, tc.fqn)
		}
		if Ref(tc.fqn) != tc.want {
			t.Errorf("Ref(%+v) = %+v, want %+v", tc.fqn, Ref(tc.fqn), tc.want)
		}
	}
	var r EntityRef
	if err := json.Unmarshal([]byte(`"t"`), &r); !errors.Is(err, ErrBadName) {
		t.Errorf("a bare name decoded: %+v, %v", r, err)
	}
	for _, bad := range []EntityRef{{Name: "t"}, {Path: "a/b/c", Name: "t"}, {Path: "guest", Name: "a b "}} {
		if _, err := bad.FQN(); err == nil {
			t.Errorf("%+v.FQN() succeeded", bad)
		}
	}
	if s := (EntityRef{Path: "guest/pkg", Name: "a"}).String(); s != "guest/pkg/a" {
		t.Errorf("String() = %q", s)
	}
	out, _ := json.Marshal(Trigger{Namespace: "guest", Name: "t"})
	if want := `{"namespace":"guest","name":"t","version":"","publish":false,"parameters":null,"annotations":null,"limits":{},"updated":0}`; string(out) != want {
		t.Errorf("trigger JSON %s, want %s", out, want)
	}
	if _, err := CanonicalKind(KindBuiltin); err == nil {
		t.Error("the builtin kind is an alias users could create")
	}
}
