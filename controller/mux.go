package controller

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Outcomes of a round trip other than a reply.
var (
	errNoResponders = errors.New("no responders")
	errWaitElapsed  = errors.New("wait elapsed")
	errStopped      = errors.New("controller stopped")
)

const muxShards = 16 // a power of two

// mux matches replies to blocking requests over one wildcard subscription
// on "<inbox>.*": each request gets the reply subject "<inbox>.<token>".
//
// Every call books memory on an invoker; exactly one party releases it,
// whoever removes the call from its shard: the waiter (reply, failed send,
// stop), the reply handler (a late reply to an abandoned call), or the
// sweeper (an abandoned call past its expiry).
type mux struct {
	prefix  string // "<inbox>."
	next    atomic.Uint64
	shards  [muxShards]muxShard
	calls   sync.Pool
	stopped <-chan struct{}
}

type muxShard struct {
	mu    sync.Mutex
	calls map[uint64]*call
	_     [40]byte // keep shards on separate cache lines
}

// call is one request waiting for its reply. A call is pooled with its
// channel and timer; both are idle whenever the call is in the pool.
type call struct {
	ch      chan *nats.Msg // cap 1; sent to under the shard lock
	timer   *time.Timer
	inv     *invoker
	cost    int64
	expires int64 // controller mono ns; set when abandoned
	gone    bool  // abandoned: the waiter returned before the reply
}

func newMux(inbox string, stopped <-chan struct{}) *mux {
	m := &mux{prefix: inbox + ".", stopped: stopped}
	for i := range m.shards {
		m.shards[i].calls = map[uint64]*call{}
	}
	m.calls.New = func() any {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return &call{ch: make(chan *nats.Msg, 1), timer: t}
	}
	return m
}

func (m *mux) subject() string { return m.prefix + "*" }

func (m *mux) shard(tok uint64) *muxShard { return &m.shards[tok&(muxShards-1)] }

// handle is the subscription callback: it hands a reply to its waiter.
func (m *mux) handle(msg *nats.Msg) {
	rest, ok := strings.CutPrefix(msg.Subject, m.prefix)
	if !ok {
		return
	}
	tok, err := strconv.ParseUint(rest, 36, 64)
	if err != nil {
		return
	}
	sh := m.shard(tok)
	sh.mu.Lock()
	c := sh.calls[tok]
	if c == nil {
		sh.mu.Unlock()
		return // expired, or not ours
	}
	delete(sh.calls, tok)
	if c.gone {
		sh.mu.Unlock()
		c.inv.release(c.cost)
		m.put(c)
		return
	}
	c.ch <- msg // never blocks: one registration, one send
	sh.mu.Unlock()
}

// roundTrip sends data to inv with a reply subject and waits up to wait for
// the reply. The caller has booked cost on inv. On errWaitElapsed and on a
// context error the call stays registered, and keeps the booking, until the
// late reply or until expires (controller mono ns).
func (m *mux) roundTrip(ctx context.Context, nc *nats.Conn, inv *invoker, cost int64, data []byte, wait time.Duration, expires int64) (*nats.Msg, error) {
	tok := m.next.Add(1)
	c := m.calls.Get().(*call)
	c.inv, c.cost, c.expires, c.gone = inv, cost, expires, false
	sh := m.shard(tok)
	sh.mu.Lock()
	sh.calls[tok] = c
	sh.mu.Unlock()

	var b strings.Builder
	b.Grow(len(m.prefix) + 13)
	b.WriteString(m.prefix)
	var buf [13]byte
	b.Write(strconv.AppendUint(buf[:0], tok, 36))
	if err := nc.PublishRequest(inv.subject, b.String(), data); err != nil {
		m.finish(sh, tok, c)
		return nil, err
	}

	c.timer.Reset(wait)
	var why error
	select {
	case msg := <-c.ch:
		c.timer.Stop()
		return m.reply(c, msg)
	case <-c.timer.C:
		why = errWaitElapsed
	case <-ctx.Done():
		c.timer.Stop()
		why = ctx.Err()
	case <-m.stopped:
		c.timer.Stop()
		why = errStopped
	}
	sh.mu.Lock()
	if sh.calls[tok] == c {
		// Once stopped, no sweeper comes for an abandoned call.
		if why == errStopped || m.isStopped() {
			delete(sh.calls, tok)
			sh.mu.Unlock()
			inv.release(cost)
			m.put(c)
			return nil, why
		}
		c.gone = true
		sh.mu.Unlock()
		return nil, why
	}
	sh.mu.Unlock()
	// The handler took the call off the table and sent the reply under the
	// lock just taken: it is in the channel.
	return m.reply(c, <-c.ch)
}

func (m *mux) isStopped() bool {
	select {
	case <-m.stopped:
		return true
	default:
		return false
	}
}

// reply releases c after its reply and recycles it.
func (m *mux) reply(c *call, msg *nats.Msg) (*nats.Msg, error) {
	c.inv.release(c.cost)
	m.put(c)
	if len(msg.Data) == 0 && msg.Header.Get("Status") == "503" {
		return nil, errNoResponders
	}
	return msg, nil
}

// finish removes a call that was never sent.
func (m *mux) finish(sh *muxShard, tok uint64, c *call) {
	sh.mu.Lock()
	delete(sh.calls, tok)
	sh.mu.Unlock()
	c.inv.release(c.cost)
	m.put(c)
}

func (m *mux) put(c *call) {
	c.inv = nil
	m.calls.Put(c)
}

// sweep drops abandoned calls that expired before now, releasing their
// bookings, and every abandoned call when all is set (at shutdown).
func (m *mux) sweep(now int64, all bool) (expired int) {
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for tok, c := range sh.calls {
			if c.gone && (all || c.expires < now) {
				delete(sh.calls, tok)
				c.inv.release(c.cost)
				m.put(c)
				expired++
			}
		}
		sh.mu.Unlock()
	}
	return expired
}

// pending counts registered calls, waiting or abandoned.
func (m *mux) pending() int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += len(sh.calls)
		sh.mu.Unlock()
	}
	return n
}
