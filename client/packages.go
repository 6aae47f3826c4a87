package client

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/gust-faas/gust/whisk"
)

// Package is a package as the API returns it (OpenWhisk's WhiskPackage). A
// GET also lists the package's actions and feeds (actions annotated "feed").
type Package struct {
	Namespace   string          `json:"namespace"`
	Name        string          `json:"name"`
	Version     string          `json:"version,omitempty"`
	Publish     bool            `json:"publish"`
	Annotations whisk.KeyValues `json:"annotations,omitempty"`
	Parameters  whisk.KeyValues `json:"parameters,omitempty"`
	// Binding names the package a binding refers to. OpenWhisk answers {}
	// for a package that is not a binding: see IsBinding.
	Binding *Binding `json:"binding,omitempty"`
	// Actions and Feeds carry the name, version and annotations of each.
	Actions []Entity `json:"actions,omitempty"`
	Feeds   []Entity `json:"feeds,omitempty"`
	Updated int64    `json:"updated,omitempty"`
}

// IsBinding reports whether the package is a binding of another package.
func (p *Package) IsBinding() bool { return p.Binding != nil && p.Binding.Name != "" }

// Binding names a bound package: its namespace ("_" for the key's own,
// which the server resolves) and its name.
type Binding struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
}

// UnmarshalJSON decodes a binding object, and the boolean that OpenWhisk's
// package lists carry instead of it ("binding": false): a boolean decodes
// to the empty Binding.
func (b *Binding) UnmarshalJSON(data []byte) error {
	switch string(bytes.TrimSpace(data)) {
	case "true", "false":
		*b = Binding{}
		return nil
	}
	type plain Binding
	return json.Unmarshal(data, (*plain)(b))
}

// PackagePut is the body of a package create or update (OpenWhisk's
// WhiskPackagePut). Absent fields keep their old value on an update. A
// Binding makes the package a binding of another package.
type PackagePut struct {
	Parameters  whisk.KeyValues `json:"parameters,omitempty"`
	Annotations whisk.KeyValues `json:"annotations,omitempty"`
	Publish     *bool           `json:"publish,omitempty"`
	Binding     *Binding        `json:"binding,omitempty"`
	Version     string          `json:"version,omitempty"`
}

// BindingUpdates is the answer of a package refresh: the bindings it
// created, updated and deleted.
type BindingUpdates struct {
	Added   []string `json:"added,omitempty"`
	Updated []string `json:"updated,omitempty"`
	Deleted []string `json:"deleted,omitempty"`
}

// PutPackage creates the package (or binding) name, or with overwrite
// updates it, creating it if it does not exist. It returns the stored package.
func (c *Client) PutPackage(ctx context.Context, name string, p *PackagePut, overwrite bool) (*Package, error) {
	if p == nil {
		p = &PackagePut{}
	}
	return putEntity[Package](ctx, c, Packages, name, p, overwrite)
}

// GetPackage returns the package name with its actions and feeds.
func (c *Client) GetPackage(ctx context.Context, name string) (*Package, error) {
	return getEntity[Package](ctx, c, Packages, name, "")
}

// DeletePackage deletes the package name. The server refuses to delete a
// package that holds actions (409) unless force, which deletes them too.
func (c *Client) DeletePackage(ctx context.Context, name string, force bool) error {
	query := ""
	if force {
		query = "?force=true"
	}
	return c.deleteEntity(ctx, Packages, name, query)
}

// ListPackages lists the packages of namespace ("" for the client's, "ns"
// or "/ns" for another): their summaries, without actions.
func (c *Client) ListPackages(ctx context.Context, namespace string, opts ListOptions) ([]Package, error) {
	return listEntities[Package](ctx, c, Packages, namespace, opts)
}

// RefreshPackages asks the server to refresh the package bindings of
// namespace ("" for the client's). OpenWhisk deployments rarely implement
// it: expect an *APIError (404, 405 or 501).
func (c *Client) RefreshPackages(ctx context.Context, namespace string) (*BindingUpdates, error) {
	nsBase, err := c.namespaceBase(namespace)
	if err != nil {
		return nil, err
	}
	var out BindingUpdates
	if err := c.call(ctx, http.MethodPost, nsBase+Packages+"/refresh", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
