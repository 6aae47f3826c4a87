package bench

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// endpoint is an API host the load goes to.
type endpoint struct {
	addr string // host:port to dial
	host string // Host header
	base string // scheme://host:port, for messages
	auth string // "Basic ..." or ""
	tls  *tls.Config
}

// newEndpoint parses an API host ("host:port", "http://host:port" or
// "https://host[:port]") and a "uuid:key" credential.
func newEndpoint(apihost, auth string, insecure bool) (*endpoint, error) {
	if apihost == "" {
		return nil, fmt.Errorf("%w: empty api host", ErrUsage)
	}
	if !strings.Contains(apihost, "://") {
		apihost = "http://" + apihost
	}
	u, err := url.Parse(apihost)
	if err != nil {
		return nil, fmt.Errorf("%w: api host %q: %v", ErrUsage, apihost, err)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("%w: api host %q must be scheme://host[:port]", ErrUsage, apihost)
	}
	ep := &endpoint{host: u.Host}
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
		ep.tls = &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: insecure, NextProtos: []string{"http/1.1"}}
	default:
		return nil, fmt.Errorf("%w: api host %q: scheme must be http or https", ErrUsage, apihost)
	}
	ep.addr = net.JoinHostPort(u.Hostname(), port)
	ep.base = u.Scheme + "://" + u.Host
	if auth != "" {
		if !strings.Contains(auth, ":") {
			return nil, fmt.Errorf("%w: --auth must be uuid:key", ErrUsage)
		}
		ep.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(auth))
	}
	return ep, nil
}

// request builds the bytes of one HTTP/1.1 request. A nil body sends no
// Content-Type; an empty one sends Content-Length: 0.
func (ep *endpoint) request(method, path string, body []byte) []byte {
	var b bytes.Buffer
	b.Grow(256 + len(body))
	b.WriteString(method)
	b.WriteByte(' ')
	b.WriteString(path)
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(ep.host)
	b.WriteString("\r\nUser-Agent: gust-bench\r\nAccept: application/json\r\n")
	if ep.auth != "" {
		b.WriteString("Authorization: ")
		b.WriteString(ep.auth)
		b.WriteString("\r\n")
	}
	if body != nil {
		b.WriteString("Content-Type: application/json\r\n")
	}
	if body != nil || method == "POST" || method == "PUT" {
		b.WriteString("Content-Length: ")
		b.WriteString(strconv.Itoa(len(body)))
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// maxBody bounds a response body; OpenWhisk results are at most 1 MB, a
// record with logs at most ~11 MB.
const maxBody = 64 << 20

// conn is a keep-alive HTTP/1.1 client connection owned by one goroutine.
// It sends prebuilt requests and parses responses into reused buffers, so
// the request path allocates nothing. Abort may be called from another
// goroutine to make a blocked request fail at once.
type conn struct {
	ep     *endpoint
	br     *bufio.Reader
	body   []byte
	id     [64]byte // x-openwhisk-activation-id of the last response
	idLen  int
	reused bool // c has completed a request before

	mu      sync.Mutex // guards c's assignment against Abort
	c       net.Conn
	aborted bool
}

// response is the part of an answer the benchmark needs. Body and ID are
// valid until the next request on the same conn.
type response struct {
	Status int
	Body   []byte
	ID     []byte
}

func newConn(ep *endpoint) *conn {
	return &conn{ep: ep, br: bufio.NewReaderSize(nil, 32<<10), body: make([]byte, 0, 4096)}
}

// errAborted is returned by requests on an aborted conn.
var errAborted = errors.New("request aborted")

// dial connects if there is no connection.
func (c *conn) dial() error {
	if c.c != nil {
		return nil
	}
	nc, err := net.DialTimeout("tcp", c.ep.addr, 5*time.Second)
	if err != nil {
		return err
	}
	if c.ep.tls != nil {
		tc := tls.Client(nc, c.ep.tls)
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return err
		}
		tc.SetDeadline(time.Time{})
		nc = tc
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted {
		nc.Close()
		return errAborted
	}
	c.c = nc
	c.br.Reset(nc)
	c.reused = false
	return nil
}

// Close closes the connection; the next request dials again.
func (c *conn) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// Abort makes the current and every later request fail. Safe to call from
// any goroutine.
func (c *conn) Abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.aborted = true
	if c.c != nil {
		c.c.SetDeadline(time.Unix(1, 0))
	}
}

// Do sends req and reads the response. A request on a reused connection
// that the server closed before answering anything is sent once more on a
// new connection, as net/http does; other failures close the connection and
// are returned.
func (c *conn) Do(req []byte) (response, error) {
	for attempt := 0; ; attempt++ {
		if err := c.dial(); err != nil {
			return response{}, err
		}
		reused := c.reused
		resp, started, err := c.roundTrip(req)
		if err == nil {
			return resp, nil
		}
		c.Close()
		if attempt > 0 || !reused || started || c.aborted {
			return response{}, err
		}
	}
}

// roundTrip writes req and reads one response. started reports whether any
// byte of a response arrived.
func (c *conn) roundTrip(req []byte) (resp response, started bool, err error) {
	if _, err := c.c.Write(req); err != nil {
		return resp, false, err
	}
	for {
		resp, started, err = c.readResponse()
		// A 1xx is an interim answer we did not ask for: read on.
		if err != nil || resp.Status >= 200 {
			return resp, started, err
		}
	}
}

// readResponse reads one response (possibly an interim 1xx one).
func (c *conn) readResponse() (resp response, started bool, err error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return resp, len(line) > 0, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return resp, true, fmt.Errorf("%w: status line %q", ErrProtocol, trimCRLF(line))
	}
	status, ok := atoi(line[9:12])
	if !ok || status < 100 {
		return resp, true, fmt.Errorf("%w: status line %q", ErrProtocol, trimCRLF(line))
	}
	resp.Status = status
	closeAfter := line[7] == '0' // HTTP/1.0 closes unless told otherwise
	length, chunked := -1, false
	c.idLen = 0
	for {
		line, err = c.br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				err = fmt.Errorf("%w: header line too long", ErrProtocol)
			}
			return resp, true, err
		}
		line = trimCRLF(line)
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return resp, true, fmt.Errorf("%w: header %q", ErrProtocol, line)
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case asciiEqualFold(name, "content-length"):
			n, ok := atoi(value)
			if !ok || n > maxBody {
				return resp, true, fmt.Errorf("%w: content-length %q", ErrProtocol, value)
			}
			length = n
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "connection"):
			if asciiEqualFold(value, "close") {
				closeAfter = true
			} else if asciiEqualFold(value, "keep-alive") {
				closeAfter = false
			}
		case asciiEqualFold(name, "x-openwhisk-activation-id"):
			c.idLen = copy(c.id[:], value)
		}
	}
	c.body = c.body[:0]
	switch {
	case status < 200 || status == 204 || status == 304:
	case chunked:
		if err := c.readChunked(); err != nil {
			return resp, true, err
		}
	case length >= 0:
		if cap(c.body) < length {
			c.body = make([]byte, 0, length)
		}
		c.body = c.body[:length]
		if _, err := io.ReadFull(c.br, c.body); err != nil {
			return resp, true, err
		}
	default: // body runs to the end of the connection
		b, err := io.ReadAll(io.LimitReader(c.br, maxBody))
		if err != nil {
			return resp, true, err
		}
		c.body = b
		closeAfter = true
	}
	resp.Body = c.body
	resp.ID = c.id[:c.idLen]
	if status < 200 {
		return resp, true, nil
	}
	if closeAfter {
		c.Close()
	} else {
		c.reused = true
	}
	return resp, true, nil
}

func (c *conn) readChunked() error {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = trimCRLF(line)
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 || int64(len(c.body))+size > maxBody {
			return fmt.Errorf("%w: chunk size %q", ErrProtocol, line)
		}
		if size == 0 {
			for { // trailers up to the empty line
				line, err := c.br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(trimCRLF(line)) == 0 {
					return nil
				}
			}
		}
		n := len(c.body)
		c.body = slices.Grow(c.body, int(size))[:n+int(size)]
		if _, err := io.ReadFull(c.br, c.body[n:]); err != nil {
			return err
		}
		if line, err := c.br.ReadSlice('\n'); err != nil || len(trimCRLF(line)) != 0 {
			return fmt.Errorf("%w: chunk not followed by CRLF", ErrProtocol)
		}
	}
}

func trimCRLF(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// atoi parses a non-negative decimal without allocating.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// asciiEqualFold compares b to a lower-case ASCII string, ignoring case.
func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
