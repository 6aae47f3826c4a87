package runtimes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// Client bounds.
const (
	maxIdleConns    = 16
	maxResponseBody = 64 << 20
)

// Client talks to one runtime proxy (Gust's or a stock OpenWhisk runtime)
// over connections it gets from dial, typically sandbox.Sandbox.Connect. It
// keeps up to 16 idle connections alive and is safe for concurrent use;
// concurrent calls use separate connections.
type Client struct {
	dial func(ctx context.Context) (net.Conn, error)

	mu     sync.Mutex
	idle   []*clientConn // most recently used last
	closed bool
}

// NewClient returns a client that opens connections with dial.
func NewClient(dial func(ctx context.Context) (net.Conn, error)) *Client {
	return &Client{dial: dial}
}

// RunResult is a proxy's answer to /run.
type RunResult struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Body is the activation's result: the action's object or array on
	// success and on an application error, {"error": …} on a developer
	// error (the proxy's message, or OpenWhisk's when it gave none).
	Body []byte
	// Status is whisk.StatusSuccess, whisk.StatusApplicationError or
	// whisk.StatusDeveloperError.
	Status int
}

// Success reports whether the action returned a result without "error".
func (r RunResult) Success() bool { return r.Status == whisk.StatusSuccess }

// ApplicationError reports whether the action returned {"error": …}.
func (r RunResult) ApplicationError() bool { return r.Status == whisk.StatusApplicationError }

// DeveloperError reports whether the action failed: it crashed, did not
// return an object or array, or the proxy could not run it.
func (r RunResult) DeveloperError() bool { return r.Status == whisk.StatusDeveloperError }

// Init sends POST /init. When the proxy refuses or fails to load the code,
// the error wraps ErrInit and carries the proxy's "error" message; other
// errors are transport failures, or ctx's error.
func (c *Client) Init(ctx context.Context, req *InitRequest) error {
	body, err := appendInitRequest(nil, req)
	if err != nil {
		return err
	}
	status, _, resp, err := c.roundTrip(ctx, "/init", body, nil)
	if err != nil {
		return fmt.Errorf("runtime /init: %w", err)
	}
	if status == statusOK {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInit, errorMessage(status, resp))
}

// Run sends POST /run and classifies the answer. The error is non-nil only
// when no answer came: a transport failure (the proxy died, the connection
// broke) or the end of ctx, which aborts the call at once. A /run is never
// retried.
func (c *Client) Run(ctx context.Context, req *RunRequest) (RunResult, error) {
	status, appError, body, err := c.roundTrip(ctx, "/run", nil, req)
	if err != nil {
		return RunResult{}, fmt.Errorf("runtime /run: %w", err)
	}
	res := RunResult{StatusCode: status, Body: compact(body), Status: whisk.StatusDeveloperError}
	switch kind := classifyResult(body, true); {
	case status == statusOK && kind == resultOK:
		res.Status = whisk.StatusSuccess
	case kind == resultAppError && (status == statusOK || appError):
		res.Status = whisk.StatusApplicationError
	case status == statusOK:
		res.Body = errorBody("The action did not produce a valid JSON response: " + truncate(body, 200))
	case kind != resultAppError:
		res.Body = errorBody(msgAbnormalRun)
	}
	return res, nil
}

// Close closes the idle connections; calls after it fail with ErrClosed and
// connections in use are closed when their call ends.
func (c *Client) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.closed = true
	c.mu.Unlock()
	for _, cc := range idle {
		cc.c.Close()
	}
	return nil
}

// clientConn is one connection with its reusable buffers.
type clientConn struct {
	c   net.Conn
	r   *bufio.Reader
	buf []byte // request head and small bodies
	enc []byte // encoded RunRequest
	dl  bool   // a deadline is set on c
	h   head
}

func (c *Client) get(ctx context.Context) (*clientConn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if n := len(c.idle); n > 0 {
		cc := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return cc, nil
	}
	c.mu.Unlock()
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	return &clientConn{c: conn, r: bufio.NewReaderSize(conn, 16<<10)}, nil
}

func (c *Client) put(cc *clientConn) {
	c.mu.Lock()
	if !c.closed && len(c.idle) < maxIdleConns {
		c.idle = append(c.idle, cc)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	cc.c.Close()
}

// aLongTimeAgo is a deadline in the past: it aborts blocked I/O at once.
var aLongTimeAgo = time.Unix(1, 0)

// roundTrip POSTs body, or run encoded when it is not nil, to path and
// returns the status, whether the application-error marker was set, and the
// response body.
func (c *Client) roundTrip(ctx context.Context, path string, body []byte, run *RunRequest) (int, bool, []byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, nil, err
	}
	cc, err := c.get(ctx)
	if err != nil {
		return 0, false, nil, err
	}
	if d, ok := ctx.Deadline(); ok {
		cc.c.SetDeadline(d)
		cc.dl = true
	} else if cc.dl {
		cc.c.SetDeadline(time.Time{})
		cc.dl = false
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { cc.c.SetDeadline(aLongTimeAgo) })
	}
	if run != nil {
		cc.enc = appendRunRequest(cc.enc[:0], run)
		body = cc.enc
	}
	status, appError, resp, keep, err := cc.exchange(path, body)
	if cap(cc.enc) > 1<<20 {
		cc.enc = nil
	}
	if stop != nil && !stop() {
		// ctx ended during the call: the connection's deadline is spoiled.
		keep = false
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		cc.c.Close()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return 0, false, nil, ctxErr
		}
		// The connection's deadline can fire a moment before ctx's timer.
		if d, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(d) {
			return 0, false, nil, context.DeadlineExceeded
		}
		return 0, false, nil, err
	}
	if keep {
		c.put(cc)
	} else {
		cc.c.Close()
	}
	return status, appError, resp, nil
}

// exchange writes one request and reads its response.
func (cc *clientConn) exchange(path string, body []byte) (status int, appError bool, resp []byte, keep bool, err error) {
	b := append(cc.buf[:0], "POST "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: runtime\r\nContent-Type: application/json\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	if err = writeMessage(cc.c, &cc.buf, b, body); err != nil {
		return 0, false, nil, false, err
	}
	http10 := false
	for {
		line, err := readHeadLine(cc.r)
		if err != nil {
			return 0, false, nil, false, err
		}
		// "HTTP/1.1 200 OK"
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
			return 0, false, nil, false, fmt.Errorf("%w: malformed status line %q", ErrProtocol, truncate(line, 64))
		}
		http10 = line[7] == '0'
		status = 0
		for _, d := range line[9:12] {
			if d < '0' || d > '9' {
				return 0, false, nil, false, fmt.Errorf("%w: malformed status line %q", ErrProtocol, truncate(line, 64))
			}
			status = status*10 + int(d-'0')
		}
		if err := readHeaders(cc.r, &cc.h); err != nil {
			return 0, false, nil, false, err
		}
		if status >= 200 {
			break
		}
		// 1xx: an interim response; the real one follows.
	}
	h := &cc.h
	keep = !h.close && (!http10 || h.keepAlive)
	switch {
	case h.chunked:
		resp, err = readChunked(cc.r, nil, maxResponseBody)
		if errors.Is(err, errBodyTooLarge) {
			return 0, false, nil, false, fmt.Errorf("%w: response body over %d bytes", ErrProtocol, maxResponseBody)
		}
	case h.contentLength >= 0:
		if h.contentLength > maxResponseBody {
			return 0, false, nil, false, fmt.Errorf("%w: response body of %d bytes", ErrProtocol, h.contentLength)
		}
		resp = make([]byte, h.contentLength)
		_, err = io.ReadFull(cc.r, resp)
	case status == statusNoContent || status == statusNotModified:
	default:
		keep = false
		resp, err = io.ReadAll(io.LimitReader(cc.r, maxResponseBody+1))
	}
	if err != nil {
		return 0, false, nil, false, err
	}
	if len(resp) > maxResponseBody {
		return 0, false, nil, false, fmt.Errorf("%w: response body over %d bytes", ErrProtocol, maxResponseBody)
	}
	return status, h.appError, resp, keep, nil
}

// appendRunRequest encodes r as the /run body, as encoding/json would but
// without reflection.
func appendRunRequest(b []byte, r *RunRequest) []byte {
	b = append(b, `{"value":`...)
	b = appendRunValue(b, r)
	b = append(b, ',')
	b = appendRunContext(b, r)
	return append(b, '}')
}

// appendSplitRun encodes r as Gust's launchers read a run (protocol.go): the
// context object, a tab, the value.
func appendSplitRun(b []byte, r *RunRequest) []byte {
	b = append(b, '{')
	b = appendRunContext(b, r)
	b = append(b, "}\t"...)
	return appendRunValue(b, r)
}

// appendRunValue appends r's value, {} when it has none.
func appendRunValue(b []byte, r *RunRequest) []byte {
	if v := bytes.TrimSpace(r.Value); len(v) > 0 {
		return append(b, v...)
	}
	return append(b, "{}"...)
}

// appendRunContext appends the members of r's context: every field but the
// value, without braces.
func appendRunContext(b []byte, r *RunRequest) []byte {
	b = append(b, `"namespace":`...)
	b = appendJSONString(b, r.Namespace)
	b = append(b, `,"action_name":`...)
	b = appendJSONString(b, r.ActionName)
	b = append(b, `,"action_version":`...)
	b = appendJSONString(b, r.ActionVersion)
	b = append(b, `,"activation_id":`...)
	b = appendJSONString(b, r.ActivationID)
	b = append(b, `,"transaction_id":`...)
	b = appendJSONString(b, r.TransactionID)
	b = append(b, `,"deadline":`...)
	b = appendJSONString(b, r.Deadline)
	if r.APIKey != "" {
		b = append(b, `,"api_key":`...)
		b = appendJSONString(b, r.APIKey)
	}
	return b
}

// appendInitRequest encodes r as the /init body. The code, megabytes for a
// compiled Go action, is escaped by appendJSONString, several times faster
// than encoding/json.
func appendInitRequest(b []byte, r *InitRequest) ([]byte, error) {
	v := &r.Value
	env := []byte("{}")
	if len(v.Env) > 0 {
		var err error
		if env, err = json.Marshal(v.Env); err != nil {
			return nil, err
		}
	}
	b = slices.Grow(b, len(v.Code)+len(v.Name)+len(v.Main)+len(env)+64)
	b = append(b, `{"value":{"name":`...)
	b = appendJSONString(b, v.Name)
	b = append(b, `,"main":`...)
	b = appendJSONString(b, v.Main)
	b = append(b, `,"code":`...)
	b = appendJSONString(b, v.Code)
	b = append(b, `,"binary":`...)
	b = strconv.AppendBool(b, v.Binary)
	b = append(b, `,"env":`...)
	b = append(b, env...)
	return append(b, "}}"...), nil
}

// errorMessage is the "error" text of a failed answer's body.
func errorMessage(status int, body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			return s
		}
		return string(e.Error)
	}
	if len(bytes.TrimSpace(body)) > 0 {
		return fmt.Sprintf("status %d: %s", status, truncate(body, 200))
	}
	return fmt.Sprintf("status %d", status)
}
