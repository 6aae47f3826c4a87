package gateway

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// listener keeps the connections the gateway accepted, so that a stop can
// close at once those that never sent a byte. fasthttp serves a new
// connection as an active one from the start, waiting for its first request
// for up to readTimeout, and its shutdown waits for active connections: one
// spare connection (browsers open them ahead of need; so do load
// generators) held a stop for the whole ShutdownTimeout.
type listener struct {
	net.Listener
	once   sync.Once
	closed error

	mu    sync.Mutex
	conns map[*conn]struct{}
}

func newListener(ln net.Listener) *listener {
	return &listener{Listener: ln, conns: map[*conn]struct{}{}}
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &conn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

// Close closes the listener once; fasthttp's shutdown closes it again.
func (l *listener) Close() error {
	l.once.Do(func() { l.closed = l.Listener.Close() })
	return l.closed
}

// closeUnused ends the connections that have not sent a byte, and have
// none waiting to be read. Call it after Close: no connection comes after.
func (l *listener) closeUnused() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		if !c.used.Load() && !pending(c.Conn) {
			// A read timeout, not a close: fasthttp answers it with a quiet
			// 408 and lets go, where a closed connection is an error it
			// hands to the error handler as a failed request.
			c.Conn.SetReadDeadline(time.Now())
		}
	}
}

// conn marks itself used at its first byte read.
type conn struct {
	net.Conn
	l    *listener
	used atomic.Bool
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && !c.used.Load() {
		c.used.Store(true)
	}
	return n, err
}

func (c *conn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}
