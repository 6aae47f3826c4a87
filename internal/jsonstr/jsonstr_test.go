package jsonstr_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gust-faas/gust/internal/jsonstr"
)

func TestAppend(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`q"b\s/`, `"q\"b\\s/"`},
		{"ctl\x00\x01\x1f\t\n\r", `"ctl\u0000\u0001\u001f\t\n\r"`},
		{"utf8 é ☃ 😀", `"utf8 é ☃ 😀"`},
		{"bad \xff\xfe utf8", `"bad \ufffd\ufffd utf8"`},
		{"cut \xe2\x98", `"cut \ufffd\ufffd"`},
		{"<script>&", `"<script>&"`},
	}
	for _, tt := range tests {
		got := jsonstr.Append([]byte("x:"), tt.in)
		if string(got) != "x:"+tt.want {
			t.Errorf("Append(%q) = %s, want x:%s", tt.in, got, tt.want)
		}
		if b := jsonstr.Append([]byte("x:"), []byte(tt.in)); !bytes.Equal(b, got) {
			t.Errorf("Append([]byte(%q)) = %s, want the string form %s", tt.in, b, got)
		}
	}
}

// TestAppendRoundTrip: what Append writes decodes to what encoding/json
// makes of the same string.
func TestAppendRoundTrip(t *testing.T) {
	for _, s := range []string{"quote\" back\\slash", "ünïcødé ✓ \u2028", "mixed \x7f\x80 \xc3", strings.Repeat("x\"", 500)} {
		var back, want string
		if err := json.Unmarshal(jsonstr.Append(nil, s), &back); err != nil {
			t.Errorf("Append(%q): not JSON: %v", s, err)
			continue
		}
		enc, _ := json.Marshal(s)
		_ = json.Unmarshal(enc, &want)
		if back != want {
			t.Errorf("Append(%q) decodes to %q, want %q", s, back, want)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	s := strings.Repeat("hello, world ", 8) + "é"
	buf := make([]byte, 0, 256)
	b.Run("string", func(b *testing.B) {
		for b.Loop() {
			buf = jsonstr.Append(buf[:0], s)
		}
	})
	bs := []byte(s)
	b.Run("bytes", func(b *testing.B) {
		for b.Loop() {
			buf = jsonstr.Append(buf[:0], bs)
		}
	})
}
