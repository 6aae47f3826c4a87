package gateway

import (
	"reflect"
	"testing"

	"github.com/gust-faas/gust/whisk"
)

// TestInvokeSequenceArguments: a sequence's parameters are its components
// (_actions); as in OpenWhisk, the controller gets the request's
// arguments alone, which become the first component's input.
func TestInvokeSequenceArguments(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	h.putAction("a", nodeAction("x"))
	h.putAction("s", map[string]any{"exec": map[string]any{"kind": "sequence", "components": []string{"/_/a", "a"}}})
	for _, tt := range []struct{ body, args string }{
		{`{"n":1}`, `{"n":1}`},
		{``, `{}`},
	} {
		r := h.do("POST", actionsPath+"s", guestAuth, tt.body)
		mustStatus(t, "invoke sequence", r, 202)
		call := h.ctrl.last(t)
		if call.msg.Action.Exec.Kind != whisk.KindSequence || len(call.msg.Action.Exec.Components) != 2 {
			t.Errorf("action exec %+v, want the sequence and its components", call.msg.Action.Exec)
		}
		if got, want := decodeJSON(t, call.msg.Args), decodeJSON(t, []byte(tt.args)); !reflect.DeepEqual(got, want) {
			t.Errorf("body %q: args %s, want %s", tt.body, call.msg.Args, tt.args)
		}
	}
}
