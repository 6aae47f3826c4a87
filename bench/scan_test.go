package bench

import (
	"encoding/json"
	"testing"

	"github.com/gust-faas/gust/whisk"
)

func TestScanStart(t *testing.T) {
	tests := []struct {
		name string
		body string
		want int
	}{
		{"compact warm", `{"start":1700000000000,"annotations":[{"key":"path","value":"guest/x"},{"key":"start","value":"warm"}]}`, startWarm},
		{"cold with initTime", `{"annotations":[{"key":"start","value":"cold"},{"key":"initTime","value":41}]}`, startCold},
		{"prewarmed", `{"annotations":[{"key":"initTime","value":3},{"key":"start","value":"prewarmed"}]}`, startPrewarmed},
		{"resumed", `{"annotations":[{"key":"start","value":"resumed"}]}`, startResumed},
		{"indented", "{\n  \"annotations\": [\n    {\n      \"key\" : \"start\",\n      \"value\" : \"cold\"\n    }\n  ]\n}", startCold},
		{"unknown value", `{"annotations":[{"key":"start","value":"teleported"}]}`, startOther},
		{"stock OpenWhisk cold: initTime only", `{"start":1,"annotations":[{"key":"waitTime","value":5},{"key":"initTime","value":50}]}`, startCold},
		{"stock OpenWhisk warm: neither", `{"start":1,"annotations":[{"key":"waitTime","value":5}]}`, startNone},
		{"decoy: start as a value elsewhere", `{"response":{"result":{"msg":"start"}},"annotations":[{"key":"start","value":"warm"}]}`, startWarm},
		{"decoy: key start with a number", `{"annotations":[{"key":"start","value":3}]}`, startNone},
		{"empty", ``, startNone},
		{"truncated", `{"annotations":[{"key":"start","value":"wa`, startNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scanStart([]byte(tt.body)); got != tt.want {
				t.Errorf("scanStart = %s, want %s", startNames[got], startNames[tt.want])
			}
		})
	}
}

// TestScanStartOnRecord scans a record as encoding/json writes it.
func TestScanStartOnRecord(t *testing.T) {
	for _, kind := range []string{"warm", "cold", "prewarmed", "resumed"} {
		a := whisk.Activation{Namespace: "guest", Name: "x", Start: 5, Response: whisk.NewResponse(0, json.RawMessage(`{}`))}
		a.Annotations = a.Annotations.Set(whisk.AnnPath, "guest/x").Set(whisk.AnnStart, kind).Set(whisk.AnnWaitTime, 3)
		b, err := json.Marshal(&a)
		if err != nil {
			t.Fatal(err)
		}
		if got := startNames[scanStart(b)]; got != kind {
			t.Errorf("record with start %q scanned as %q: %s", kind, got, b)
		}
	}
}

func TestStartCounts(t *testing.T) {
	var s startCounts
	s[startWarm] = 10
	s[startCold] = 2
	s[startPrewarmed] = 3
	if s.Inits() != 5 {
		t.Errorf("Inits = %d, want 5", s.Inits())
	}
	m := s.Map()
	if len(m) != 3 || m["warm"] != 10 || m["cold"] != 2 || m["prewarmed"] != 3 {
		t.Errorf("Map = %v", m)
	}
}
