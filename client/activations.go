package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gust-faas/gust/whisk"
)

// ActivationFilter selects activation records. Zero values are not sent.
type ActivationFilter struct {
	// Name keeps the activations of one action ("name", "pkg/name"); a
	// qualified name ("/ns/name") or a namespace alone ("/ns") also selects
	// the namespace to list.
	Name  string
	Skip  int
	Limit int   // default 30, at most 200
	Since int64 // epoch milliseconds, inclusive lower bound on start
	Upto  int64 // epoch milliseconds, upper bound on start
	Docs  bool  // full records (response and logs) instead of summaries
}

func (c *Client) activationsURL(f ActivationFilter) (string, error) {
	nsBase, name := c.nsBase, ""
	if f.Name != "" {
		var err error
		if nsBase, name, err = c.splitName(f.Name, true); err != nil {
			return "", err
		}
		if name != "" {
			// splitName escaped the segments for a path; the query escapes again.
			if name, err = url.PathUnescape(name); err != nil {
				return "", err
			}
		}
	}
	var since, upto string
	if f.Since > 0 {
		since = strconv.FormatInt(f.Since, 10)
	}
	if f.Upto > 0 {
		upto = strconv.FormatInt(f.Upto, 10)
	}
	docs := ""
	if f.Docs {
		docs = "true"
	}
	return nsBase + "activations" + query("name", name, "skip", itoaPos(f.Skip), "limit", itoaPos(f.Limit),
		"since", since, "upto", upto, "docs", docs), nil
}

// ListActivations lists activation records, newest first.
func (c *Client) ListActivations(ctx context.Context, f ActivationFilter) ([]whisk.Activation, error) {
	u, err := c.activationsURL(f)
	if err != nil {
		return nil, err
	}
	var out []whisk.Activation
	if err := c.call(ctx, http.MethodGet, u, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// CountActivations counts the activation records f selects (Docs, Skip and
// Limit do not apply).
func (c *Client) CountActivations(ctx context.Context, f ActivationFilter) (int, error) {
	f.Docs, f.Skip, f.Limit = false, 0, 0
	u, err := c.activationsURL(f)
	if err != nil {
		return 0, err
	}
	if strings.Contains(u, "?") {
		u += "&count=true"
	} else {
		u += "?count=true"
	}
	return c.count(ctx, u, "activations")
}

func (c *Client) activationURL(id, suffix string) (string, error) {
	if id == "" || strings.Contains(id, "/") {
		return "", fmt.Errorf("%w: activation id %q", ErrBadName, id)
	}
	return c.nsBase + "activations/" + url.PathEscape(id) + suffix, nil
}

// GetActivation returns the activation record id.
func (c *Client) GetActivation(ctx context.Context, id string) (*whisk.Activation, error) {
	u, err := c.activationURL(id, "")
	if err != nil {
		return nil, err
	}
	var out whisk.Activation
	if err := c.call(ctx, http.MethodGet, u, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ActivationResult returns the response of the activation id: its status,
// success flag and result.
func (c *Client) ActivationResult(ctx context.Context, id string) (*whisk.Response, error) {
	u, err := c.activationURL(id, "/result")
	if err != nil {
		return nil, err
	}
	var out whisk.Response
	if err := c.call(ctx, http.MethodGet, u, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ActivationLogs returns the log lines of the activation id.
func (c *Client) ActivationLogs(ctx context.Context, id string) ([]string, error) {
	u, err := c.activationURL(id, "/logs")
	if err != nil {
		return nil, err
	}
	var out struct {
		Logs []string `json:"logs"`
	}
	if err := c.call(ctx, http.MethodGet, u, nil, &out); err != nil {
		return nil, err
	}
	return out.Logs, nil
}
