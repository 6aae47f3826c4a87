package invoker

import (
	"context"
	"sync"
	"time"

	"github.com/gust-faas/gust/sandbox"
)

// startKind says how an activation found its sandbox; it is recorded under
// the whisk.AnnStart annotation.
type startKind uint8

const (
	startWarm startKind = iota
	startResumed
	startPrewarmed
	startCold
)

var startNames = [...]string{"warm", "resumed", "prewarmed", "cold"}

func (s startKind) String() string { return startNames[s] }

// needsInit reports whether the activation must /init the sandbox.
func (s startKind) needsInit() bool { return s >= startPrewarmed }

// cstate is a container's place in the pool's life cycle:
//
//	starting -> stem -> init -> ready <-> pausing -> paused -> resuming -> ready
//	starting ---------> init            any -> dead
//
// starting: the sandbox is being created (a cold start or a stem cell);
// stem: a started, uninitialized stem cell on its prewarm list; init: /init
// in progress for a key; ready: initialized, 0..maxConc activations;
// pausing/paused/resuming: idle and frozen or on the way; dead: out of the
// pool, being or already destroyed.
type cstate uint8

const (
	cStarting cstate = iota
	cStem
	cInit
	cReady
	cPausing
	cPaused
	cResuming
	cDead
)

// container is one sandbox in the pool with what the invoker keeps for it.
// The fields above mu-guarded ones are set before the container is shared
// (by the goroutine that starts it) and read-only afterwards.
type container struct {
	id      string
	kind    string
	mem     int
	network bool // outbound network (Spec.Network)
	sb      sandbox.Sandbox
	pauser  sandbox.Pauser // nil when the driver cannot pause
	rt      runtimeClient
	logs    *logCollector

	// Guarded by pool.mu.
	state     cstate
	key       poolKey
	kp        *keyPool
	maxConc   int
	active    int       // activations holding the container
	idleSince time.Time // when active last dropped to 0
	heldSince int64     // unix nanoseconds of the last warm grant, 0 when none (maxConc 1)
	startedAt int64     // unix nanoseconds of its cold or prewarmed start's grant, 0 once its /init ended
	links     [2]link
	on        [2]*clist
	freed     bool // its memory left the pool's account
	destroyer bool // a goroutine has taken on destroying it
	retired   bool // never reuse; destroy when the last activation leaves
	refill    bool // a stem cell taken: kick the refill at its first release
	// ready is closed when a shared (maxConc > 1) container's /init ends;
	// initFail is set before that when it failed.
	ready    chan struct{}
	initFail error

	destroyOnce sync.Once
}

// done reports whether the sandbox's processes have exited. Only for
// started containers.
func (c *container) done() bool {
	select {
	case <-c.sb.Done():
		return true
	default:
		return false
	}
}

// exitReason is the driver's account of why the sandbox died, if it can say.
func (c *container) exitReason() string {
	if r, ok := c.sb.(sandbox.ExitReporter); ok {
		return r.ExitReason()
	}
	return ""
}

// destroy releases the sandbox and the log readers; it is idempotent and
// safe to call from several goroutines (later calls return at once).
func (c *container) destroy(ctx context.Context) error {
	var err error
	c.destroyOnce.Do(func() {
		if c.rt != nil {
			c.rt.close()
		}
		if c.sb != nil {
			err = c.sb.Destroy(ctx)
		}
		if c.logs != nil {
			c.logs.close(time.Second)
		}
	})
	return err
}
