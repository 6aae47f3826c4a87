package entity_test

import (
	"encoding/json"
	"testing"

	"github.com/gust-faas/gust/internal/entity"
	"github.com/gust-faas/gust/whisk"
)

func TestEncodeParams(t *testing.T) {
	tests := []struct {
		name    string
		params  whisk.KeyValues
		args    string
		defined []bool
	}{
		{"none", nil, `{}`, nil},
		{"init left out", whisk.KeyValues{{Key: "e", Value: json.RawMessage(`"x"`), Init: true}}, `{}`, nil},
		{"in order", whisk.KeyValues{{Key: "a", Value: json.RawMessage(`1`)}, {Key: "b", Value: json.RawMessage(`{"c":[true]}`)}},
			`{"a":1,"b":{"c":[true]}}`, []bool{true, true}},
		{"last wins in place", whisk.KeyValues{{Key: "a", Value: json.RawMessage(`1`)}, {Key: "b", Value: json.RawMessage(`2`)}, {Key: "a", Value: json.RawMessage(`3`)}},
			`{"a":3,"b":2}`, []bool{true, true}},
		{"null and missing", whisk.KeyValues{{Key: "n", Value: json.RawMessage(`null`)}, {Key: "m"}},
			`{"n":null,"m":null}`, []bool{false, false}},
		{"key escaped", whisk.KeyValues{{Key: `q"k`, Value: json.RawMessage(`"v"`)}}, `{"q\"k":"v"}`, []bool{true}},
	}
	for _, tt := range tests {
		p := entity.EncodeParams(tt.params)
		if string(p.Args) != tt.args {
			t.Errorf("%s: args %s, want %s", tt.name, p.Args, tt.args)
		}
		if !json.Valid(p.Args) {
			t.Errorf("%s: args %s are not JSON", tt.name, p.Args)
		}
		if len(p.Members) != len(tt.defined) {
			t.Fatalf("%s: %d members, want %d", tt.name, len(p.Members), len(tt.defined))
		}
		for i, m := range p.Members {
			if m.Defined != tt.defined[i] {
				t.Errorf("%s: member %s defined %v, want %v", tt.name, m.Key, m.Defined, tt.defined[i])
			}
		}
	}
}
