package whisk

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestActivationAppendJSON: AppendJSON writes what encoding/json writes
// (HTML escaping off) for records with and without the optional fields,
// empty and nil lists, and strings that need escaping.
func TestActivationAppendJSON(t *testing.T) {
	full := Activation{
		Namespace: "guest", Name: "hello", Version: "0.0.1", Subject: "guest",
		ActivationID: "01a20113dc257e8d8b9011873b6cfb44", Start: 1795310866609, End: 1795310867609,
		Duration: 1000, StatusCode: StatusApplicationError, Publish: true, Cause: "c0ffee",
		Response: NewResponse(StatusApplicationError, json.RawMessage(`{"error":"<b>\"boom\"</b> é\u2028"}`)),
		Logs:     []string{"2026-11-22T02:26:48.1Z stdout: tab\there \"quoted\" <tag> & \x01 ✓", ""},
		Annotations: KeyValues{
			{Key: "path", Value: json.RawMessage(`"guest/hello"`)},
			{Key: "limits", Value: json.RawMessage(`{"timeout":60000,"memory":256}`), Init: true},
			{Key: "empty"},
		},
	}
	bare := Activation{Namespace: "ns", ActivationID: "x"}
	emptyLists := Activation{Logs: []string{}, Annotations: KeyValues{}, Response: NewResponse(StatusSuccess, nil)}
	invalidUTF8 := Activation{Name: "a\xffb", Logs: []string{"\xc3"}}
	for name, a := range map[string]Activation{"full": full, "bare": bare, "empty lists": emptyLists, "invalid utf-8": invalidUTF8} {
		t.Run(name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(&a); err != nil {
				t.Fatal(err)
			}
			got := a.AppendJSON(nil)
			if string(got)+"\n" != want.String() {
				t.Fatalf("AppendJSON:\n%s\nencoding/json:\n%s", got, want.String())
			}
		})
	}
}

func BenchmarkActivationJSON(b *testing.B) {
	a := Activation{Namespace: "guest", Name: "noop", Version: "0.0.1", Subject: "guest",
		ActivationID: "01a20113dc257e8d8b9011873b6cfb44", Start: 1795310866609, End: 1795310866610, Duration: 1,
		Response:    NewResponse(StatusSuccess, json.RawMessage(`{"payload":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)),
		Logs:        []string{},
		Annotations: KeyValues{{Key: "path", Value: json.RawMessage(`"guest/noop"`)}, {Key: "waitTime", Value: json.RawMessage(`0`)}, {Key: "kind", Value: json.RawMessage(`"nodejs:20"`)}, {Key: "timeout", Value: json.RawMessage(`false`)}, {Key: "limits", Value: json.RawMessage(`{"timeout":60000,"memory":128,"logs":10,"concurrency":1}`)}}}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = a.AppendJSON(buf[:0])
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(&a)
		}
	})
}
