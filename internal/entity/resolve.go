package entity

import (
	"context"

	"github.com/gust-faas/gust/whisk"
)

// MaxBindingDepth bounds the bindings resolution follows. The API never
// creates a binding to a binding, but deleting a package and creating a
// binding under its name can chain them.
const MaxBindingDepth = 8

// AnnBinding is the annotation of an action's activation records when it
// was reached through a binding: "namespace/binding".
const AnnBinding = "binding"

// Ref names a package: namespace and name. The zero Ref names nothing (the
// binding of a package that is not a binding).
type Ref struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (r Ref) String() string { return r.Namespace + "/" + r.Name }

// Doc is a stored package or binding, as resolution reads it. The gateway
// and the controller decode the document into their own types.
type Doc interface {
	// Ref names the package.
	Ref() Ref
	// Bound is the package a binding points at; zero for a package.
	Bound() Ref
	// Published: the owner shares it (publish: true).
	Published() bool
	// Params are its parameters.
	Params() whisk.KeyValues
}

// PackageDoc is what resolution reads of a stored package or binding
// document, for a caller that needs nothing else of it (the gateway owns the
// document; see gateway/packages.go).
type PackageDoc struct {
	Namespace  string          `json:"namespace"`
	Name       string          `json:"name"`
	Publish    bool            `json:"publish"`
	Binding    Ref             `json:"binding"`
	Parameters whisk.KeyValues `json:"parameters"`
}

var _ Doc = (*PackageDoc)(nil)

func (p *PackageDoc) Ref() Ref                { return Ref{Namespace: p.Namespace, Name: p.Name} }
func (p *PackageDoc) Bound() Ref              { return p.Binding }
func (p *PackageDoc) Published() bool         { return p.Publish }
func (p *PackageDoc) Params() whisk.KeyValues { return p.Parameters }

// Public reports whether other namespaces may read, bind and invoke d: a
// package, not a binding, that is published or of whisk.system.
func Public(d Doc) bool {
	return d.Bound().Name == "" && (d.Published() || d.Ref().Namespace == whisk.SystemNamespace)
}

// Loader reads documents. Its errors come back from resolution as they
// are (a bound package's wrapped in a ChainError).
type Loader[P Doc] struct {
	// Package reads package or binding ns/name.
	Package func(ctx context.Context, ns, name string) (P, error)
	// Action reads action ns/name, name being "action" or "pkg/action".
	Action func(ctx context.Context, ns, name string) (*whisk.Action, error)
}

// Package is a package reached by name, bindings followed.
type Package[P Doc] struct {
	Self P // the package or binding named
	Root P // the package holding the actions: Self unless a binding
	// Params are Root's parameters overridden by the bindings' on the way,
	// Self's last.
	Params whisk.KeyValues
}

// ResolvePackage reads package ns/name and follows its bindings to the
// package that holds the actions. Errors: the Loader's reading ns/name;
// a *ChainError for a chain that cannot be followed.
func ResolvePackage[P Doc](ctx context.Context, l Loader[P], ns, name string) (Package[P], error) {
	self, err := l.Package(ctx, ns, name)
	if err != nil {
		return Package[P]{}, err
	}
	root := self
	var chain []P // bindings, outermost first
	for {
		b, owner := root.Bound(), root.Ref()
		if b.Name == "" {
			break
		}
		if len(chain) == MaxBindingDepth || b == owner {
			return Package[P]{}, &ChainError{Named: self.Ref(), Via: self.Bound(), Bound: b, Err: ErrCircular}
		}
		chain = append(chain, root)
		shared := b.Namespace != owner.Namespace
		next, err := l.Package(ctx, b.Namespace, b.Name)
		if err != nil {
			return Package[P]{}, &ChainError{Named: self.Ref(), Via: self.Bound(), Bound: b, Shared: shared, Err: err}
		}
		if shared && !Public(next) {
			return Package[P]{}, &ChainError{Named: self.Ref(), Via: self.Bound(), Bound: b, Shared: true, Err: ErrNotShared}
		}
		root = next
	}
	params := root.Params()
	for i := len(chain) - 1; i >= 0; i-- {
		params = params.Merge(chain[i].Params())
	}
	return Package[P]{Self: self, Root: root, Params: params}, nil
}

// Action is an action found by name, through its package or binding.
type Action struct {
	// Action is the stored action; in a package, a copy whose parameters
	// are the package's and bindings' overridden by its own.
	Action *whisk.Action
	// Public: other namespaces may invoke it (its package is public).
	Public bool
	// Binding is the binding annotation of its activation records when it
	// was reached through a binding, else nil.
	Binding whisk.KeyValues
}

// ResolveAction reads action ns/[pkg/]name, following pkg's bindings, and
// merges the parameters package < bindings < action. Errors: the Loader's,
// and ResolvePackage's.
func ResolveAction[P Doc](ctx context.Context, l Loader[P], ns, pkg, name string) (Action, error) {
	if pkg == "" {
		a, err := l.Action(ctx, ns, name)
		if err != nil {
			return Action{}, err
		}
		return Action{Action: a}, nil
	}
	rp, err := ResolvePackage(ctx, l, ns, pkg)
	if err != nil {
		return Action{}, err
	}
	root := rp.Root.Ref()
	a, err := l.Action(ctx, root.Namespace, root.Name+"/"+name)
	if err != nil {
		return Action{}, err
	}
	r := Action{Action: a, Public: Public(rp.Self)}
	if len(rp.Params) > 0 {
		merged := *a
		merged.Parameters = rp.Params.Merge(a.Parameters)
		r.Action = &merged
	}
	if rp.Self.Bound().Name != "" {
		r.Binding = whisk.KeyValues{}.Set(AnnBinding, ns+"/"+pkg)
	}
	return r, nil
}
