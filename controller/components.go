package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gust-faas/gust/internal/entity"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// Annotations and parameters with a meaning for compositions.
const (
	annConductor     = "conductor"       // an action that directs a composition
	annProvideAPIKey = "provide-api-key" // the action may see the caller's key
	annBinding       = entity.AnnBinding // the binding a component was reached through
	paramActions     = "_actions"        // OpenWhisk keeps a sequence's components here too
	causedBySequence = "sequence"        // the causedBy annotation of every step
)

// kind of an action, as a composition runs it.
type kind uint8

const (
	kindAtomic    kind = iota // one activation on an invoker
	kindSequence              // kind "sequence": components run in turn, inline
	kindConductor             // annotation conductor: a composition it directs
)

// kindOf tells how a runs. A sequence with a conductor annotation is a
// sequence (OpenWhisk: a sequence has no code to conduct with).
func kindOf(a *whisk.Action) kind {
	if a.Exec.Kind == whisk.KindSequence {
		return kindSequence
	}
	for i := range a.Annotations {
		if a.Annotations[i].Key == annConductor {
			if a.Annotations.Bool(annConductor) {
				return kindConductor
			}
			break
		}
	}
	return kindAtomic
}

// component is an action a composition runs, resolved through its package
// or binding and prepared once per load.
type component struct {
	fqn    whisk.FQN
	action *whisk.Action // parameters: package < binding < action
	kind   kind
	// public: in a package other namespaces may use.
	public bool
	// members are the non-init parameters, pre-encoded; args is their
	// object, the arguments of a step without input.
	members []entity.Member
	args    json.RawMessage
	initEnv map[string]string
	// provideAPIKey: the caller's key goes to the action (__OW_API_KEY).
	provideAPIKey bool
	// binding holds the binding annotation when reached through one; stepAnns
	// are the annotations of its step records (causedBy, binding).
	binding  whisk.KeyValues
	stepAnns whisk.KeyValues

	expires int64 // unix ns
}

// newComponent prepares a for running. binding is nil or the binding
// annotation of its records.
func newComponent(f whisk.FQN, a *whisk.Action, public bool, binding whisk.KeyValues) *component {
	c := &component{
		fqn: f, action: a, kind: kindOf(a), public: public,
		initEnv:       a.Parameters.InitEnv(),
		provideAPIKey: a.Annotations.Bool(annProvideAPIKey),
		binding:       binding,
		stepAnns:      append(whisk.KeyValues{{Key: whisk.AnnCausedBy, Value: json.RawMessage(`"` + causedBySequence + `"`)}}, binding...),
	}
	params := a.Parameters
	if c.kind == kindSequence {
		params = nil // a sequence passes its input on as it is (OpenWhisk)
	}
	p := entity.EncodeParams(params)
	c.members, c.args = p.Members, p.Args
	return c
}

// argsFor merges the component's parameters with a step's input: the
// input's top-level members override the parameters (OpenWhisk's
// `parameters merge payload`). An input that is not an object (an array
// result) is passed on as it is; no input means the parameters alone.
func (c *component) argsFor(input json.RawMessage) (json.RawMessage, error) {
	input = bytes.TrimSpace(input)
	if len(input) == 0 || string(input) == "null" {
		return c.args, nil
	}
	if len(c.members) == 0 || input[0] != '{' {
		return input, nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(input, &keys); err != nil {
		return nil, fmt.Errorf("input is not a JSON object: %w", err)
	}
	size := len(input) + 1
	for _, m := range c.members {
		size += len(m.Enc) + 1
	}
	out := make(json.RawMessage, 0, size)
	out = append(out, '{')
	for _, m := range c.members {
		if _, ok := keys[m.Key]; ok {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, m.Enc...)
	}
	if inner := bytes.TrimSpace(input[1 : len(input)-1]); len(inner) > 0 {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, inner...)
	}
	return append(out, '}'), nil
}

// Why a component cannot run; the runners turn these into records.
var (
	errComponentMissing   = errors.New("component does not exist")
	errComponentForbidden = errors.New("component not accessible")
	errComponentInvalid   = errors.New("component is not a valid action name")
)

// componentCache keeps resolved components for a TTL. Components that do
// not exist are not cached, so a component created after a failure is
// found at once.
type componentCache struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[whisk.FQN]*component
}

// maxComponentEntries bounds the cache; past it, expired entries go.
const maxComponentEntries = 1 << 14

func newComponentCache(ttl time.Duration) *componentCache {
	return &componentCache{ttl: ttl, m: make(map[whisk.FQN]*component)}
}

func (cc *componentCache) get(f whisk.FQN, now int64) *component {
	cc.mu.RLock()
	c := cc.m[f]
	cc.mu.RUnlock()
	if c != nil && now < c.expires {
		return c
	}
	return nil
}

func (cc *componentCache) put(c *component, now int64) {
	c.expires = now + int64(cc.ttl)
	cc.mu.Lock()
	if len(cc.m) >= maxComponentEntries {
		for k, v := range cc.m {
			if v.expires <= now {
				delete(cc.m, k)
			}
		}
		if len(cc.m) >= maxComponentEntries {
			clear(cc.m)
		}
	}
	cc.m[c.fqn] = c
	cc.mu.Unlock()
}

// component returns action f, resolved and cached. Errors wrap
// errComponentMissing or errComponentForbidden, or are the store's.
func (c *Controller) component(ctx context.Context, f whisk.FQN) (*component, error) {
	now := time.Now().UnixNano()
	if comp := c.comps.get(f, now); comp != nil {
		return comp, nil
	}
	comp, err := c.resolve(ctx, f)
	if err != nil {
		return nil, err
	}
	c.comps.put(comp, now)
	return comp, nil
}

// resolve reads action f from the store, through its package and binding,
// with the parameters package < binding < action, as the gateway does
// (internal/entity).
func (c *Controller) resolve(ctx context.Context, f whisk.FQN) (*component, error) {
	l := entity.Loader[*entity.PackageDoc]{
		Package: func(ctx context.Context, ns, name string) (*entity.PackageDoc, error) {
			return c.loadPackage(ctx, ns, name, f)
		},
		Action: func(ctx context.Context, ns, name string) (*whisk.Action, error) {
			return c.loadAction(ctx, ns, name, f)
		},
	}
	r, err := entity.ResolveAction(ctx, l, f.Namespace, f.Package, f.Name)
	var ce *entity.ChainError
	if errors.As(err, &ce) {
		switch ce.Err {
		case entity.ErrCircular:
			return nil, fmt.Errorf("%w: %s: package binding /%s is circular", errComponentMissing, f, ce.Named)
		case entity.ErrNotShared:
			return nil, fmt.Errorf("%w: %s: package /%s is not shared", errComponentForbidden, f, ce.Bound)
		}
		err = ce.Err // the loaders' errors, which say what they are
	}
	if err != nil {
		return nil, err
	}
	return newComponent(f, r.Action, r.Public, r.Binding), nil
}

func (c *Controller) loadAction(ctx context.Context, ns, name string, f whisk.FQN) (*whisk.Action, error) {
	doc, err := c.store.GetEntity(ctx, store.Key{Namespace: ns, Collection: store.Actions, Name: name})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("%w: %s", errComponentMissing, f)
	case errors.Is(err, store.ErrInvalid):
		return nil, fmt.Errorf("%w: %s: %v", errComponentInvalid, f, err)
	case err != nil:
		return nil, fmt.Errorf("controller: read action %s: %w", f, err)
	}
	a := new(whisk.Action)
	if err := json.Unmarshal(doc, a); err != nil {
		return nil, fmt.Errorf("%w: %s: corrupt action document: %v", errComponentInvalid, f, err)
	}
	return a, nil
}

func (c *Controller) loadPackage(ctx context.Context, ns, name string, f whisk.FQN) (*entity.PackageDoc, error) {
	doc, err := c.store.GetEntity(ctx, store.Key{Namespace: ns, Collection: store.Packages, Name: name})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("%w: %s: package /%s/%s does not exist", errComponentMissing, f, ns, name)
	case errors.Is(err, store.ErrInvalid):
		return nil, fmt.Errorf("%w: %s: %v", errComponentInvalid, f, err)
	case err != nil:
		return nil, fmt.Errorf("controller: read package /%s/%s: %w", ns, name, err)
	}
	p := new(entity.PackageDoc)
	if err := json.Unmarshal(doc, p); err != nil {
		return nil, fmt.Errorf("%w: %s: corrupt package document: %v", errComponentInvalid, f, err)
	}
	return p, nil
}
