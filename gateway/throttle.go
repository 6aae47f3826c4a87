package gateway

import (
	"sync"
	"sync/atomic"
)

// nsThrottle is one namespace's invocation counters: invocations in the
// current minute window, and invocations in flight. Lock-free: the hot path
// pays a few atomic operations.
type nsThrottle struct {
	window   atomic.Int64 // unix minute the count belongs to
	count    atomic.Int64
	inflight atomic.Int64
}

// acquire admits one invocation at unix minute `minute`, or returns
// ErrThrottled with OpenWhisk's message. An admitted invocation must call
// release when the gateway is done with it.
func (t *nsThrottle) acquire(minute int64, perMinute, concurrent int) error {
	if w := t.window.Load(); w != minute && t.window.CompareAndSwap(w, minute) {
		t.count.Store(0) // a new window; a racing increment may be lost, never invented
	}
	if n := t.count.Add(1); n > int64(perMinute) {
		t.count.Add(-1)
		return errorf(ErrThrottled, "Too many requests in the last minute (count: %d, allowed: %d).", n-1, perMinute)
	}
	if n := t.inflight.Add(1); n > int64(concurrent) {
		t.inflight.Add(-1)
		t.count.Add(-1) // refused: not an invocation of this minute
		return errorf(ErrThrottled, "Too many concurrent requests in flight (count: %d, allowed: %d).", n-1, concurrent)
	}
	return nil
}

func (t *nsThrottle) release() { t.inflight.Add(-1) }

// throttles holds one nsThrottle per namespace for the life of the gateway,
// so counts survive auth cache refreshes. Only auth cache misses look here.
type throttles struct {
	mu sync.Mutex
	m  map[string]*nsThrottle
}

func newThrottles() *throttles { return &throttles{m: make(map[string]*nsThrottle)} }

func (t *throttles) get(ns string) *nsThrottle {
	t.mu.Lock()
	defer t.mu.Unlock()
	th := t.m[ns]
	if th == nil {
		th = &nsThrottle{}
		t.m[ns] = th
	}
	return th
}
