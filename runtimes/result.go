package runtimes

import (
	"bytes"
	"encoding/json"
)

// resultKind is what a /run result is.
type resultKind uint8

const (
	resultOK       resultKind = iota // an object or array without a top-level "error"
	resultAppError                   // an object with a top-level "error" key
	resultInvalid                    // not JSON, or not an object or array
)

// classifyResult tells success, application error and invalid results apart.
// With validate false the caller vouches that res is valid JSON (it comes from
// a launcher that encodes it), and only its shape is checked.
func classifyResult(res []byte, validate bool) resultKind {
	res = bytes.TrimSpace(res)
	if len(res) == 0 || (res[0] != '{' && res[0] != '[') {
		return resultInvalid
	}
	if validate && !json.Valid(res) {
		return resultInvalid
	}
	// Scan the keys only when "error" may be one of them, written plainly or
	// with \u escapes.
	if res[0] == '{' && (bytes.Contains(res, []byte(`"error`)) || bytes.Contains(res, []byte(`\u`))) &&
		hasTopLevelKey(res, "error") {
		return resultAppError
	}
	return resultOK
}

// hasTopLevelKey reports whether the valid JSON object obj has key at its top
// level. It scans without decoding; keys written with escapes are decoded.
func hasTopLevelKey(obj []byte, key string) bool {
	return valueOf(obj, key) >= 0
}

// valueOf returns the offset in obj of the value of key at the top level of
// the JSON object obj starts with (after leading space), or -1. obj is
// assumed valid; long strings are skipped at memchr speed.
func valueOf(obj []byte, key string) int {
	depth := 0
	expectKey, match := false, false
	for i := 0; i < len(obj); i++ {
		switch c := obj[i]; c {
		case '{':
			depth++
			expectKey = depth == 1
		case '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return -1
			}
		case ',':
			expectKey = depth == 1
		case ':':
			if match {
				i++
				for i < len(obj) && (obj[i] == ' ' || obj[i] == '\t' || obj[i] == '\n' || obj[i] == '\r') {
					i++
				}
				return i
			}
		case '"':
			j := stringEnd(obj, i)
			if j < 0 {
				return -1
			}
			if expectKey {
				s := obj[i+1 : j]
				if bytes.IndexByte(s, '\\') >= 0 {
					var dec string
					match = json.Unmarshal(obj[i:j+1], &dec) == nil && dec == key
				} else {
					match = string(s) == key
				}
				expectKey = false
			}
			i = j
		}
	}
	return -1
}

// stringEnd returns the offset of the quote closing the JSON string that
// opens at b[open], or -1.
func stringEnd(b []byte, open int) int {
	for i := open + 1; i < len(b); {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return -1
		}
		q += i
		n := 0 // backslashes right before the quote
		for k := q - 1; k > open && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q
		}
		i = q + 1
	}
	return -1
}

// compact returns a JSON result without insignificant whitespace: records
// carry results as they are (whisk.Activation.AppendJSON), and a runtime
// other than Gust's launchers (a native executable, a stock proxy) may
// indent. b itself when it has no whitespace byte at all, the common case,
// or when it is not JSON (the caller classifies it).
func compact(b []byte) []byte {
	if bytes.IndexAny(b, " \t\r\n") < 0 {
		return b
	}
	var out bytes.Buffer
	out.Grow(len(b))
	if json.Compact(&out, b) != nil {
		return b
	}
	return out.Bytes()
}
