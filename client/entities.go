package client

import (
	"context"
	"net/http"
	"strconv"
)

// The CRUD calls every collection (Actions, Packages, Triggers, Rules)
// makes the same way: the entity's URL, a JSON body, the answer decoded
// into T.

// putEntity creates (or with overwrite updates) entity name of collection
// with body and returns the stored entity.
func putEntity[T any](ctx context.Context, c *Client, collection, name string, body any, overwrite bool) (*T, error) {
	u, err := c.entityURL(collection, name)
	if err != nil {
		return nil, err
	}
	return callFor[T](ctx, c, http.MethodPut, u+"?overwrite="+strconv.FormatBool(overwrite), body)
}

// getEntity returns entity name of collection; query ("?…" or "") is
// added to its URL.
func getEntity[T any](ctx context.Context, c *Client, collection, name, query string) (*T, error) {
	u, err := c.entityURL(collection, name)
	if err != nil {
		return nil, err
	}
	return callFor[T](ctx, c, http.MethodGet, u+query, nil)
}

// deleteEntity deletes entity name of collection; query ("?…" or "") is
// added to its URL.
func (c *Client) deleteEntity(ctx context.Context, collection, name, query string) error {
	u, err := c.entityURL(collection, name)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, u+query, nil, nil)
}

// listEntities lists collection in namespace ("" for the client's, "ns" or
// "/ns" for another).
func listEntities[T any](ctx context.Context, c *Client, collection, namespace string, opts ListOptions) ([]T, error) {
	nsBase, err := c.namespaceBase(namespace)
	if err != nil {
		return nil, err
	}
	var out []T
	if err := c.call(ctx, http.MethodGet, nsBase+collection+opts.query(), nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// callFor is call with the answer decoded into a new T.
func callFor[T any](ctx context.Context, c *Client, method, u string, in any) (*T, error) {
	var out T
	if err := c.call(ctx, method, u, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
