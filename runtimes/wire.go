package runtimes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"

	"github.com/gust-faas/gust/internal/jsonstr"
)

// A minimal HTTP/1.1, shared by the proxy and the client: both ends of the
// hot path parse a request or a response head in place, without the
// allocations of net/http (a Header map, a Request, goroutines per request).
// It handles what OpenWhisk's peers send: Content-Length or chunked bodies,
// keep-alive and Connection: close, Expect: 100-continue. It does not import
// net/http: that would link net/http, crypto/tls and their package
// initialisation into gust-sandbox, whose every exec (two per cold start)
// would pay for them.

// The HTTP statuses the proxy sends and the client tells apart, with
// net/http's names.
const (
	statusOK                    = 200
	statusNoContent             = 204
	statusNotModified           = 304
	statusBadRequest            = 400
	statusForbidden             = 403
	statusNotFound              = 404
	statusMethodNotAllowed      = 405
	statusConflict              = 409
	statusRequestEntityTooLarge = 413
	statusInternalServerError   = 500
	statusBadGateway            = 502
)

// statusText is the reason phrase of one of the statuses above, as
// net/http's StatusText has it; "" for the others.
func statusText(code int) string {
	switch code {
	case statusOK:
		return "OK"
	case statusNoContent:
		return "No Content"
	case statusNotModified:
		return "Not Modified"
	case statusBadRequest:
		return "Bad Request"
	case statusForbidden:
		return "Forbidden"
	case statusNotFound:
		return "Not Found"
	case statusMethodNotAllowed:
		return "Method Not Allowed"
	case statusConflict:
		return "Conflict"
	case statusRequestEntityTooLarge:
		return "Request Entity Too Large"
	case statusInternalServerError:
		return "Internal Server Error"
	case statusBadGateway:
		return "Bad Gateway"
	}
	return ""
}

// Bounds on an HTTP head.
const (
	maxHeadLine  = 8 << 10
	maxHeadLines = 100
)

var errHeadTooLarge = errors.New("HTTP head too large")

// errBodyTooLarge is readChunked's answer to a body over its limit; the
// caller says which limit.
var errBodyTooLarge = errors.New("HTTP body too large")

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

// Bounds on the framing of a chunked body.
const (
	// maxChunkLine bounds a chunk-size line, extensions included, and a
	// trailer field line, as net/http does.
	maxChunkLine = 4 << 10
	// maxChunkSizeDigits bounds the significant hex digits of a chunk
	// size: 15 keep it below 2^60, which sums of sizes cannot overflow.
	maxChunkSizeDigits = 15
	// maxChunkOverhead bounds the framing bytes (size lines, extensions,
	// CRLFs) a chunked body may carry beyond 16 per chunk plus twice its
	// data, as net/http does: a sender cannot make the reader work through
	// megabytes of extensions for a few bytes of data.
	maxChunkOverhead = 16 << 10
)

// readChunked reads a chunked message body (RFC 9112, section 7.1) from r
// and appends its data to dst: chunks of a hex size line (extensions after
// ";" ignored), CRLF, data, CRLF; then the last chunk, of size 0, trailer
// fields (skipped) and a blank line. It reads exactly the body, so that the
// next message on the connection follows. Lines must end with CRLF.
//
// Malformed framing fails with ErrProtocol; a body that ends early with
// ErrProtocol and io.ErrUnexpectedEOF; one of more than limit bytes with
// errBodyTooLarge, as soon as a chunk's size says so. Other errors are r's,
// unwrapped (a deadline, a closed connection). dst grows with the data
// that arrives, not with what sizes announce.
func readChunked(r *bufio.Reader, dst []byte, limit int) ([]byte, error) {
	start := len(dst)
	overhead := 0
	for {
		line, err := readChunkLine(r)
		if err != nil {
			return dst, err
		}
		overhead += len(line) + 4 // CRLF after the line and after the data
		size, err := parseChunkSize(line)
		if err != nil {
			return dst, err
		}
		if size == 0 {
			return dst, skipTrailers(r)
		}
		if size > int64(limit-(len(dst)-start)) {
			return dst, errBodyTooLarge
		}
		if overhead -= 16 + 2*int(size); overhead < 0 {
			overhead = 0
		} else if overhead > maxChunkOverhead {
			return dst, fmt.Errorf("%w: chunked body with too much framing for its data", ErrProtocol)
		}
		for n := int(size); n > 0; {
			if len(dst) == cap(dst) {
				// Double, as far as the chunk goes: memory follows the data
				// that arrives, not the size a peer announces.
				dst = slices.Grow(dst, min(n, max(cap(dst), 4<<10)))
			}
			k := min(n, cap(dst)-len(dst))
			m, err := io.ReadFull(r, dst[len(dst):len(dst)+k])
			dst = dst[:len(dst)+m]
			n -= m
			if err != nil {
				return dst, unexpectedEOF(err)
			}
		}
		crlf, err := r.Peek(2)
		if err != nil {
			return dst, unexpectedEOF(err)
		}
		if crlf[0] != '\r' || crlf[1] != '\n' {
			return dst, fmt.Errorf("%w: chunk data not followed by CRLF", ErrProtocol)
		}
		r.Discard(2)
	}
}

// readChunkLine reads one line of a chunked body's framing, without its
// CRLF. The line must end with CRLF and hold no other CR (RFC 9112 does not
// let a bare LF end these lines, errata 7633). The slice points into r's
// buffer and is valid until the next read.
func readChunkLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull) || (err == nil && len(line) > maxChunkLine+2):
		return nil, fmt.Errorf("%w: chunked body line longer than %d bytes", ErrProtocol, maxChunkLine)
	case err != nil:
		return nil, unexpectedEOF(err)
	}
	// cr < 0 first: for the line "\n", len(line)-2 is -1 too.
	if cr := bytes.IndexByte(line, '\r'); cr < 0 || cr != len(line)-2 {
		if cr < 0 {
			return nil, fmt.Errorf("%w: chunked body line ends with a bare LF", ErrProtocol)
		}
		return nil, fmt.Errorf("%w: CR inside a chunked body line", ErrProtocol)
	}
	return line[:len(line)-2], nil
}

// parseChunkSize parses a chunk-size line: 1*HEXDIG, then optional
// whitespace and extensions, which are ignored.
func parseChunkSize(line []byte) (int64, error) {
	var n int64
	i, digits := 0, 0
	for ; i < len(line); i++ {
		d, ok := hexDigit(line[i])
		if !ok {
			break
		}
		if n > 0 || d > 0 { // leading zeros are no risk
			if digits++; digits > maxChunkSizeDigits {
				return 0, fmt.Errorf("%w: chunk size %.40q too large", ErrProtocol, line)
			}
		}
		n = n<<4 | int64(d)
	}
	if i == 0 {
		return 0, fmt.Errorf("%w: malformed chunk size %.40q", ErrProtocol, line)
	}
	// What may follow the size: whitespace, then ";" and the extensions.
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i < len(line) && line[i] != ';' {
		return 0, fmt.Errorf("%w: malformed chunk size %.40q", ErrProtocol, line)
	}
	return n, nil
}

// hexDigit is the value of the hex digit c, either case.
func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// skipTrailers reads the trailer section after the last chunk, up to and
// including its blank line, and ignores it.
func skipTrailers(r *bufio.Reader) error {
	for i := 0; ; i++ {
		if i == maxHeadLines {
			return fmt.Errorf("%w: more than %d trailer fields", ErrProtocol, maxHeadLines)
		}
		line, err := readChunkLine(r)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if colon := bytes.IndexByte(line, ':'); colon <= 0 {
			return fmt.Errorf("%w: malformed trailer field %.40q", ErrProtocol, line)
		}
	}
}

// unexpectedEOF turns the end of the stream inside a body into ErrProtocol
// and io.ErrUnexpectedEOF; other errors are returned as they are.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: body ends early: %w", ErrProtocol, io.ErrUnexpectedEOF)
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
