package runtimes

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gust-faas/gust/whisk"
)

func TestReadChunked(t *testing.T) {
	const limit = 64
	long := strings.Repeat("x", limit)
	tests := []struct {
		name    string
		in      string
		want    string // the body, when wantErr is nil
		wantErr error  // matched with errors.Is
	}{
		{"one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello", nil},
		{"several chunks", "3\r\nhel\r\n2\r\nlo\r\n1\r\n!\r\n0\r\n\r\n", "hello!", nil},
		{"no chunk but the last", "0\r\n\r\n", "", nil},
		{"zero padded sizes", "0003\r\nabc\r\n000\r\n\r\n", "abc", nil},
		{"uppercase hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789", nil},
		{"lowercase hex", "a\r\n0123456789\r\n0\r\n\r\n", "0123456789", nil},
		{"extensions", "3;a=1;b\r\nabc\r\n2 ; q=\"x;y\"\r\nde\r\n0;end\r\n\r\n", "abcde", nil},
		{"whitespace after the size", "3 \t\r\nabc\r\n0\r\n\r\n", "abc", nil},
		{"trailers", "2\r\nhi\r\n0\r\nExpires: never\r\nX-Sum:  abc\r\n\r\n", "hi", nil},
		{"data holding CRLF", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n", nil},
		{"exactly the limit", "40\r\n" + long + "\r\n0\r\n\r\n", long, nil},

		{"empty input", "", "", io.ErrUnexpectedEOF},
		{"a bare LF alone", "\n", "", ErrProtocol},
		{"empty size", "\r\nabc\r\n0\r\n\r\n", "", ErrProtocol},
		{"not hex", "g\r\n", "", ErrProtocol},
		{"0x prefix", "0x3\r\nabc\r\n0\r\n\r\n", "", ErrProtocol},
		{"negative size", "-1\r\n", "", ErrProtocol},
		{"space before the size", " 3\r\nabc\r\n0\r\n\r\n", "", ErrProtocol},
		{"size overflow", "10000000000000000\r\nabc\r\n", "", ErrProtocol},
		{"size of 2^64", "ffffffffffffffff\r\n", "", ErrProtocol},
		{"chunk over the limit", "41\r\n" + long + "x\r\n0\r\n\r\n", "", errBodyTooLarge},
		{"oversized size, no data", "fffffffffffffff\r\n", "", errBodyTooLarge},
		{"chunks over the limit", "40\r\n" + long + "\r\n1\r\nx\r\n0\r\n\r\n", "", errBodyTooLarge},
		{"size line with a bare LF", "3\nabc\r\n0\r\n\r\n", "", ErrProtocol},
		{"CR inside the size line", "3\r;x\r\nabc\r\n0\r\n\r\n", "", ErrProtocol},
		{"data without CRLF", "3\r\nabc0\r\n\r\n", "", ErrProtocol},
		{"data with a bare LF", "3\r\nabc\n0\r\n\r\n", "", ErrProtocol},
		{"data longer than its size", "3\r\nabcd\r\n0\r\n\r\n", "", ErrProtocol},
		{"truncated data", "5\r\nhel", "", io.ErrUnexpectedEOF},
		{"truncated after the data", "5\r\nhello", "", io.ErrUnexpectedEOF},
		{"truncated size line", "5", "", io.ErrUnexpectedEOF},
		{"no last chunk", "5\r\nhello\r\n", "", io.ErrUnexpectedEOF},
		{"no blank line after the last chunk", "0\r\n", "", io.ErrUnexpectedEOF},
		{"truncated trailers", "0\r\nA: b\r\n", "", io.ErrUnexpectedEOF},
		{"malformed trailer", "0\r\nnot a field\r\n\r\n", "", ErrProtocol},
		{"trailer with a bare LF", "0\r\nA: b\n\r\n", "", ErrProtocol},
		{"size line too long", "1;" + strings.Repeat("e", maxChunkLine) + "\r\nx\r\n0\r\n\r\n", "", ErrProtocol},
		{"too many trailers", "0\r\n" + strings.Repeat("A: b\r\n", maxHeadLines+1) + "\r\n", "", ErrProtocol},
		{"too much framing", strings.Repeat("1;"+strings.Repeat("e", 1000)+"\r\nx\r\n", 20) + "0\r\n\r\n", "", ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const next = "POST /next HTTP/1.1\r\n"
			for _, oneByte := range []bool{false, true} {
				// Whole, and a byte at a time: the framing must not
				// depend on how the bytes arrive.
				input := tt.in
				if tt.wantErr == nil {
					input += next
				}
				var in io.Reader = strings.NewReader(input)
				if oneByte {
					in = iotest.OneByteReader(in)
				}
				r := bufio.NewReaderSize(in, 16<<10)
				got, err := readChunked(r, []byte("pre:"), limit)
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("readChunked(%.60q) = %q, %v; want %v", tt.in, got, err, tt.wantErr)
					}
					if errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrProtocol) {
						t.Errorf("a truncated body: %v, want it to be ErrProtocol too", err)
					}
					continue
				}
				if err != nil || string(got) != "pre:"+tt.want {
					t.Fatalf("readChunked(%.60q) = %q, %v; want %q", tt.in, got, err, "pre:"+tt.want)
				}
				// Exactly the body was read: the next message follows.
				if rest, _ := io.ReadAll(r); string(rest) != next {
					t.Errorf("after the body the reader holds %q, want %q", rest, next)
				}
			}
		})
	}
}

// TestReadChunkedTruncatedByEOF cuts a chunked body at every byte: each
// cut fails with io.ErrUnexpectedEOF, never a wrong body or a panic.
func TestReadChunkedTruncatedByEOF(t *testing.T) {
	in := "3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n"
	for i := range len(in) {
		_, err := readChunked(bufio.NewReader(strings.NewReader(in[:i])), nil, 1<<10)
		if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, ErrProtocol) {
			t.Errorf("cut after %d bytes %q: %v, want ErrProtocol and io.ErrUnexpectedEOF", i, in[:i], err)
		}
	}
}

// TestReadChunkedReaderErrors checks that an error of the connection, a
// deadline, comes back unwrapped: the client tells it from a bad peer.
func TestReadChunkedReaderErrors(t *testing.T) {
	in := io.MultiReader(strings.NewReader("5\r\nhel"), iotest.ErrReader(os.ErrDeadlineExceeded))
	_, err := readChunked(bufio.NewReader(in), nil, 1<<10)
	if !errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, ErrProtocol) {
		t.Errorf("readChunked = %v, want os.ErrDeadlineExceeded alone", err)
	}
}

// TestReadChunkedLarge reads a body of large chunks into a reused buffer:
// the data arrives intact and a buffer large enough is not replaced.
func TestReadChunkedLarge(t *testing.T) {
	var in, want strings.Builder
	for i, n := range []int{1, 100 << 10, 3, 1 << 20, 7} {
		data := strings.Repeat(string(rune('a'+i)), n)
		fmt.Fprintf(&in, "%x\r\n%s\r\n", n, data)
		want.WriteString(data)
	}
	in.WriteString("0\r\n\r\n")
	buf := make([]byte, 0, 2<<20)
	got, err := readChunked(bufio.NewReaderSize(strings.NewReader(in.String()), 16<<10), buf, 2<<20)
	if err != nil || string(got) != want.String() {
		t.Fatalf("readChunked: %d bytes, %v; want %d bytes", len(got), err, want.Len())
	}
	if &got[:1][0] != &buf[:1][0] {
		t.Error("readChunked replaced a buffer that had room")
	}
}

// FuzzReadChunked checks that readChunked never panics, keeps to its
// limit, and decodes what it accepts as net/http does.
func FuzzReadChunked(f *testing.F) {
	for _, seed := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"3;a=1\r\nabc\r\n2 ; q\r\nde\r\n0\r\nT: v\r\n\r\n",
		"A\r\n0123456789\r\n0\r\n\r\n",
		"10000000000000000\r\n",
		"3\nabc\r\n0\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	const limit = 1 << 10
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := readChunked(bufio.NewReader(strings.NewReader(string(in))), nil, limit)
		if err != nil {
			if !errors.Is(err, ErrProtocol) && !errors.Is(err, errBodyTooLarge) {
				t.Fatalf("readChunked(%q): %v, want ErrProtocol or errBodyTooLarge", in, err)
			}
			return
		}
		if len(got) > limit {
			t.Fatalf("readChunked(%q) = %d bytes, over the limit", in, len(got))
		}
		if want, err := io.ReadAll(httputil.NewChunkedReader(strings.NewReader(string(in)))); err == nil && string(got) != string(want) {
			t.Fatalf("readChunked(%q) = %q, net/http reads %q", in, got, want)
		}
	})
}

// TestStatusText checks the proxy's reason phrases against net/http's.
func TestStatusText(t *testing.T) {
	for _, code := range []int{statusOK, statusNoContent, statusNotModified, statusBadRequest, statusForbidden,
		statusNotFound, statusMethodNotAllowed, statusConflict, statusRequestEntityTooLarge,
		statusInternalServerError, statusBadGateway} {
		if got, want := statusText(code), http.StatusText(code); got != want || got == "" {
			t.Errorf("statusText(%d) = %q, want %q", code, got, want)
		}
	}
	if got := statusText(299); got != "" {
		t.Errorf("statusText(299) = %q, want \"\"", got)
	}
}

// TestProxyChunkedKeepAlive sends chunked requests, with extensions and
// trailers, and plain ones on one connection: each chunked body must be
// read to its very end, or the next request would be misread.
func TestProxyChunkedKeepAlive(t *testing.T) {
	p := startProxy(t, whisk.KindBlackbox)
	init := `{"value":{"code":"#!/bin/sh\nprintf '%s\\n' \"$1\"\n"}}`
	c, err := net.Dial("unix", p.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	// exchange writes req and reads one response: status and body.
	exchange := func(req string) (string, string) {
		t.Helper()
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("reading the response to %q: %v", req, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Status, string(b)
	}
	chunked := func(path string, chunks ...string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Join(chunks, "")
	}
	steps := []struct {
		name, req, status, body string
	}{
		{"chunked init", chunked("/init", fmt.Sprintf("%x\r\n%s\r\n", len(init), init), "0\r\n\r\n"), "200 OK", `{"ok":true}`},
		{"extensions and trailers", chunked("/run",
			"5;name=value\r\n{\"val\r\n", "A ; a=\"quoted\"\r\nue\":{\"a\":1\r\n", "2\r\n}}\r\n",
			"0;last\r\n", "Trailer-One: 1\r\n", "Trailer-Two: 2\r\n", "\r\n"), "200 OK", `{"a":1}`},
		{"content-length", "POST /run HTTP/1.1\r\nContent-Length: 17\r\n\r\n{\"value\":{\"b\":2}}", "200 OK", `{"b":2}`},
		{"uppercase hex, zero padding", chunked("/run", "0000B\r\n{\"value\":{\"\r\n", "00a\r\nc\":3}}    \r\n", "000\r\n\r\n"), "200 OK", `{"c":3}`},
		{"empty body", chunked("/run", "0\r\n\r\n"), "400 Bad Request", `{"error":"The request body is not a JSON object."}`},
		{"after all that", "POST /run HTTP/1.1\r\nContent-Length: 17\r\n\r\n{\"value\":{\"d\":4}}", "200 OK", `{"d":4}`},
	}
	for _, s := range steps {
		status, body := exchange(s.req)
		if status != s.status || body != s.body {
			t.Fatalf("%s: %s %s, want %s %s", s.name, status, body, s.status, s.body)
		}
	}
}

// TestProxyChunkedRefused sends malformed and oversized chunked bodies: the
// proxy answers 400 or 413 and closes the connection.
func TestProxyChunkedRefused(t *testing.T) {
	p := startProxy(t, whisk.KindBlackbox)
	head := "POST /run HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	tests := []struct {
		name, body, status string
		hangUp             bool // end the request stream after body
	}{
		{"bad hex", "zz\r\n", "400 Bad Request", false},
		{"bare LF", "2\n{}\r\n0\r\n\r\n", "400 Bad Request", false},
		{"no CRLF after the data", "2\r\n{}0\r\n\r\n", "400 Bad Request", false},
		{"size overflow", "10000000000000000\r\n", "400 Bad Request", false},
		// Refused on the size alone: no data follows.
		{"chunk over the limit", fmt.Sprintf("%x\r\n", maxRunBody+1), "413 Request Entity Too Large", false},
		{"chunks over the limit", fmt.Sprintf("%x\r\n%s\r\n%x\r\n", maxRunBody-1, strings.Repeat(" ", maxRunBody-1), 2), "413 Request Entity Too Large", false},
		{"truncated", "10\r\n{\"value\":", "400 Bad Request", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("unix", p.sock)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			wrote := make(chan struct{})
			go func() {
				defer close(wrote)
				io.WriteString(c, head+tt.body)
				if tt.hangUp {
					c.(*net.UnixConn).CloseWrite()
				}
			}()
			defer func() {
				c.Close()
				<-wrote
			}()
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.Status != tt.status || !resp.Close {
				t.Errorf("%s, close %v; want %s and the connection closed", resp.Status, resp.Close, tt.status)
			}
		})
	}
}

// TestClientChunkedKeepAlive has a stock proxy answer with chunked bodies,
// with trailers: the client must read each to its end and keep using the
// connection.
func TestClientChunkedKeepAlive(t *testing.T) {
	c := stockProxy(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Trailer", "X-Done")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"a":`)
		w.(http.Flusher).Flush()
		io.WriteString(w, `1}`)
		w.Header().Set("X-Done", "yes")
	})
	var dials atomic.Int64
	dial := c.dial
	c.dial = func(ctx context.Context) (net.Conn, error) {
		dials.Add(1)
		return dial(ctx)
	}
	for i := range 3 {
		res, err := c.Run(ctxT(t, 5*time.Second), runReq(`{}`))
		if err != nil || !res.Success() || string(res.Body) != `{"a":1}` {
			t.Fatalf("run %d: %d %s %v", i, res.StatusCode, res.Body, err)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("3 runs dialed %d times, want 1", n)
	}
}
