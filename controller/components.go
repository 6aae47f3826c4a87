package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// Annotations and parameters with a meaning for compositions.
const (
	annConductor     = "conductor"       // an action that directs a composition
	annProvideAPIKey = "provide-api-key" // the action may see the caller's key
	annBinding       = "binding"         // the binding a component was reached through
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
	members []member
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

// member is one parameter: its key and its encoded `"key":value`.
type member struct {
	key string
	enc []byte
}

var emptyArgs = json.RawMessage("{}")

// newComponent prepares a for running. binding is nil or the binding
// annotation of its records.
func newComponent(f whisk.FQN, a *whisk.Action, public bool, binding whisk.KeyValues) *component {
	c := &component{
		fqn: f, action: a, kind: kindOf(a), public: public,
		initEnv:       a.Parameters.InitEnv(),
		provideAPIKey: a.Annotations.Bool(annProvideAPIKey),
		binding:       binding,
		stepAnns:      append(whisk.KeyValues{{Key: whisk.AnnCausedBy, Value: json.RawMessage(`"` + causedBySequence + `"`)}}, binding...),
		args:          emptyArgs,
	}
	if c.kind == kindSequence {
		return c // a sequence passes its input on as it is (OpenWhisk)
	}
	for _, p := range a.Parameters {
		if p.Init {
			continue
		}
		k, _ := json.Marshal(p.Key) // a string: cannot fail
		v := []byte(p.Value)
		if len(v) == 0 {
			v = []byte("null")
		}
		enc := append(append(append(make([]byte, 0, len(k)+1+len(v)), k...), ':'), v...)
		m := member{key: p.Key, enc: enc}
		replaced := false
		for i := range c.members { // the last definition of a key wins
			if c.members[i].key == p.Key {
				c.members[i], replaced = m, true
			}
		}
		if !replaced {
			c.members = append(c.members, m)
		}
	}
	if len(c.members) > 0 {
		b := []byte{'{'}
		for i, m := range c.members {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, m.enc...)
		}
		c.args = append(b, '}')
	}
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
		size += len(m.enc) + 1
	}
	out := make(json.RawMessage, 0, size)
	out = append(out, '{')
	for _, m := range c.members {
		if _, ok := keys[m.key]; ok {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, m.enc...)
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

// pkgDoc is what resolution reads of a stored package or binding (the
// gateway owns the document; see gateway/packages.go).
type pkgDoc struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Publish   bool   `json:"publish"`
	Binding   struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"binding"`
	Parameters whisk.KeyValues `json:"parameters"`
}

func (p *pkgDoc) public() bool {
	return p.Binding.Name == "" && (p.Publish || p.Namespace == whisk.SystemNamespace)
}

// maxBindingDepth bounds the bindings resolution follows (as the gateway).
const maxBindingDepth = 8

// resolve reads action f from the store, through its package and binding,
// with the parameters package < binding < action, as the gateway does.
func (c *Controller) resolve(ctx context.Context, f whisk.FQN) (*component, error) {
	if f.Package == "" {
		a, err := c.loadAction(ctx, f.Namespace, f.Name, f)
		if err != nil {
			return nil, err
		}
		return newComponent(f, a, false, nil), nil
	}
	self, err := c.loadPackage(ctx, f.Namespace, f.Package, f)
	if err != nil {
		return nil, err
	}
	root := self
	var chain []*pkgDoc // bindings, outermost first
	for root.Binding.Name != "" {
		b := root.Binding
		if len(chain) == maxBindingDepth || (b.Namespace == root.Namespace && b.Name == root.Name) {
			return nil, fmt.Errorf("%w: %s: package binding /%s/%s is circular", errComponentMissing, f, self.Namespace, self.Name)
		}
		chain = append(chain, root)
		next, err := c.loadPackage(ctx, b.Namespace, b.Name, f)
		if err != nil {
			return nil, err
		}
		if b.Namespace != root.Namespace && !next.public() {
			return nil, fmt.Errorf("%w: %s: package /%s/%s is not shared", errComponentForbidden, f, b.Namespace, b.Name)
		}
		root = next
	}
	a, err := c.loadAction(ctx, root.Namespace, root.Name+"/"+f.Name, f)
	if err != nil {
		return nil, err
	}
	params := root.Parameters
	for i := len(chain) - 1; i >= 0; i-- {
		params = params.Merge(chain[i].Parameters)
	}
	if len(params) > 0 {
		merged := *a
		merged.Parameters = params.Merge(a.Parameters)
		a = &merged
	}
	var binding whisk.KeyValues
	if self != root {
		binding = whisk.KeyValues{}.Set(annBinding, f.Namespace+"/"+f.Package)
	}
	return newComponent(f, a, self.public(), binding), nil
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

func (c *Controller) loadPackage(ctx context.Context, ns, name string, f whisk.FQN) (*pkgDoc, error) {
	doc, err := c.store.GetEntity(ctx, store.Key{Namespace: ns, Collection: store.Packages, Name: name})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("%w: %s: package /%s/%s does not exist", errComponentMissing, f, ns, name)
	case errors.Is(err, store.ErrInvalid):
		return nil, fmt.Errorf("%w: %s: %v", errComponentInvalid, f, err)
	case err != nil:
		return nil, fmt.Errorf("controller: read package /%s/%s: %w", ns, name, err)
	}
	p := new(pkgDoc)
	if err := json.Unmarshal(doc, p); err != nil {
		return nil, fmt.Errorf("%w: %s: corrupt package document: %v", errComponentInvalid, f, err)
	}
	return p, nil
}
