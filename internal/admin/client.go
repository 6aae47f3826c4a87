package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/gust-faas/gust/whisk"
)

func isBadName(err error) bool { return errors.Is(err, whisk.ErrBadName) }

// Client talks to a running Gust's admin socket.
type Client struct{ http *http.Client }

// Dial returns a client for the admin socket at path, or an error when no
// Gust is listening there.
func Dial(path string) (*Client, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, err
	}
	conn.Close()
	return &Client{http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}}, nil
}

// CreateUser creates namespace ns and returns its credentials.
func (c *Client) CreateUser(ctx context.Context, ns string) (Credentials, error) {
	var cr Credentials
	return cr, c.do(ctx, http.MethodPut, "/namespaces/"+ns, &cr)
}

// DeleteUser deletes namespace ns's identity.
func (c *Client) DeleteUser(ctx context.Context, ns string) error {
	return c.do(ctx, http.MethodDelete, "/namespaces/"+ns, nil)
}

// ListUsers lists namespaces.
func (c *Client) ListUsers(ctx context.Context) ([]string, error) {
	var out []string
	return out, c.do(ctx, http.MethodGet, "/namespaces", &out)
}

func (c *Client) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://gust"+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.Unmarshal(body, &e)
		return fmt.Errorf("%s", strings.TrimSpace(e.Error))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(body, out)
}
