package gateway

import (
	"encoding/json"

	"github.com/gust-faas/gust/whisk"
)

// maxArgKeys is how many top-level request keys mergeArgs tracks on the
// stack; more spill to the heap.
const maxArgKeys = 16

var (
	errMalformed = errorf(whisk.ErrBadRequest, "The request content was malformed: it is not valid JSON.")
	errNotObject = errorf(whisk.ErrBadRequest, "The request content was malformed: the arguments must be a JSON object.")
	errFinal     = errorf(whisk.ErrBadRequest, "Request defines parameters that are not allowed (e.g., reserved properties).")
)

// mergeArgs returns the activation's arguments: the action's non-init
// parameters overridden by the request body's top-level members. body is
// an invoke request body (request memory: the result never aliases it).
// An empty body or null means no arguments; a JSON array is passed through as is,
// as OpenWhisk does for array arguments. Neither side is decoded: the
// result is built from the raw members with one allocation.
func (ca *cachedAction) mergeArgs(body []byte) (json.RawMessage, error) {
	body = trimSpace(body)
	if len(body) == 0 || string(body) == "null" { // wsk sends null for no parameters
		return ca.args, nil
	}
	if !json.Valid(body) {
		return nil, errMalformed
	}
	switch body[0] {
	case '{':
	case '[':
		return append(json.RawMessage(nil), body...), nil
	default:
		return nil, errNotObject
	}
	if len(ca.members) == 0 {
		return append(json.RawMessage(nil), body...), nil
	}

	var buf [maxArgKeys]argKey
	keys := objectKeys(body, buf[:0])
	size := len(body) + 1
	for i := range ca.members {
		m := &ca.members[i]
		if !hasKey(keys, m.Key) {
			size += len(m.Enc) + 1
		} else if ca.final && m.Defined {
			return nil, errFinal
		}
	}
	out := make(json.RawMessage, 0, size)
	out = append(out, '{')
	for i := range ca.members {
		m := &ca.members[i]
		if hasKey(keys, m.Key) {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, m.Enc...)
	}
	if inner := trimSpace(body[1 : len(body)-1]); len(inner) > 0 {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, inner...)
	}
	return append(out, '}'), nil
}

// argKey is a top-level key of the request body: its raw bytes between the
// quotes, and whether they hold escapes.
type argKey struct {
	raw     []byte
	escaped bool
}

func hasKey(keys []argKey, key string) bool {
	for _, k := range keys {
		if !k.escaped {
			if string(k.raw) == key {
				return true
			}
			continue
		}
		var s string
		quoted := make([]byte, 0, len(k.raw)+2)
		quoted = append(append(append(quoted, '"'), k.raw...), '"')
		if json.Unmarshal(quoted, &s) == nil && s == key {
			return true
		}
	}
	return false
}

// objectKeys appends the top-level keys of obj, a valid JSON object.
func objectKeys(obj []byte, keys []argKey) []argKey {
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		end, escaped := scanString(obj, i)
		keys = append(keys, argKey{raw: obj[i+1 : end-1], escaped: escaped})
		i = skipSpace(obj, end)
		i = skipSpace(obj, i+1) // ':'
		i = skipSpace(obj, skipValue(obj, i))
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return keys
}

// scanString returns the index after the string starting at b[i] == '"'.
func scanString(b []byte, i int) (end int, escaped bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return len(b), escaped
}

// skipValue returns the index after the JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		end, _ := scanString(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := scanString(b, j)
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	for j := i; j < len(b); j++ {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return j
		}
	}
	return len(b)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
