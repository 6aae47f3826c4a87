package runtimes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"

	"github.com/gust-faas/gust/internal/jsonstr"
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

// writeMessage writes an HTTP message to c: head, built in the connection's
// buffer *buf, then body, in one write when the body is small, else without
// copying it (one writev). *buf keeps head's memory for the next message
// unless it grew past 64 KiB.
func writeMessage(c net.Conn, buf *[]byte, head, body []byte) error {
	var err error
	if len(body) <= 32<<10 {
		head = append(head, body...)
		_, err = c.Write(head)
	} else {
		bufs := net.Buffers{head, body}
		_, err = bufs.WriteTo(c)
	}
	if cap(head) <= 64<<10 {
		*buf = head[:0]
	}
	return err
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
func appendJSONString(dst []byte, s string) []byte { return jsonstr.Append(dst, s) }

// appendError appends OpenWhisk's error body {"error":"msg"}.
func appendError(dst []byte, msg string) []byte {
	dst = append(dst, `{"error":`...)
	dst = appendJSONString(dst, msg)
	return append(dst, '}')
}

// errorBody returns {"error":"msg"} as a new slice.
func errorBody(msg string) []byte { return appendError(nil, msg) }
