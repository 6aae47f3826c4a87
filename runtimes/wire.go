package runtimes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"
)

// A minimal HTTP/1.1, shared by the proxy and the client: both ends of the
// hot path parse a request or a response head in place, without the
// allocations of net/http (a Header map, a Request, goroutines per request).
// It handles what OpenWhisk's peers send: Content-Length or chunked bodies,
// keep-alive and Connection: close, Expect: 100-continue.

// Bounds on an HTTP head.
const (
	maxHeadLine  = 8 << 10
	maxHeadLines = 100
)

var errHeadTooLarge = errors.New("HTTP head too large")

// head is what the proxy and the client need from a message head.
type head struct {
	contentLength  int64 // -1 when absent
	chunked        bool
	close          bool // Connection: close
	keepAlive      bool // Connection: keep-alive
	expectContinue bool // Expect: 100-continue
	appError       bool // HeaderError: ErrorApplication
}

// readHeadLine reads one line of a head, without its CRLF. The slice points
// into r's buffer and is valid until the next read.
func readHeadLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errHeadTooLarge
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// readHeaders reads header lines up to the blank line into h.
func readHeaders(r *bufio.Reader, h *head) error {
	*h = head{contentLength: -1}
	for i := 0; ; i++ {
		if i == maxHeadLines {
			return errHeadTooLarge
		}
		line, err := readHeadLine(r)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return fmt.Errorf("%w: malformed header line %q", ErrProtocol, line)
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, ok := parseLength(value)
			if !ok || (h.contentLength >= 0 && h.contentLength != n) {
				return fmt.Errorf("%w: bad Content-Length %q", ErrProtocol, value)
			}
			h.contentLength = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			if !bytes.EqualFold(value, []byte("chunked")) && !bytes.EqualFold(value, []byte("identity")) {
				return fmt.Errorf("%w: unsupported Transfer-Encoding %q", ErrProtocol, value)
			}
			h.chunked = h.chunked || bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			for _, tok := range bytes.Split(value, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				if bytes.EqualFold(tok, []byte("close")) {
					h.close = true
				} else if bytes.EqualFold(tok, []byte("keep-alive")) {
					h.keepAlive = true
				}
			}
		case bytes.EqualFold(name, []byte("Expect")):
			h.expectContinue = bytes.EqualFold(value, []byte("100-continue"))
		case bytes.EqualFold(name, []byte(HeaderError)):
			h.appError = bytes.EqualFold(value, []byte(ErrorApplication))
		}
	}
}

// parseLength parses a Content-Length value.
func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// appendJSONString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendError appends OpenWhisk's error body {"error":"msg"}.
func appendError(dst []byte, msg string) []byte {
	dst = append(dst, `{"error":`...)
	dst = appendJSONString(dst, msg)
	return append(dst, '}')
}

// errorBody returns {"error":"msg"} as a new slice.
func errorBody(msg string) []byte { return appendError(nil, msg) }
