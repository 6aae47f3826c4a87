package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// entityDocs are the stored JSON documents of one collection, decoded as T: how
// every entity handler reads, decodes and lists them, with the same errors.
type entityDocs[T any] struct {
	collection string // store.Actions, store.Packages, …
	noun       string // "action": names a document in errors and logs
}

// The entity collections.
var (
	actionDocs  = entityDocs[whisk.Action]{store.Actions, "action"}
	packageDocs = entityDocs[packageDoc]{store.Packages, "package"}
	triggerDocs = entityDocs[whisk.Trigger]{store.Triggers, "trigger"}
	ruleDocs    = entityDocs[whisk.Rule]{store.Rules, "rule"}
)

func (d entityDocs[T]) key(ns, name string) store.Key {
	return store.Key{Namespace: ns, Collection: d.collection, Name: name}
}

// decode decodes a stored document. A corrupt one is the store's fault: a
// plain error (500), not the 400 of a JSON error.
func (d entityDocs[T]) decode(doc []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(doc, v); err != nil {
		return nil, fmt.Errorf("corrupt %s document: %v", d.noun, err)
	}
	return v, nil
}

// get reads and decodes ns/name; its errors are the store's (not found:
// 404).
func (d entityDocs[T]) get(ctx context.Context, st store.Entities, ns, name string) (*T, error) {
	doc, err := st.GetEntity(ctx, d.key(ns, name))
	if err != nil {
		return nil, err
	}
	return d.decode(doc)
}

// replaced reads the document a PUT of key replaces: nil when there is
// none, store.ErrExists (409) when there is one and the PUT may not
// overwrite it.
func (d entityDocs[T]) replaced(ctx context.Context, st store.Entities, key store.Key, overwrite bool) (*T, error) {
	doc, err := st.GetEntity(ctx, key)
	switch {
	case err == nil && !overwrite:
		return nil, store.ErrExists
	case err == nil:
		return d.decode(doc)
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	}
	return nil, err
}

// listEntities answers a list of collection d in ns, under prefix: the
// page ?skip and ?limit ask for, each document as view shows it (an
// unreadable one is skipped), or with ?count=true {collection: N}.
func listEntities[T, V any](g *Gateway, c *fiber.Ctx, d entityDocs[T], ns, prefix string, view func(*T) V) error {
	page, n, counted, err := g.listPageOf(c, ns, d.collection, prefix)
	switch {
	case err != nil:
		return err
	case counted:
		return c.JSON(fiber.Map{d.collection: n})
	}
	out := make([]V, 0, len(page))
	for _, doc := range page {
		v, err := d.decode(doc)
		if err != nil {
			g.log.Warn("skipping unreadable "+d.noun+" in list", "namespace", ns, "err", err)
			continue
		}
		out = append(out, view(v))
	}
	return c.JSON(out)
}

// listPageOf reads the page of collection (under prefix) that ?skip and
// ?limit ask for, or with ?count=true only counts what that page would
// start from (counted).
func (g *Gateway) listPageOf(c *fiber.Ctx, ns, collection, prefix string) (docs [][]byte, count int, counted bool, err error) {
	skip, limit, err := listPage(c, collection)
	if err != nil {
		return nil, 0, false, err
	}
	if counted, err = queryBool(c, "count"); err != nil {
		return nil, 0, false, err
	}
	if counted {
		_, n, err := g.st.ListEntities(g.reqCtx, ns, collection, prefix, 0, 1)
		return nil, max(n-skip, 0), true, err
	}
	docs, _, err = g.st.ListEntities(g.reqCtx, ns, collection, prefix, skip, limit)
	return docs, 0, false, err
}

// readPut reads a PUT: its ?overwrite flag, then its body into req (an
// empty body leaves req as it is).
func readPut(c *fiber.Ctx, req any) (overwrite bool, err error) {
	if overwrite, err = queryBool(c, "overwrite"); err != nil {
		return false, err
	}
	if body := trimSpace(c.Body()); len(body) > 0 {
		if err := json.Unmarshal(body, req); err != nil {
			return false, errorf(whisk.ErrBadRequest, "The request content was malformed: %v", err)
		}
	}
	return overwrite, nil
}

// namedDoc resolves the path of a trigger or rule (namedEntity) and reads
// its document.
func namedDoc[T any](g *Gateway, c *fiber.Ctx, p *principal, nsOf func(*fiber.Ctx, *principal) (string, error), d entityDocs[T]) (ns, name string, v *T, err error) {
	if ns, name, err = namedEntity(c, p, nsOf); err != nil {
		return "", "", nil, err
	}
	v, err = d.get(g.reqCtx, g.st, ns, name)
	return ns, name, v, err
}

// namedEntity resolves the path of a trigger or rule (they live in no
// package): the namespace as nsOf resolves it (checkNamespace for reads,
// writableNamespace for writes) and the name, validated.
func namedEntity(c *fiber.Ctx, p *principal, nsOf func(*fiber.Ctx, *principal) (string, error)) (ns, name string, err error) {
	if ns, err = nsOf(c, p); err != nil {
		return "", "", err
	}
	name, err = simpleName(c)
	return ns, name, err
}
