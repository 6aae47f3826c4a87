package gateway

import "testing"

func TestDumpRoutes(t *testing.T) {
	h := newHarness(t, firstStore(t), Config{})
	for _, r := range h.gw.App().GetRoutes(true) {
		t.Logf("%-7s %s params=%v", r.Method, r.Path, r.Params)
	}
}
