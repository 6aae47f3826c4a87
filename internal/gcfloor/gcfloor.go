// Package gcfloor keeps Go's garbage collector from running while the heap
// is small.
//
// With GOGC=100 the collector runs each time the heap doubles. Gust's live
// heap is a few megabytes, and a warm invocation allocates about 9 kB, so at
// 20,000 invocations a second gust up collected about 40 times a second.
// Most of a small heap's collection is fixed cost (waking the mark workers on
// every P, stopping the world twice, sweeping), and its memory traffic
// evicts the caches of the requests in flight. A floor on the heap goal
// makes collections rare while the heap is small, and changes nothing once
// the live heap is past half the floor: then the goal is GOGC=100's again.
package gcfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// Default is the floor Gust's processes use. Up to it, the heap costs at most
// this much more memory than with GOGC=100.
const Default = 64 << 20

// heapMinimum is the runtime's smallest heap goal at GOGC=100, scaled by
// GOGC/100 at other settings: it is the goal before the first collection
// and for a nearly empty heap. A GOGC above floor/heapMinimum*100 would put
// that goal past the floor (at GOGC=10000, 400 MB).
const heapMinimum = 4 << 20

// Start sets the heap goal to at least floor bytes, and keeps it there: after
// each collection it sets GOGC from the live heap. It does nothing if the
// GOGC environment variable is set: an explicit setting wins. GOMEMLIMIT, if
// set, still caps the heap. Stop ends the adjustments (GOGC stays as last
// set); a process keeps its floor for life and needs it only in tests.
func Start(floor uint64) (stop func()) {
	if _, ok := os.LookupEnv("GOGC"); ok {
		return func() {}
	}
	var stopped atomic.Bool
	adjust(floor)
	afterGC(&stopped, func() { adjust(floor) })
	return func() { stopped.Store(true) }
}

// adjust sets GOGC so that the goal, live * (1 + GOGC/100), reaches floor.
func adjust(floor uint64) {
	debug.SetGCPercent(Percent(liveHeap(), floor))
}

// Percent is the GOGC that puts the heap goal of a live heap at floor bytes,
// and 100 when GOGC=100 already does.
func Percent(live, floor uint64) int {
	if 2*live >= floor {
		return 100
	}
	most := max(floor*100/heapMinimum, 100)
	if live == 0 {
		return int(most)
	}
	return int(min(floor*100/live-100, most))
}

func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// afterGC calls f on the finalizer goroutine after every collection until
// stopped: a sentinel object unreachable from the start is finalized by the
// next collection, and its finalizer sets up the next sentinel.
func afterGC(stopped *atomic.Bool, f func()) {
	s := new(sentinel)
	runtime.SetFinalizer(s, func(*sentinel) {
		if stopped.Load() {
			return
		}
		f()
		afterGC(stopped, f)
	})
}

// sentinel is large enough not to be batched with other tiny objects, whose
// finalizers run only when the whole batch is unreachable.
type sentinel struct{ _ [16]byte }
