package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gust-faas/gust/whisk"
)

// Trigger is a trigger as the API returns it (OpenWhisk's WhiskTrigger). A
// GET also lists the rules that fire on it.
type Trigger struct {
	Namespace   string          `json:"namespace"`
	Name        string          `json:"name"`
	Version     string          `json:"version,omitempty"`
	Publish     bool            `json:"publish"`
	Annotations whisk.KeyValues `json:"annotations,omitempty"`
	Parameters  whisk.KeyValues `json:"parameters,omitempty"`
	// Limits is OpenWhisk's trigger limits object, empty today.
	Limits json.RawMessage `json:"limits,omitempty"`
	// Rules maps the fully qualified name of each rule on the trigger
	// ("ns/rule") to its action and status.
	Rules   map[string]TriggerRule `json:"rules,omitempty"`
	Updated int64                  `json:"updated,omitempty"`
}

// Feed returns the feed action the trigger's "feed" annotation names
// ("/ns/[pkg/]action"), or "" for a trigger without a feed.
func (t *Trigger) Feed() string {
	var s string
	if raw := t.Annotations.Get(FeedAnnotation); raw != nil && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// FeedAnnotation is the trigger annotation naming its feed action.
const FeedAnnotation = "feed"

// TriggerRule is a rule as its trigger lists it.
type TriggerRule struct {
	Action EntityRef `json:"action"`
	Status string    `json:"status"`
}

// TriggerPut is the body of a trigger create or update (OpenWhisk's
// WhiskTriggerPut). Absent fields keep their old value on an update.
type TriggerPut struct {
	Parameters  whisk.KeyValues `json:"parameters,omitempty"`
	Annotations whisk.KeyValues `json:"annotations,omitempty"`
	Publish     *bool           `json:"publish,omitempty"`
	Version     string          `json:"version,omitempty"`
}

// PutTrigger creates the trigger name, or with overwrite updates it,
// creating it if it does not exist. It returns the stored trigger.
func (c *Client) PutTrigger(ctx context.Context, name string, t *TriggerPut, overwrite bool) (*Trigger, error) {
	if t == nil {
		t = &TriggerPut{}
	}
	return putEntity[Trigger](ctx, c, Triggers, name, t, overwrite)
}

// GetTrigger returns the trigger name with its rules.
func (c *Client) GetTrigger(ctx context.Context, name string) (*Trigger, error) {
	return getEntity[Trigger](ctx, c, Triggers, name, "")
}

// DeleteTrigger deletes the trigger name. It does not tell the trigger's
// feed: the CLI invokes the feed action with the DELETE lifecycle event first.
func (c *Client) DeleteTrigger(ctx context.Context, name string) error {
	return c.deleteEntity(ctx, Triggers, name, "")
}

// ListTriggers lists the triggers of namespace ("" for the client's, "ns"
// or "/ns" for another).
func (c *Client) ListTriggers(ctx context.Context, namespace string, opts ListOptions) ([]Trigger, error) {
	return listEntities[Trigger](ctx, c, Triggers, namespace, opts)
}

// FireTrigger fires the trigger name with a payload: a JSON object as
// []byte or json.RawMessage (sent as is), nil for {}, or any value to
// marshal. It returns the id of the trigger's activation, whose record lists
// the actions its active rules invoked; or "" when the server answered 204
// because no rule on the trigger is active, so nothing ran.
func (c *Client) FireTrigger(ctx context.Context, name string, payload any) (string, error) {
	u, err := c.entityURL(Triggers, name)
	if err != nil {
		return "", err
	}
	body, err := jsonBody(payload)
	if err != nil {
		return "", err
	}
	resp, data, err := c.send(ctx, http.MethodPost, u, body)
	if err != nil {
		return "", err
	}
	switch {
	case resp.StatusCode == http.StatusNoContent:
		return "", nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return "", apiError(resp.StatusCode, data)
	}
	if ids := resp.Header[ActivationIDHeader]; len(ids) > 0 && ids[0] != "" {
		return ids[0], nil
	}
	var out struct {
		ActivationID string `json:"activationId"`
	}
	if err := json.Unmarshal(data, &out); err != nil || out.ActivationID == "" {
		return "", fmt.Errorf("%w: POST %s: no activation id in the answer", ErrBadResponse, u)
	}
	return out.ActivationID, nil
}

// jsonBody encodes a request body given as JSON bytes, nil for {}, or a
// value to marshal.
func jsonBody(v any) ([]byte, error) {
	var body []byte
	switch a := v.(type) {
	case nil:
	case []byte:
		body = a
	case json.RawMessage:
		body = a
	default:
		var err error
		if body, err = json.Marshal(a); err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
	}
	if len(body) == 0 {
		body = emptyArgs
	}
	return body, nil
}
