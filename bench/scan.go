package bench

import (
	"bytes"

	"github.com/gust-faas/gust/whisk"
)

// How an activation found its sandbox, from its "start" annotation
// (whisk.AnnStart), or from "initTime" on hosts that do not write "start".
const (
	startWarm = iota
	startPrewarmed
	startResumed
	startCold
	startOther // a value this tool does not know
	startNone  // no annotation: a warm start on stock OpenWhisk
	numStarts
)

var startNames = [numStarts]string{"warm", "prewarmed", "resumed", "cold", "other", "none"}

// startCounts counts activations by start kind.
type startCounts [numStarts]int

// Inits is the number of activations that ran /init: cold and prewarmed
// starts (what the tables call "cold").
func (s *startCounts) Inits() int { return s[startCold] + s[startPrewarmed] }

// Map is the JSON form: only kinds that occurred.
func (s *startCounts) Map() map[string]int {
	m := map[string]int{}
	for i, n := range s {
		if n > 0 {
			m[startNames[i]] = n
		}
	}
	return m
}

var (
	annStartKey = []byte(`"` + whisk.AnnStart + `"`)
	annInitKey  = []byte(`"` + whisk.AnnInitTime + `"`)
)

// scanStart finds how the activation in a record's JSON started, without
// decoding the record: the warm path must not spend the load generator's
// CPU on JSON.
func scanStart(body []byte) int {
	if v, ok := annotationString(body, annStartKey); ok {
		switch string(v) { // no allocation: the compiler compares in place
		case "warm":
			return startWarm
		case "prewarmed":
			return startPrewarmed
		case "resumed":
			return startResumed
		case "cold":
			return startCold
		}
		return startOther
	}
	if bytes.Contains(body, annInitKey) {
		return startCold
	}
	return startNone
}

// annotationString finds {"key":<quotedKey>,"value":"<v>"} in JSON text and
// returns v (raw, unescaped; annotation values of interest are plain words).
// Whitespace between tokens is allowed; other key orders are not found.
func annotationString(body, quotedKey []byte) ([]byte, bool) {
	for off := 0; ; {
		i := bytes.Index(body[off:], quotedKey)
		if i < 0 {
			return nil, false
		}
		i += off
		off = i + len(quotedKey)
		// Backwards: `"key" :` before the quoted key.
		j := skipSpaceBack(body, i)
		if j < 0 || body[j] != ':' {
			continue
		}
		j = skipSpaceBack(body, j)
		if j < 4 || string(body[j-4:j+1]) != `"key"` {
			continue
		}
		// Forwards: `, "value" : "`.
		k := skipSpace(body, off)
		if k >= len(body) || body[k] != ',' {
			continue
		}
		k = skipSpace(body, k+1)
		if !bytes.HasPrefix(body[k:], []byte(`"value"`)) {
			continue
		}
		k = skipSpace(body, k+len(`"value"`))
		if k >= len(body) || body[k] != ':' {
			continue
		}
		k = skipSpace(body, k+1)
		if k >= len(body) || body[k] != '"' {
			continue
		}
		end := bytes.IndexByte(body[k+1:], '"')
		if end < 0 {
			return nil, false
		}
		return body[k+1 : k+1+end], true
	}
}

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipSpaceBack returns the index of the last non-space byte before i, or -1.
func skipSpaceBack(b []byte, i int) int {
	i--
	for i >= 0 && isSpace(b[i]) {
		i--
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
