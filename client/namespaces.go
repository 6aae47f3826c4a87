package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gust-faas/gust/whisk"
)

// Entity collections of a namespace, as they appear in the API's paths.
const (
	Actions  = "actions"
	Packages = "packages"
	Triggers = "triggers"
	Rules    = "rules"
)

// Entity is the summary of any entity as collections list it; Status is set
// for rules.
type Entity struct {
	Namespace   string          `json:"namespace"`
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Publish     bool            `json:"publish"`
	Annotations whisk.KeyValues `json:"annotations,omitempty"`
	Status      string          `json:"status,omitempty"`
	Updated     int64           `json:"updated,omitempty"`
}

func checkCollection(collection string) error {
	switch collection {
	case Actions, Packages, Triggers, Rules:
		return nil
	}
	return fmt.Errorf("%w: unknown collection %q", ErrBadName, collection)
}

// ListEntities lists the summaries of one collection (Actions, Packages,
// Triggers or Rules) of namespace ("" for the client's, "/ns" or "ns").
func (c *Client) ListEntities(ctx context.Context, collection, namespace string, opts ListOptions) ([]Entity, error) {
	if err := checkCollection(collection); err != nil {
		return nil, err
	}
	return listEntities[Entity](ctx, c, collection, namespace, opts)
}

// CountEntities counts the entities of one collection of namespace (as for
// ListEntities).
func (c *Client) CountEntities(ctx context.Context, collection, namespace string) (int, error) {
	if err := checkCollection(collection); err != nil {
		return 0, err
	}
	nsBase, err := c.namespaceBase(namespace)
	if err != nil {
		return 0, err
	}
	return c.count(ctx, nsBase+collection+"?count=true", collection)
}

// namespaceBase returns the URL prefix of namespace: "" is the client's,
// "ns" and "/ns" name one.
func (c *Client) namespaceBase(namespace string) (string, error) {
	if namespace == "" {
		return c.nsBase, nil
	}
	if namespace[0] != '/' {
		namespace = "/" + namespace
	}
	nsBase, rest, err := c.splitName(namespace, true)
	if err != nil {
		return "", err
	}
	if rest != "" {
		return "", fmt.Errorf("%w: %q is not a namespace", ErrBadName, namespace)
	}
	return nsBase, nil
}

// entityURL returns the URL of the entity name in a collection.
func (c *Client) entityURL(collection, name string) (string, error) {
	nsBase, entity, err := c.splitName(name, false)
	if err != nil {
		return "", err
	}
	return nsBase + collection + "/" + entity, nil
}

// GetEntity returns the entity name of a collection as raw JSON.
func (c *Client) GetEntity(ctx context.Context, collection, name string) (json.RawMessage, error) {
	if err := checkCollection(collection); err != nil {
		return nil, err
	}
	out, err := getEntity[json.RawMessage](ctx, c, collection, name, "")
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// ListNamespaces lists the namespaces the key may use.
func (c *Client) ListNamespaces(ctx context.Context) ([]string, error) {
	var out []string
	if err := c.call(ctx, http.MethodGet, c.api+"/namespaces", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Info is the API's self-description at GET /api/v1.
type Info struct {
	Description string                     `json:"description,omitempty"`
	Build       string                     `json:"build,omitempty"`
	BuildNo     string                     `json:"buildno,omitempty"`
	Runtimes    map[string][]whisk.Runtime `json:"runtimes,omitempty"`
	Limits      map[string]any             `json:"limits,omitempty"`
}

// Info returns the API's description: build, runtimes and system limits.
func (c *Client) Info(ctx context.Context) (*Info, error) {
	var out Info
	if err := c.call(ctx, http.MethodGet, c.api, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
