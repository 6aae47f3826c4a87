package gateway

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gust-faas/gust/whisk"
)

// referenceMerge is what mergeArgs must equal: decode both sides, let the
// request win key by key.
func referenceMerge(t testing.TB, params whisk.KeyValues, body []byte) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, p := range params {
		if p.Init {
			continue
		}
		var v any
		if err := json.Unmarshal(p.Value, &v); err != nil {
			t.Fatalf("parameter %s: %v", p.Key, err)
		}
		out[p.Key] = v
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	for k, v := range req {
		out[k] = v
	}
	return out
}

var mergeParams = whisk.KeyValues{}.
	Set("a", 1).
	Set("b", map[string]any{"nested": []any{"x", "}", "]"}}).
	Set("quote\"key", "v").
	Set("ü", true)

var mergeBodies = []string{
	`{}`,
	` { } `,
	`{"a":2}`,
	`{"a" : 2 , "c" : 3}`,
	`{"b":null}`,
	`{"c":"a \"quoted\" } ] , string"}`,
	`{"c":{"d":[1,{"e":"]"},[[]]]},"a":-1.5e3}`,
	`{"\u0061":"escaped a"}`,
	`{"quote\"key":"replaced"}`,
	`{"\u00fc":false}`,
	`{"ü":false}`,
	`{"x":true,"y":false,"z":null}`,
	`{"a":1,"a":2}`,
	"{\n\t\"a\": [\n1,\n2\n]\n}",
}

func TestMergeArgsMatchesDecoding(t *testing.T) {
	ca := newCachedAction(&whisk.Action{Parameters: append(mergeParams, whisk.KeyValue{Key: "init", Value: json.RawMessage(`"e"`), Init: true})})
	for _, body := range mergeBodies {
		got, err := ca.mergeArgs([]byte(body))
		if err != nil {
			t.Errorf("mergeArgs(%s): %v", body, err)
			continue
		}
		var gotMap map[string]any
		if err := json.Unmarshal(got, &gotMap); err != nil {
			t.Errorf("mergeArgs(%s) = %s: not a JSON object: %v", body, got, err)
			continue
		}
		if want := referenceMerge(t, mergeParams, []byte(body)); !reflect.DeepEqual(gotMap, want) {
			t.Errorf("mergeArgs(%s) = %s, want %v", body, got, want)
		}
	}
}

func TestMergeArgsRejects(t *testing.T) {
	ca := newCachedAction(&whisk.Action{Parameters: mergeParams})
	tests := map[string]error{
		`{"a":`:   errMalformed,
		`{"a" 1}`: errMalformed,
		`{a:1}`:   errMalformed,
		`nul`:     errMalformed,
		`1`:       errNotObject,
		`"s"`:     errNotObject,
		`true`:    errNotObject,
	}
	for body, want := range tests {
		if _, err := ca.mergeArgs([]byte(body)); err != want {
			t.Errorf("mergeArgs(%s): %v, want %v", body, err, want)
		}
	}
}

// FuzzMergeArgs checks mergeArgs against decoding for any object body.
func FuzzMergeArgs(f *testing.F) {
	for _, b := range mergeBodies {
		f.Add(b)
	}
	ca := newCachedAction(&whisk.Action{Parameters: mergeParams})
	f.Fuzz(func(t *testing.T, body string) {
		var obj map[string]any
		if json.Unmarshal([]byte(body), &obj) != nil || obj == nil {
			return // only objects merge
		}
		got, err := ca.mergeArgs([]byte(body))
		if err != nil {
			t.Fatalf("mergeArgs(%q): %v", body, err)
		}
		var gotMap map[string]any
		if err := json.Unmarshal(got, &gotMap); err != nil {
			t.Fatalf("mergeArgs(%q) = %s: %v", body, got, err)
		}
		if want := referenceMerge(t, mergeParams, []byte(body)); !reflect.DeepEqual(gotMap, want) {
			t.Fatalf("mergeArgs(%q) = %s, want %v", body, got, want)
		}
	})
}
