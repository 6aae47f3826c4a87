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
	nsBase := c.nsBase
	if namespace != "" {
		if namespace[0] != '/' {
			namespace = "/" + namespace
		}
		var err error
		var rest string
		if nsBase, rest, err = c.splitName(namespace, true); err != nil {
			return nil, err
		}
		if rest != "" {
			return nil, fmt.Errorf("%w: %q is not a namespace", ErrBadName, namespace)
		}
	}
	var out []Entity
	if err := c.call(ctx, http.MethodGet, nsBase+collection+opts.query(), nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetEntity returns the entity name of a collection as raw JSON.
func (c *Client) GetEntity(ctx context.Context, collection, name string) (json.RawMessage, error) {
	if err := checkCollection(collection); err != nil {
		return nil, err
	}
	nsBase, entity, err := c.splitName(name, false)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	if err := c.call(ctx, http.MethodGet, nsBase+collection+"/"+entity, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
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
