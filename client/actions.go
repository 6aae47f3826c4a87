package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// ActionPut is the body of an action create or update (OpenWhisk's
// WhiskActionPut). Absent fields keep their old value on an update and take
// their default on a create, so limits are pointers: a limit left nil is not
// sent.
type ActionPut struct {
	Exec           *whisk.Exec     `json:"exec,omitempty"`
	Parameters     whisk.KeyValues `json:"parameters,omitempty"`
	Annotations    whisk.KeyValues `json:"annotations,omitempty"`
	Limits         *LimitsPut      `json:"limits,omitempty"`
	Version        string          `json:"version,omitempty"`
	Publish        *bool           `json:"publish,omitempty"`
	DelAnnotations []string        `json:"delAnnotations,omitempty"`
}

// LimitsPut are the limits of an ActionPut; nil fields are not sent.
type LimitsPut struct {
	Timeout     *int `json:"timeout,omitempty"`     // milliseconds
	Memory      *int `json:"memory,omitempty"`      // megabytes
	Logs        *int `json:"logs,omitempty"`        // megabytes
	Concurrency *int `json:"concurrency,omitempty"` // activations at once per sandbox
}

// PutOf returns the complete ActionPut of an action: its exec, parameters,
// annotations, publish flag and every limit.
func PutOf(a *whisk.Action) *ActionPut {
	l := a.Limits
	exec := a.Exec
	publish := a.Publish
	return &ActionPut{
		Exec:        &exec,
		Parameters:  a.Parameters,
		Annotations: a.Annotations,
		Limits:      &LimitsPut{Timeout: &l.Timeout, Memory: &l.Memory, Logs: &l.Logs, Concurrency: &l.Concurrency},
		Publish:     &publish,
	}
}

// ListOptions page through a collection. Zero values are not sent: the
// server skips none and returns its default page size (30, at most 200).
type ListOptions struct {
	Skip  int
	Limit int
}

func (o ListOptions) query(extra ...string) string {
	kv := append([]string{"skip", itoaPos(o.Skip), "limit", itoaPos(o.Limit)}, extra...)
	return query(kv...)
}

func itoaPos(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// PutAction creates the action name, or with overwrite updates it (creating
// it if it does not exist). It returns the stored action.
func (c *Client) PutAction(ctx context.Context, name string, a *ActionPut, overwrite bool) (*whisk.Action, error) {
	if a == nil {
		a = &ActionPut{}
	}
	return putEntity[whisk.Action](ctx, c, Actions, name, a, overwrite)
}

// GetAction returns the action name, with its code when code is true.
func (c *Client) GetAction(ctx context.Context, name string, code bool) (*whisk.Action, error) {
	query := ""
	if !code {
		query = "?code=false"
	}
	return getEntity[whisk.Action](ctx, c, Actions, name, query)
}

// DeleteAction deletes the action name.
func (c *Client) DeleteAction(ctx context.Context, name string) error {
	return c.deleteEntity(ctx, Actions, name, "")
}

// ListActions lists the actions of the client's namespace, or of scope:
// a package ("pkg", "/ns/pkg") or a namespace ("/ns"); "" for the client's
// namespace.
func (c *Client) ListActions(ctx context.Context, scope string, opts ListOptions) ([]whisk.Action, error) {
	u, err := c.actionsURL(scope)
	if err != nil {
		return nil, err
	}
	var out []whisk.Action
	if err := c.call(ctx, http.MethodGet, u+opts.query(), nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// CountActions counts the actions in scope (as for ListActions).
func (c *Client) CountActions(ctx context.Context, scope string) (int, error) {
	u, err := c.actionsURL(scope)
	if err != nil {
		return 0, err
	}
	return c.count(ctx, u+"?count=true", "actions")
}

func (c *Client) actionsURL(scope string) (string, error) {
	if scope == "" {
		return c.nsBase + "actions", nil
	}
	nsBase, pkg, err := c.splitName(scope, true)
	if err != nil {
		return "", err
	}
	if pkg == "" {
		return nsBase + "actions", nil
	}
	return nsBase + "actions/" + pkg + "/", nil
}

func (c *Client) count(ctx context.Context, u, collection string) (int, error) {
	var out map[string]int
	if err := c.call(ctx, http.MethodGet, u, nil, &out); err != nil {
		return 0, err
	}
	n, ok := out[collection]
	if !ok {
		return 0, fmt.Errorf("%w: no %q count in the answer", ErrBadResponse, collection)
	}
	return n, nil
}

// Invocation is the outcome of an invoke request.
type Invocation struct {
	// Status is the HTTP status: 200 done, 202 accepted (a non-blocking
	// invocation, or a blocking one that outlived its wait), 502 an
	// application or developer error, 500 an internal error.
	Status int
	// ActivationID names the activation (from the x-openwhisk-activation-id
	// header, else from the body).
	ActivationID string
	// Body is the answer: the activation record of a blocking invocation,
	// only its result with result=true, or {"activationId"} for a 202.
	Body json.RawMessage
	// ResultOnly records that the invocation asked for the result only.
	ResultOnly bool
}

// Done reports whether the activation finished within the request.
func (inv *Invocation) Done() bool { return inv.Status != http.StatusAccepted }

// Activation decodes the activation record of a finished blocking
// invocation made without result=true.
func (inv *Invocation) Activation() (*whisk.Activation, error) {
	if !inv.Done() || inv.ResultOnly {
		return nil, fmt.Errorf("%w: the invocation answered no activation record", ErrBadResponse)
	}
	var a whisk.Activation
	if err := json.Unmarshal(inv.Body, &a); err != nil {
		return nil, fmt.Errorf("%w: activation record: %v", ErrBadResponse, err)
	}
	return &a, nil
}

// Result returns the action's result of a finished blocking invocation.
func (inv *Invocation) Result() (json.RawMessage, error) {
	if inv.ResultOnly && inv.Done() {
		return inv.Body, nil
	}
	a, err := inv.Activation()
	if err != nil {
		return nil, err
	}
	return a.Response.Result, nil
}

// ActivationIDHeader carries the activation id on every invoke answer.
const ActivationIDHeader = "X-Openwhisk-Activation-Id"

var emptyArgs = []byte("{}")

// Invoke invokes the action name with args: a JSON document as []byte or
// json.RawMessage (sent as is), nil for {}, or any value to marshal. A
// blocking invocation waits for the activation, up to timeout when positive
// (the server's default wait otherwise); result asks for the result alone
// (and implies blocking, as in wsk).
//
// A finished activation that failed (502, or 500 with a record) is an
// Invocation, not an error; errors are transport failures and API errors
// (*APIError: unknown action, throttling, bad arguments...).
func (c *Client) Invoke(ctx context.Context, name string, args any, blocking, result bool, timeout time.Duration) (*Invocation, error) {
	nsBase, entity, err := c.splitName(name, false)
	if err != nil {
		return nil, err
	}
	body, err := jsonBody(args)
	if err != nil {
		return nil, err
	}
	blocking = blocking || result
	u := nsBase + "actions/" + entity + "?blocking=" + strconv.FormatBool(blocking) + "&result=" + strconv.FormatBool(result)
	if timeout > 0 {
		u += "&timeout=" + strconv.FormatInt(timeout.Milliseconds(), 10)
	}
	resp, data, err := c.send(ctx, http.MethodPost, u, body)
	if err != nil {
		return nil, err
	}
	inv := &Invocation{Status: resp.StatusCode, Body: data, ResultOnly: result}
	if ids := resp.Header[ActivationIDHeader]; len(ids) > 0 {
		inv.ActivationID = ids[0]
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
	case resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusInternalServerError:
		// A failed activation carries its id; an API error carries a code;
		// a proxy's error page is not JSON.
		if inv.ActivationID == "" && (hasErrorCode(data) || !json.Valid(data)) {
			return nil, apiError(resp.StatusCode, data)
		}
	default:
		return nil, apiError(resp.StatusCode, data)
	}
	if inv.ActivationID == "" && !(result && inv.Done()) {
		var b struct {
			ActivationID string `json:"activationId"`
		}
		if json.Unmarshal(data, &b) == nil {
			inv.ActivationID = b.ActivationID
		}
	}
	return inv, nil
}

func hasErrorCode(body []byte) bool {
	var b struct {
		Code json.RawMessage `json:"code"`
	}
	return json.Unmarshal(body, &b) == nil && len(b.Code) > 0 && string(b.Code) != "null"
}
