package controller

import (
	"fmt"

	"github.com/gust-faas/gust/whisk"
)

// placeKind tells which rule placed an activation (see doc.go).
type placeKind uint8

const (
	placedRemembered placeKind = iota + 1 // this controller's last placement
	placedWarm                            // a heartbeat listed a warm sandbox
	placedHome                            // home by hash, or the coprime probe
	placedForced                          // every invoker full: least loaded
)

func (k placeKind) String() string {
	switch k {
	case placedRemembered:
		return "remembered"
	case placedWarm:
		return "warm"
	case placedHome:
		return "home"
	case placedForced:
		return "forced"
	}
	return "none"
}

// memoryCost is the memory, in MB, one activation of a books on its
// invoker: the memory limit, shared by the activations one sandbox runs at
// once when the action allows concurrency.
func memoryCost(a *whisk.Action) int64 {
	mem := a.Limits.Memory
	if mem <= 0 {
		mem = whisk.DefaultMemory
	}
	if c := a.Limits.Concurrency; c > 1 {
		return int64((mem + c - 1) / c)
	}
	return int64(mem)
}

// placementHash hashes an action's namespace and name (FNV-1a, then a
// splitmix64 finish so that the low bits used modulo a small invoker count
// are well mixed).
func placementHash(ns, name string) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := 0; i < len(ns); i++ {
		h = (h ^ uint64(ns[i])) * prime
	}
	h = (h ^ '/') * prime
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * prime
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// placeReq is what a pick needs to know about one activation.
type placeReq struct {
	key  warmKey
	hash uint64
	cost int64 // MB
}

func newPlaceReq(a *whisk.Action) placeReq {
	return placeReq{
		key:  warmKey{ns: a.Namespace, name: a.Name, rev: a.Rev},
		hash: placementHash(a.Namespace, a.Name),
		cost: memoryCost(a),
	}
}

// pick chooses an invoker for req at now (controller mono ns) and books
// req.cost on it; the caller releases it when the activation is answered.
// overload bounds force-placement (Config.OverloadFactor, 0 = unbounded).
func (r *registry) pick(req *placeReq, now, deadAfter int64, overload float64) (*invoker, placeKind, error) {
	s := r.snap.Load()
	n := len(s.invs)
	if n == 0 {
		return nil, 0, fmt.Errorf("%w: none has sent a heartbeat", ErrNoInvokers)
	}
	// 1. Where this controller last placed the revision.
	p := r.aff.get(&req.key)
	if p != nil {
		if inv := p.inv.Load(); inv != nil && inv.alive(now, deadAfter) && inv.tryAcquire(req.cost) {
			r.aff.remember(p, &req.key, inv, now)
			return inv, placedRemembered, nil
		}
	}
	home := int(req.hash % uint64(n))
	step := s.steps[int(req.hash%uint64(len(s.steps)))]
	// 2. An invoker that advertises an idle warm sandbox, in probe order.
	for i, j := 0, home; i < n; i, j = i+1, (j+step)%n {
		inv := s.invs[j]
		if inv.alive(now, deadAfter) && inv.isWarm(&req.key) && inv.tryAcquire(req.cost) {
			r.aff.remember(p, &req.key, inv, now)
			return inv, placedWarm, nil
		}
	}
	// 3. Home, then the coprime probe.
	for i, j := 0, home; i < n; i, j = i+1, (j+step)%n {
		inv := s.invs[j]
		if inv.alive(now, deadAfter) && inv.tryAcquire(req.cost) {
			r.aff.remember(p, &req.key, inv, now)
			return inv, placedHome, nil
		}
	}
	// 4. All full: the least loaded alive invoker that can hold the action.
	var best *invoker
	var bestFree int64
	alive := false
	for _, inv := range s.invs {
		if !inv.alive(now, deadAfter) {
			continue
		}
		alive = true
		mem := inv.memoryMB.Load()
		if mem < req.cost {
			continue
		}
		if free := mem - inv.load(); best == nil || free > bestFree {
			best, bestFree = inv, free
		}
	}
	switch {
	case !alive:
		return nil, 0, fmt.Errorf("%w: none of %d has sent a heartbeat in %v", ErrNoInvokers, n, nanos(deadAfter))
	case best == nil:
		return nil, 0, fmt.Errorf("%w: no alive invoker has %d MB of memory", ErrOverloaded, req.cost)
	}
	if overload > 0 {
		if mem := best.memoryMB.Load(); float64(mem-bestFree+req.cost) > float64(mem)*(1+overload) {
			return nil, 0, fmt.Errorf("%w: every invoker is full and queues more than %.3g times its memory", ErrOverloaded, overload)
		}
	}
	best.inflight.Add(req.cost)
	r.aff.remember(p, &req.key, best, now)
	return best, placedForced, nil
}
