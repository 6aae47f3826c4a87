package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gust-faas/gust/internal/entity"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// Packages and bindings, as OpenWhisk has them (Packages.scala,
// WhiskPackage.scala):
//
//   - A package is a flat group of actions ("pkg/action") with shared
//     parameters. Packages do not nest. "default" is reserved: it names the
//     default package in web action URLs.
//   - A binding is a package that points at another package
//     ({"binding": {"namespace", "name"}}) and adds or overrides parameters.
//     Its actions are the bound package's; a binding cannot point at a
//     binding, nor hold actions of its own.
//   - Sharing: a package another namespace may read, bind and invoke is
//     "public": published (publish: true) and not a binding. Every package of
//     the whisk.system namespace is public; that namespace is read-only
//     through the API (InstallSystemPackage writes it).
//   - Parameters of an invocation: package < binding < action < request, each
//     overriding the ones before. With the action annotation final: true the
//     request may override none of the defined ones.

// packageDoc is a package or binding as stored and as the API shows it.
type packageDoc struct {
	Namespace   string          `json:"namespace"`
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Publish     bool            `json:"publish"`
	Binding     binding         `json:"binding"` // {} for a package
	Parameters  whisk.KeyValues `json:"parameters"`
	Annotations whisk.KeyValues `json:"annotations"`
	Updated     int64           `json:"updated"`
	// Rev changes on every write (store bookkeeping, not shown).
	Rev string `json:"rev,omitempty"`
}

// binding names the package a binding points at; zero for a package.
type binding struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
}

func (b binding) isSet() bool    { return b.Name != "" }
func (b binding) String() string { return b.Namespace + "/" + b.Name }

// isPublic reports whether other namespaces may read, bind and invoke p.
func (p *packageDoc) isPublic() bool { return entity.Public(p) }

// Ref, Bound, Published and Params make a packageDoc an entity.Doc.
func (p *packageDoc) Ref() entity.Ref         { return entity.Ref{Namespace: p.Namespace, Name: p.Name} }
func (p *packageDoc) Bound() entity.Ref       { return entity.Ref(p.Binding) }
func (p *packageDoc) Published() bool         { return p.Publish }
func (p *packageDoc) Params() whisk.KeyValues { return p.Parameters }

// packagePut is the body of a package PUT (OpenWhisk's WhiskPackagePut).
// Absent fields keep their old value on update.
type packagePut struct {
	Binding     *binding         `json:"binding"`
	Parameters  *whisk.KeyValues `json:"parameters"`
	Annotations *whisk.KeyValues `json:"annotations"`
	Version     *string          `json:"version"`
	Publish     *bool            `json:"publish"`
}

// packageAction is an action as a GET package lists it.
type packageAction struct {
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Annotations whisk.KeyValues `json:"annotations"`
}

// packageWithActions is the answer to GET …/packages/{name}: the package (a
// binding: with the bound package's parameters under its own) and the
// actions and feeds (actions annotated "feed") it offers.
type packageWithActions struct {
	packageDoc
	Actions []packageAction `json:"actions"`
	Feeds   []packageAction `json:"feeds"`
}

// packageSummary is a package as lists show it: binding is false for a
// package, {namespace, name} for a binding.
type packageSummary struct {
	Namespace   string          `json:"namespace"`
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Publish     bool            `json:"publish"`
	Annotations whisk.KeyValues `json:"annotations"`
	Binding     any             `json:"binding"`
	Updated     int64           `json:"updated"`
}

// Package names and annotations with a meaning.
const (
	reservedPackage = "default"         // the default package in web URLs
	annBinding      = entity.AnnBinding // set by the server on bindings and on records of actions invoked through one
	annFeed         = "feed"            // marks an action as a feed in GET package
)

// OpenWhisk's messages about packages (Messages.scala).
const (
	msgBindingMissing    = "Binding references a package that does not exist."
	msgPackageNotBinding = "Resource is a package and cannot be converted into a binding."
	msgBindingToBinding  = "Cannot bind to another package binding."
	msgOnBinding         = "Operation not permitted on package binding."
)

// errCircular is OpenWhisk's 422 for a binding that leads back to itself.
func errCircular(b binding) error {
	return fiber.NewError(fiber.StatusUnprocessableEntity, fmt.Sprintf("Package binding '/%s' contains a circular reference.", b))
}

// forbidden is 403 for a resource of another namespace, as OpenWhisk words it.
func forbidden(resource string) error {
	return errorf(ErrForbidden, "The supplied authentication is not authorized to access '%s'.", resource)
}

// loadPackage reads package ns/name.
func (g *Gateway) loadPackage(ctx context.Context, ns, name string) (*packageDoc, error) {
	return packageDocs.get(ctx, g.st, ns, name)
}

// loadActionDoc reads action ns/name ("action" or "pkg/action").
func (g *Gateway) loadActionDoc(ctx context.Context, ns, name string) (*whisk.Action, error) {
	return actionDocs.get(ctx, g.st, ns, name)
}

// entities is how entity resolution reads the store.
func (g *Gateway) entities() entity.Loader[*packageDoc] {
	return entity.Loader[*packageDoc]{Package: g.loadPackage, Action: g.loadActionDoc}
}

// resolvePackage reads package ns/name and follows its binding. A binding
// may point at a package of another namespace only while that package is
// public (403 otherwise, and when it is missing, so as to leak nothing); a
// missing package of its own namespace is not found.
func (g *Gateway) resolvePackage(ctx context.Context, ns, name string) (entity.Package[*packageDoc], error) {
	rp, err := entity.ResolvePackage(ctx, g.entities(), ns, name)
	return rp, chainErr(err)
}

// chainErr maps the errors of entity resolution: a circular chain is 422;
// a bound package of another namespace that is not public, or missing, is
// 403; the store's errors stay as they are.
func chainErr(err error) error {
	var ce *entity.ChainError
	if !errors.As(err, &ce) {
		return err
	}
	switch {
	case ce.Err == entity.ErrCircular:
		return errCircular(binding(ce.Via))
	case ce.Shared && (ce.Err == entity.ErrNotShared || errors.Is(ce.Err, store.ErrNotFound)):
		return forbidden(ce.Bound.String())
	}
	return ce.Err
}

// resolveAction reads action ns/[pkg/]name, following pkg's binding, and
// merges the parameters package < binding < action.
func (g *Gateway) resolveAction(ctx context.Context, ns, pkg, name string) (entity.Action, error) {
	if err := validEntityName(pkg, name); err != nil {
		return entity.Action{}, err
	}
	r, err := entity.ResolveAction(ctx, g.entities(), ns, pkg, name)
	return r, chainErr(err)
}

// checkShared decides a request for an action of another namespace's
// package, after the cache answered (ca, err).
func checkShared(ca *cachedAction, err error, ns, pkg string) error {
	return sharedErr(err, err == nil && ca.public, ns+"/"+pkg)
}

// sharedErr maps the outcome of reading another namespace's package or its
// action: anything but a public package is forbidden, missing ones
// included, so that nothing about them leaks; store failures stay errors.
func sharedErr(err error, public bool, resource string) error {
	var fe *fiber.Error
	switch {
	case err == nil && public:
		return nil
	case err == nil, errors.Is(err, store.ErrNotFound), errors.Is(err, ErrForbidden), errors.As(err, &fe):
		return forbidden(resource)
	}
	return err
}

// readableNamespace resolves the path's namespace for reads of packages and
// their actions: "_" or the caller's own, or (shared) another namespace,
// whose public packages anyone may read.
func readableNamespace(c *fiber.Ctx, p *principal) (ns string, shared bool, err error) {
	if ns, err = pathParam(c, "ns"); err != nil {
		return "", false, err
	}
	if ns == whisk.DefaultNamespace || ns == p.namespace {
		return p.namespace, false, nil
	}
	if !whisk.ValidName(ns) {
		return "", false, errorf(whisk.ErrBadName, "The namespace contains illegal characters.")
	}
	return strings.Clone(ns), true, nil
}

// writableNamespace resolves the path's namespace for writes: the caller's
// own, never whisk.system.
func writableNamespace(c *fiber.Ctx, p *principal) (string, error) {
	ns, err := checkNamespace(c, p)
	if err != nil {
		return "", err
	}
	if ns == whisk.SystemNamespace {
		return "", forbidden(ns)
	}
	return ns, nil
}

// actionNamespace resolves the namespace of an action request: actions of
// another namespace are reachable only in its packages (shared).
func actionNamespace(c *fiber.Ctx, p *principal, pkg string) (ns string, shared bool, err error) {
	if pkg == "" {
		ns, err = checkNamespace(c, p)
		return ns, false, err
	}
	return readableNamespace(c, p)
}

// packageName returns the path's package name, validated.
func packageName(c *fiber.Ctx, param string) (string, error) {
	name, err := pathParam(c, param)
	if err != nil {
		return "", err
	}
	if !whisk.ValidName(name) {
		return "", errBadEntityName
	}
	return strings.Clone(name), nil
}

// putPackage creates a package or binding, or with ?overwrite=true updates
// it. A package cannot become a binding; a binding may be re-pointed.
func (g *Gateway) putPackage(c *fiber.Ctx, p *principal, now time.Time) error {
	ns, err := writableNamespace(c, p)
	if err != nil {
		return err
	}
	name, err := packageName(c, "name")
	if err != nil {
		return err
	}
	if name == reservedPackage {
		return errorf(whisk.ErrBadRequest, "Package name '%s' is reserved.", name)
	}
	var req packagePut
	overwrite, err := readPut(c, &req)
	if err != nil {
		return err
	}
	ctx := g.reqCtx
	key := packageDocs.key(ns, name)
	old, err := packageDocs.replaced(ctx, g.st, key, overwrite)
	if err != nil {
		return err
	}
	pd, err := g.buildPackage(ctx, ns, name, &req, old, now)
	if err != nil {
		return err
	}
	doc, err := json.Marshal(pd)
	if err != nil {
		return err
	}
	if err := g.st.PutEntity(ctx, key, doc, overwrite); err != nil {
		return err
	}
	g.actions.invalidateAll()
	return c.JSON(apiPackage(pd))
}

// buildPackage makes the package a PUT describes, from scratch or over old,
// checking its binding. It writes nothing.
func (g *Gateway) buildPackage(ctx context.Context, ns, name string, req *packagePut, old *packageDoc, now time.Time) (*packageDoc, error) {
	pd := &packageDoc{Namespace: ns, Name: name, Version: "0.0.1"}
	if old != nil {
		pd.Version = whisk.NextVersion(old.Version)
		pd.Publish = old.Publish
		pd.Binding = old.Binding
		pd.Parameters = old.Parameters
		pd.Annotations = old.Annotations
	}
	if b := req.Binding; b != nil && *b != (binding{}) {
		if old != nil && !old.Binding.isSet() {
			return nil, errorf(store.ErrConflict, msgPackageNotBinding)
		}
		nb, err := g.checkBinding(ctx, ns, *b)
		if err != nil {
			return nil, err
		}
		pd.Binding = nb
	}
	if req.Parameters != nil {
		params, err := checkKeyValues("Parameters", *req.Parameters)
		if err != nil {
			return nil, err
		}
		pd.Parameters = params
	}
	if req.Annotations != nil {
		anns, err := checkKeyValues("Annotations", *req.Annotations)
		if err != nil {
			return nil, err
		}
		pd.Annotations = anns
	}
	// the binding annotation is the server's to set
	pd.Annotations = append(whisk.KeyValues{}, pd.Annotations...).Delete(annBinding)
	if pd.Binding.isSet() {
		pd.Annotations = pd.Annotations.Set(annBinding, pd.Binding)
	}
	if pd.Parameters == nil {
		pd.Parameters = whisk.KeyValues{}
	}
	if req.Version != nil {
		if !semverRE.MatchString(*req.Version) {
			return nil, errorf(whisk.ErrBadRequest, "The version '%s' is not a semantic version major.minor.patch.", *req.Version)
		}
		pd.Version = *req.Version
	}
	if req.Publish != nil {
		pd.Publish = *req.Publish
	}
	pd.Updated = now.UnixMilli()
	pd.Rev = newRev()
	return pd, nil
}

// checkBinding validates the package a binding in ns points at and returns
// the binding with "_" resolved: it must exist and be a package, not a
// binding, and be the caller's own or public.
func (g *Gateway) checkBinding(ctx context.Context, ns string, b binding) (binding, error) {
	if b.Namespace == whisk.DefaultNamespace {
		b.Namespace = ns
	}
	if b.Namespace == "" || b.Name == "" {
		return b, errorf(whisk.ErrBadRequest, "The request content was malformed: binding must have a namespace and a name.")
	}
	if !whisk.ValidName(b.Namespace) || !whisk.ValidName(b.Name) {
		return b, errBadEntityName
	}
	target, err := g.loadPackage(ctx, b.Namespace, b.Name)
	own := b.Namespace == ns
	switch {
	case errors.Is(err, store.ErrNotFound) && own:
		return b, errorf(whisk.ErrBadRequest, msgBindingMissing)
	case errors.Is(err, store.ErrNotFound):
		return b, forbidden(b.String())
	case err != nil:
		return b, err
	case target.Binding.isSet() && own:
		return b, errorf(whisk.ErrBadRequest, msgBindingToBinding)
	case !own && !target.isPublic():
		return b, forbidden(b.String())
	}
	return b, nil
}

// apiPackage is a package as the API shows it, without store bookkeeping.
func apiPackage(pd *packageDoc) packageDoc {
	out := *pd
	out.Rev = ""
	if out.Parameters == nil {
		out.Parameters = whisk.KeyValues{}
	}
	if out.Annotations == nil {
		out.Annotations = whisk.KeyValues{}
	}
	return out
}

// getPackage returns a package or binding with its actions and feeds. A
// binding shows the bound package's parameters under its own, and the
// bound package's actions. Another namespace's package is readable when
// public.
func (g *Gateway) getPackage(c *fiber.Ctx, p *principal, _ time.Time) error {
	ns, shared, err := readableNamespace(c, p)
	if err != nil {
		return err
	}
	name, err := packageName(c, "name")
	if err != nil {
		return err
	}
	ctx := g.reqCtx
	rp, err := g.resolvePackage(ctx, ns, name)
	if shared {
		err = sharedErr(err, err == nil && rp.Self.isPublic(), ns+"/"+name)
	}
	if err != nil {
		return err
	}
	docs, _, err := g.st.ListEntities(ctx, rp.Root.Namespace, store.Actions, rp.Root.Name+"/", 0, 0)
	if err != nil {
		return err
	}
	out := packageWithActions{packageDoc: apiPackage(rp.Self), Actions: []packageAction{}, Feeds: []packageAction{}}
	out.Parameters = rp.Params
	if out.Parameters == nil {
		out.Parameters = whisk.KeyValues{}
	}
	for _, doc := range docs {
		a, err := decodeAction(doc)
		if err != nil {
			g.log.Warn("skipping unreadable action in package", "namespace", rp.Root.Namespace, "package", rp.Root.Name, "err", err)
			continue
		}
		pa := packageAction{Name: a.Name, Version: a.Version, Annotations: a.Annotations}
		if pa.Annotations == nil {
			pa.Annotations = whisk.KeyValues{}
		}
		if a.Annotations.Get(annFeed) != nil {
			out.Feeds = append(out.Feeds, pa)
		} else {
			out.Actions = append(out.Actions, pa)
		}
	}
	return c.JSON(out)
}

// deletePackage deletes a package or binding and returns it. A package
// that still holds actions is refused (409) unless ?force=true, which
// deletes its actions first.
func (g *Gateway) deletePackage(c *fiber.Ctx, p *principal, _ time.Time) error {
	ns, err := writableNamespace(c, p)
	if err != nil {
		return err
	}
	name, err := packageName(c, "name")
	if err != nil {
		return err
	}
	force, err := queryBool(c, "force")
	if err != nil {
		return err
	}
	ctx := g.reqCtx
	pd, err := g.loadPackage(ctx, ns, name)
	if err != nil {
		return err
	}
	if !pd.Binding.isSet() {
		docs, total, err := g.st.ListEntities(ctx, ns, store.Actions, name+"/", 0, 0)
		if err != nil {
			return err
		}
		if total > 0 && !force {
			noun := "entities"
			if total == 1 {
				noun = "entity"
			}
			return errorf(store.ErrConflict, "Package not empty (contains %d %s). Set force param or delete package contents.", total, noun)
		}
		for _, doc := range docs {
			a, err := decodeAction(doc)
			if err != nil {
				return err
			}
			err = g.st.DeleteEntity(ctx, store.Key{Namespace: ns, Collection: store.Actions, Name: name + "/" + a.Name})
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				g.actions.invalidateAll()
				return fmt.Errorf("force delete of package %s/%s: action %s: %w", ns, name, a.Name, err)
			}
		}
	}
	if err := g.st.DeleteEntity(ctx, store.Key{Namespace: ns, Collection: store.Packages, Name: name}); err != nil {
		return err
	}
	g.actions.invalidateAll()
	return c.JSON(apiPackage(pd))
}

// listPackages lists the namespace's packages and bindings; for another
// namespace, only its public packages. ?skip, ?limit, ?count=true →
// {"packages": N}.
func (g *Gateway) listPackages(c *fiber.Ctx, p *principal, _ time.Time) error {
	ns, shared, err := readableNamespace(c, p)
	if err != nil {
		return err
	}
	skip, limit, err := listPage(c, store.Packages)
	if err != nil {
		return err
	}
	count, err := queryBool(c, "count")
	if err != nil {
		return err
	}
	ctx := g.reqCtx
	var pkgs []*packageDoc
	total := 0
	if shared {
		// the store cannot filter: read all, keep the public ones, page here
		docs, _, err := g.st.ListEntities(ctx, ns, store.Packages, "", 0, 0)
		if err != nil {
			return err
		}
		for _, doc := range docs {
			pd, err := packageDocs.decode(doc)
			if err != nil || !pd.isPublic() {
				continue
			}
			pkgs = append(pkgs, pd)
		}
		total = len(pkgs)
		pkgs = pkgs[min(skip, len(pkgs)):]
		pkgs = pkgs[:min(limit, len(pkgs))]
	} else {
		from, l := skip, limit
		if count {
			from, l = 0, 1
		}
		docs, n, err := g.st.ListEntities(ctx, ns, store.Packages, "", from, l)
		if err != nil {
			return err
		}
		total = n
		for _, doc := range docs {
			pd, err := packageDocs.decode(doc)
			if err != nil {
				g.log.Warn("skipping unreadable package in list", "namespace", ns, "err", err)
				continue
			}
			pkgs = append(pkgs, pd)
		}
	}
	if count {
		return c.JSON(fiber.Map{store.Packages: max(total-skip, 0)})
	}
	out := make([]packageSummary, 0, len(pkgs))
	for _, pd := range pkgs {
		s := packageSummary{Namespace: pd.Namespace, Name: pd.Name, Version: pd.Version, Publish: pd.Publish,
			Annotations: pd.Annotations, Binding: false, Updated: pd.Updated}
		if s.Annotations == nil {
			s.Annotations = whisk.KeyValues{}
		}
		if pd.Binding.isSet() {
			s.Binding = pd.Binding
		}
		out = append(out, s)
	}
	return c.JSON(out)
}

// putPackagedAction is PUT …/actions/{pkg}/{name}: the package must exist
// in the caller's namespace and not be a binding; nothing is written
// otherwise.
func (g *Gateway) putPackagedAction(c *fiber.Ctx, p *principal, now time.Time) error {
	if err := g.checkOwnPackage(c, p); err != nil {
		return err
	}
	if err := g.putAction(c, p, now); err != nil {
		return err
	}
	g.actions.invalidateAll() // bindings of the package cache it under their names
	return nil
}

// deletePackagedAction is DELETE …/actions/{pkg}/{name}, refused on a
// binding.
func (g *Gateway) deletePackagedAction(c *fiber.Ctx, p *principal, now time.Time) error {
	if err := g.checkOwnPackage(c, p); err != nil {
		return err
	}
	if err := g.deleteAction(c, p, now); err != nil {
		return err
	}
	g.actions.invalidateAll()
	return nil
}

// checkOwnPackage checks that the path's package is a package (not a
// binding) of the caller's namespace, for writes of its actions.
func (g *Gateway) checkOwnPackage(c *fiber.Ctx, p *principal) error {
	ns, err := writableNamespace(c, p)
	if err != nil {
		return err
	}
	pkg, _, err := entityName(c)
	if err != nil {
		return err
	}
	pd, err := g.loadPackage(g.reqCtx, ns, pkg)
	if err != nil {
		return err
	}
	if pd.Binding.isSet() {
		return errorf(whisk.ErrBadRequest, msgOnBinding)
	}
	return nil
}

// getPackagedAction is GET …/actions/{pkg}/{name}: through a binding it is
// the bound package's action with the merged parameters, as OpenWhisk
// shows it; another namespace's action when its package is public.
func (g *Gateway) getPackagedAction(c *fiber.Ctx, p *principal, _ time.Time) error {
	pkg, name, err := entityName(c)
	if err != nil {
		return err
	}
	ns, shared, err := readableNamespace(c, p)
	if err != nil {
		return err
	}
	withCode, err := queryCode(c)
	if err != nil {
		return err
	}
	r, err := g.resolveAction(g.reqCtx, ns, pkg, name)
	if shared {
		err = sharedErr(err, err == nil && r.Public, ns+"/"+pkg)
	}
	if err != nil {
		return err
	}
	return g.sendAction(c, r.Action, withCode)
}

// actionListScope is where …/actions[/{pkg}/] lists: the caller's
// namespace, or a package's actions (a binding's: the bound package's).
func (g *Gateway) actionListScope(c *fiber.Ctx, p *principal) (ns, prefix string, err error) {
	if c.Params("pkg") == "" {
		ns, err = checkNamespace(c, p)
		return ns, "", err
	}
	pkg, err := packageName(c, "pkg")
	if err != nil {
		return "", "", err
	}
	ns, shared, err := readableNamespace(c, p)
	if err != nil {
		return "", "", err
	}
	rp, err := g.resolvePackage(g.reqCtx, ns, pkg)
	if shared {
		err = sharedErr(err, err == nil && rp.Self.isPublic(), ns+"/"+pkg)
	}
	if err != nil {
		return "", "", err
	}
	return rp.Root.Namespace, rp.Root.Name + "/", nil
}
