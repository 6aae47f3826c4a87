package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gust-faas/gust/whisk"
)

// Rule states.
const (
	RuleActive   = "active"
	RuleInactive = "inactive"
)

// Rule is a rule as the API returns it (OpenWhisk's WhiskRuleResponse): the
// trigger and the action it connects, and its status. Lists leave Status
// empty; a GET sets it.
type Rule struct {
	Namespace   string          `json:"namespace"`
	Name        string          `json:"name"`
	Version     string          `json:"version,omitempty"`
	Publish     bool            `json:"publish"`
	Annotations whisk.KeyValues `json:"annotations,omitempty"`
	Status      string          `json:"status"`
	Trigger     EntityRef       `json:"trigger"`
	Action      EntityRef       `json:"action"`
	Updated     int64           `json:"updated,omitempty"`
}

// EntityRef is a fully qualified entity name as OpenWhisk writes it in
// rules: {"path": "ns[/pkg]", "name": "entity"}. It also decodes the
// {"namespace", "name"} form and a name string ("/ns/[pkg/]entity").
type EntityRef struct {
	Path string `json:"path"`
	Name string `json:"name"`
}

// String returns the fully qualified name "/path/name", or "" for none.
func (r EntityRef) String() string {
	if r.Name == "" {
		return ""
	}
	return "/" + r.Path + "/" + r.Name
}

// UnmarshalJSON decodes an object or a name string, as whisk.EntityRef
// does, and also keeps a bare name without a namespace: the client shows
// what the server sent rather than refusing it.
func (r *EntityRef) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		*r = EntityRef{}
		return nil
	}
	var w whisk.EntityRef
	if err := w.UnmarshalJSON(data); err != nil {
		var s string
		if errors.Is(err, whisk.ErrBadName) && json.Unmarshal(data, &s) == nil {
			*r = EntityRef{Name: strings.TrimPrefix(s, "/")}
			return nil
		}
		return err
	}
	*r = EntityRef{Path: w.Path, Name: w.Name}
	return nil
}

// RulePut is the body of a rule create or update (OpenWhisk's WhiskRulePut):
// the fully qualified names of its trigger and action ("/ns/trigger",
// "/ns/[pkg/]action"; "_" names the key's own namespace).
type RulePut struct {
	Trigger     string          `json:"trigger,omitempty"`
	Action      string          `json:"action,omitempty"`
	Annotations whisk.KeyValues `json:"annotations,omitempty"`
	Publish     *bool           `json:"publish,omitempty"`
	Version     string          `json:"version,omitempty"`
}

// PutRule creates the rule name, active, or with overwrite updates it,
// creating it if it does not exist. It returns the stored rule.
func (c *Client) PutRule(ctx context.Context, name string, r *RulePut, overwrite bool) (*Rule, error) {
	if r == nil {
		r = &RulePut{}
	}
	return putEntity[Rule](ctx, c, Rules, name, r, overwrite)
}

// GetRule returns the rule name with its status.
func (c *Client) GetRule(ctx context.Context, name string) (*Rule, error) {
	return getEntity[Rule](ctx, c, Rules, name, "")
}

// DeleteRule deletes the rule name.
func (c *Client) DeleteRule(ctx context.Context, name string) error {
	return c.deleteEntity(ctx, Rules, name, "")
}

// ListRules lists the rules of namespace ("" for the client's, "ns" or "/ns"
// for another). OpenWhisk's lists carry no status: GetRule has it.
func (c *Client) ListRules(ctx context.Context, namespace string, opts ListOptions) ([]Rule, error) {
	return listEntities[Rule](ctx, c, Rules, namespace, opts)
}

// SetRuleState enables (RuleActive) or disables (RuleInactive) the rule name.
func (c *Client) SetRuleState(ctx context.Context, name, state string) error {
	if state != RuleActive && state != RuleInactive {
		return fmt.Errorf("%w: rule state %q is neither %q nor %q", ErrBadArgument, state, RuleActive, RuleInactive)
	}
	u, err := c.entityURL(Rules, name)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodPost, u, map[string]string{"status": state}, nil)
}
