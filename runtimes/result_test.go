package runtimes

import "testing"

func TestCompact(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":1}`, `{"a":1}`},
		{"{ \"greeting\": \"Hello World\" }\n", `{"greeting":"Hello World"}`},
		{"[1,\n\t2 ]", `[1,2]`},
		{`{"s":"  keep  "}`, `{"s":"  keep  "}`},
		{`{"a": `, `{"a": `}, // not JSON: as it is, for the caller to refuse
	}
	for _, tt := range tests {
		if got := string(compact([]byte(tt.in))); got != tt.want {
			t.Errorf("compact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	in := []byte(`{"a":[1,2]}`)
	if out := compact(in); &out[0] != &in[0] {
		t.Error("compact copied a result that had nothing to remove")
	}
}
