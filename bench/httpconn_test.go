package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewEndpoint(t *testing.T) {
	tests := []struct {
		apihost, auth      string
		wantAddr, wantBase string
		wantTLS            bool
		wantErr            bool
	}{
		{"http://127.0.0.1:3233", "u:k", "127.0.0.1:3233", "http://127.0.0.1:3233", false, false},
		{"127.0.0.1:3233", "", "127.0.0.1:3233", "http://127.0.0.1:3233", false, false},
		{"https://example.com", "u:k", "example.com:443", "https://example.com", true, false},
		{"http://example.com/", "u:k", "example.com:80", "http://example.com", false, false},
		{"http://[::1]:80", "u:k", "[::1]:80", "http://[::1]:80", false, false},
		{"ftp://x", "u:k", "", "", false, true},
		{"http://x/api", "u:k", "", "", false, true},
		{"", "u:k", "", "", false, true},
		{"http://x:1", "nocolon", "", "", false, true},
	}
	for _, tt := range tests {
		ep, err := newEndpoint(tt.apihost, tt.auth, false)
		if tt.wantErr {
			if !errors.Is(err, ErrUsage) {
				t.Errorf("newEndpoint(%q, %q) error = %v, want ErrUsage", tt.apihost, tt.auth, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("newEndpoint(%q): %v", tt.apihost, err)
			continue
		}
		if ep.addr != tt.wantAddr || ep.base != tt.wantBase || (ep.tls != nil) != tt.wantTLS {
			t.Errorf("newEndpoint(%q) = addr %q base %q tls %v, want %q %q %v", tt.apihost, ep.addr, ep.base, ep.tls != nil, tt.wantAddr, tt.wantBase, tt.wantTLS)
		}
	}
}

// server is an httptest server that counts connections.
func server(t *testing.T, h http.HandlerFunc) (*endpoint, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	ep, err := newEndpoint(srv.URL, "user:key", false)
	if err != nil {
		t.Fatal(err)
	}
	return ep, &conns
}

func TestConnRequests(t *testing.T) {
	ep, conns := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Basic dXNlcjprZXk=" {
			w.WriteHeader(401)
			return
		}
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/echo":
			w.Header().Set("X-Openwhisk-Activation-Id", "abc123")
			fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.RawQuery, body)
		case "/chunked":
			for i := 0; i < 3; i++ {
				fmt.Fprintf(w, "part%d;", i)
				w.(http.Flusher).Flush()
			}
		case "/empty":
			w.WriteHeader(204)
		case "/big":
			w.Write([]byte(strings.Repeat("x", 100_000)))
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		}
	})
	c := newConn(ep)
	defer c.Close()
	tests := []struct {
		method, path string
		body         string
		wantStatus   int
		wantBody     string
		wantID       string
	}{
		{"POST", "/echo?blocking=true", "{}", 200, "POST blocking=true {}", "abc123"},
		{"GET", "/echo", "", 200, "GET  ", "abc123"},
		{"GET", "/chunked", "", 200, "part0;part1;part2;", ""},
		{"DELETE", "/empty", "", 204, "", ""},
		{"GET", "/big", "", 200, strings.Repeat("x", 100_000), ""},
		{"GET", "/close", "", 200, "bye", ""},
		{"POST", "/echo", `{"a":1}`, 200, `POST  {"a":1}`, "abc123"},
	}
	for _, tt := range tests {
		var body []byte
		if tt.body != "" {
			body = []byte(tt.body)
		}
		resp, err := c.Do(ep.request(tt.method, tt.path, body))
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		if resp.Status != tt.wantStatus || string(resp.Body) != tt.wantBody || string(resp.ID) != tt.wantID {
			t.Errorf("%s %s = %d %.40q id %q, want %d %.40q id %q", tt.method, tt.path, resp.Status, resp.Body, resp.ID, tt.wantStatus, tt.wantBody, tt.wantID)
		}
	}
	// One connection up to /close, a second one after it.
	if n := conns.Load(); n != 2 {
		t.Errorf("used %d connections, want 2 (keep-alive until Connection: close)", n)
	}
	// Without credentials.
	noauth := *ep
	noauth.auth = ""
	resp, err := newConn(&noauth).Do(noauth.request("GET", "/echo", nil))
	if err != nil || resp.Status != 401 {
		t.Errorf("without auth: %d, %v; want 401", resp.Status, err)
	}
}

// rawServer answers each connection with fn.
func rawServer(t *testing.T, fn func(c net.Conn, br *bufio.Reader)) *endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fn(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	ep, _ := newEndpoint("http://"+ln.Addr().String(), "", false)
	return ep
}

// readRequest reads one request head and its body (Content-Length only).
func readRequest(br *bufio.Reader) error {
	req, err := http.ReadRequest(br)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, req.Body)
	return err
}

func TestConnMalformed(t *testing.T) {
	tests := []struct{ name, answer string }{
		{"not http", "SSH-2.0-OpenSSH\r\n\r\n"},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n"},
		{"bad header", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := rawServer(t, func(c net.Conn, br *bufio.Reader) {
				readRequest(br)
				io.WriteString(c, tt.answer)
			})
			_, err := newConn(ep).Do(ep.request("GET", "/", nil))
			if !errors.Is(err, ErrProtocol) {
				t.Errorf("error = %v, want ErrProtocol", err)
			}
		})
	}
}

func TestConnRetriesClosedIdleConnection(t *testing.T) {
	// The server answers one request per connection, then closes it
	// without saying so: the second request finds a dead connection and
	// must be sent again on a new one.
	var conns atomic.Int64
	ep := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		conns.Add(1)
		if readRequest(br) != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	c := newConn(ep)
	defer c.Close()
	for i := 0; i < 3; i++ {
		resp, err := c.Do(ep.request("POST", "/", []byte("{}")))
		if err != nil || string(resp.Body) != "ok" {
			t.Fatalf("request %d: %q, %v", i, resp.Body, err)
		}
		time.Sleep(10 * time.Millisecond) // let the close arrive
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}

func TestConnNoRetryAfterPartialAnswer(t *testing.T) {
	// A connection that dies in the middle of an answer is an error: the
	// request may have run, so it is not sent again.
	var conns atomic.Int64
	ep := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		n := conns.Add(1)
		for readRequest(br) == nil {
			if n == 1 {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				n = 2
				continue
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Len")
			return
		}
	})
	c := newConn(ep)
	defer c.Close()
	if _, err := c.Do(ep.request("GET", "/", nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ep.request("GET", "/", nil)); err == nil {
		t.Fatal("a truncated answer was not an error")
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1 (no retry)", n)
	}
}

func TestConnAbort(t *testing.T) {
	ep := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		time.Sleep(5 * time.Second) // never answers in time
	})
	c := newConn(ep)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Do(ep.request("GET", "/", nil))
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	c.Abort()
	select {
	case err := <-errc:
		if errorKind(err) != "timeout" {
			t.Errorf("aborted request: %v (%s), want a timeout", err, errorKind(err))
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Abort did not end the request")
	}
	if _, err := c.Do(ep.request("GET", "/", nil)); !errors.Is(err, errAborted) {
		t.Errorf("request after Abort: %v, want errAborted", err)
	}
}

func TestConnRefused(t *testing.T) {
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	ep, _ := newEndpoint("http://"+addr, "", false)
	_, err = newConn(ep).Do(ep.request("GET", "/", nil))
	if got := errorKind(err); got != "connection refused" {
		t.Errorf("errorKind(%v) = %q, want connection refused", err, got)
	}
}

// TestConnDoesNotAllocate: the request path reuses its buffers. The
// server is a raw loop with fixed buffers, since AllocsPerRun counts the
// whole process.
func TestConnDoesNotAllocate(t *testing.T) {
	body := `{"activationId":"x","annotations":[{"key":"start","value":"warm"}]}`
	answer := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Openwhisk-Activation-Id: x\r\n\r\n%s", len(body), body))
	ep := rawServer(t, func(c net.Conn, _ *bufio.Reader) {
		buf := make([]byte, 4096)
		n := 0
		for {
			m, err := c.Read(buf[n:])
			if err != nil {
				return
			}
			n += m
			// Each request ends with its body "{}".
			if n >= 2 && buf[n-2] == '{' && buf[n-1] == '}' {
				n = 0
				if _, err := c.Write(answer); err != nil {
					return
				}
			}
		}
	})
	c := newConn(ep)
	defer c.Close()
	req := ep.request("POST", "/x", []byte("{}"))
	c.Do(req)
	allocs := testing.AllocsPerRun(200, func() {
		resp, err := c.Do(req)
		if err != nil || scanStart(resp.Body) != startWarm || string(resp.ID) != "x" {
			t.Fatalf("%v %q", err, resp.Body)
		}
	})
	if allocs > 0 {
		t.Errorf("%.1f allocations per request, want 0", allocs)
	}
}

// The load generator's client against net/http's, on the same server:
// go test -bench Client -run - ./bench/
func BenchmarkClientConn(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"ok":true}`)) }))
	defer srv.Close()
	ep, _ := newEndpoint(srv.URL, "u:k", false)
	req := ep.request("POST", "/api/v1/namespaces/_/actions/x?blocking=true", []byte("{}"))
	c := newConn(ep)
	defer c.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Do(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClientNetHTTP(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"ok":true}`)) }))
	defer srv.Close()
	hc := srv.Client()
	u := srv.URL + "/api/v1/namespaces/_/actions/x?blocking=true"
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("POST", u, strings.NewReader("{}"))
		req.SetBasicAuth("u", "k")
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
