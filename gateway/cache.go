package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gust-faas/gust/internal/entity"
	"github.com/gust-faas/gust/whisk"
)

// cachedAction is an action as the invoke path needs it, prepared once per
// load: its non-init parameters pre-encoded as JSON object members, ready to
// merge with request arguments without decoding either side.
type cachedAction struct {
	action *whisk.Action // read-only: shared by concurrent invocations

	members []entity.Member // non-init parameters, in order
	args    json.RawMessage // {members...}: the arguments of a call without a body
	initEnv map[string]string
	// final: request arguments may not override the action's defined
	// parameters (annotation "final", as OpenWhisk).
	final         bool
	provideAPIKey bool

	// public: the action is in a package other namespaces may use (a
	// published package, or any package of whisk.system); see packages.go.
	public bool
	// annotations are added to the activation record (binding).
	annotations whisk.KeyValues
	// web is what the action's annotations say about web invocations.
	web webAnnotations

	expires int64 // unix nanoseconds
}

// Action annotations the gateway reads or writes.
const (
	annProvideAPIKey = "provide-api-key"
	annFinal         = "final"
	annExec          = "exec"
)

func newCachedAction(a *whisk.Action) *cachedAction {
	ca := &cachedAction{
		action:        a,
		initEnv:       a.Parameters.InitEnv(),
		final:         a.Annotations.Bool(annFinal),
		provideAPIKey: a.Annotations.Bool(annProvideAPIKey),
		web:           parseWebAnnotations(a.Annotations),
	}
	params := a.Parameters
	if a.Exec.Kind == whisk.KindSequence {
		params = nil // a sequence passes on the request's arguments alone (OpenWhisk)
	}
	p := entity.EncodeParams(params)
	ca.members, ca.args = p.Members, p.Args
	return ca
}

// actionKey names a cached action: namespace, package ("" for none), name.
type actionKey struct{ ns, pkg, name string }

// actionCache caches actions by name for a TTL, loading each missing entry
// once however many requests want it (single flight).
//
// Invalidation: invalidate bumps gen before deleting; a load remembers gen
// before reading the store and stores its result only if gen has not moved,
// so a load that raced with a write never re-inserts the old document. The
// gen is global, not per key: writes are rare, and a lost insert only costs
// one more store read.
type actionCache struct {
	ttl time.Duration

	mu sync.RWMutex
	m  map[actionKey]*cachedAction

	gen atomic.Uint64

	fmu     sync.Mutex
	flights map[actionKey]*flight
}

type flight struct {
	done chan struct{}
	ca   *cachedAction
	err  error
}

// maxActionEntries bounds the cache; past it, expired entries are swept.
const maxActionEntries = 1 << 16

func newActionCache(ttl time.Duration) *actionCache {
	return &actionCache{ttl: ttl, m: make(map[actionKey]*cachedAction), flights: make(map[actionKey]*flight)}
}

// loader reads an action from the store (through its package or binding)
// and prepares it. It is also where names are validated: only valid names
// ever enter the cache, so a hit needs no check.
type loader func(ctx context.Context, ns, pkg, name string) (*cachedAction, error)

// get returns the cached action ns/pkg/name, loading it when missing or
// expired. The strings may alias request memory: they are cloned before
// being kept.
func (ac *actionCache) get(ctx context.Context, now int64, ns, pkg, name string, load loader) (*cachedAction, error) {
	k := actionKey{ns, pkg, name}
	ac.mu.RLock()
	ca := ac.m[k]
	ac.mu.RUnlock()
	if ca != nil && now < ca.expires {
		return ca, nil
	}

	ac.fmu.Lock()
	if f := ac.flights[k]; f != nil {
		ac.fmu.Unlock()
		select {
		case <-f.done:
			return f.ca, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	k = actionKey{strings.Clone(ns), strings.Clone(pkg), strings.Clone(name)}
	f := &flight{done: make(chan struct{})}
	ac.flights[k] = f
	ac.fmu.Unlock()

	gen := ac.gen.Load()
	loaded, err := load(ctx, k.ns, k.pkg, k.name)
	if err == nil {
		f.ca = loaded
		f.ca.expires = time.Now().UnixNano() + int64(ac.ttl)
		ac.mu.Lock()
		if ac.gen.Load() == gen {
			if len(ac.m) >= maxActionEntries {
				ac.sweepLocked(now)
			}
			ac.m[k] = f.ca
		}
		ac.mu.Unlock()
	}
	f.err = err

	ac.fmu.Lock()
	if ac.flights[k] == f { // invalidate may have detached it already
		delete(ac.flights, k)
	}
	ac.fmu.Unlock()
	close(f.done)
	return f.ca, f.err
}

// invalidate forgets ns/pkg/name; the next get reads the store. A load in
// flight is detached, so requests that start after invalidate returns do
// not wait for (and get) what it read before the write.
func (ac *actionCache) invalidate(ns, pkg, name string) {
	k := actionKey{ns, pkg, name}
	ac.gen.Add(1)
	ac.mu.Lock()
	delete(ac.m, k)
	ac.mu.Unlock()
	ac.fmu.Lock()
	delete(ac.flights, k)
	ac.fmu.Unlock()
}

// invalidateAll forgets every action, for writes that may change many
// entries at once: a package's parameters or annotations reach its actions
// and every binding of it, in any namespace.
func (ac *actionCache) invalidateAll() {
	ac.gen.Add(1)
	ac.mu.Lock()
	clear(ac.m)
	ac.mu.Unlock()
	ac.fmu.Lock()
	clear(ac.flights)
	ac.fmu.Unlock()
}

func (ac *actionCache) sweepLocked(now int64) {
	for k, v := range ac.m {
		if v.expires <= now {
			delete(ac.m, k)
		}
	}
	if len(ac.m) >= maxActionEntries {
		clear(ac.m)
	}
}
