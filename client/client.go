package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"
)

// Defaults of a Gust installation started with `gust up`.
const (
	DefaultAPIHost    = "http://127.0.0.1:3233"
	DefaultAPIVersion = "v1"
	DefaultNamespace  = "_"
	// GuestAuth is OpenWhisk's development key of the "guest" namespace,
	// which `gust up` also accepts.
	GuestAuth = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)

// MaxResponseSize bounds the bytes the client reads from one response: an
// action's code is at most 48 MB, 64 MB once base64 encoded.
const MaxResponseSize = 128 << 20

// Config configures a Client.
type Config struct {
	// APIHost is the API's base: "http://127.0.0.1:3233", "https://host",
	// or "host[:port]", which means HTTPS as in wsk. Default DefaultAPIHost.
	APIHost string
	// Auth is the namespace key "uuid:key", sent as HTTP Basic credentials.
	// Empty sends no credentials.
	Auth string
	// Namespace is the namespace of names that do not name one; default "_"
	// (the key's own namespace).
	Namespace string
	// APIVersion is the API version in the paths; default "v1".
	APIVersion string
	// HTTPClient sends the requests; default a client over NewTransport.
	// Insecure applies only to the default transport.
	HTTPClient *http.Client
	// UserAgent is the User-Agent header; default "gust-client/1 (os arch)".
	UserAgent string
	// Insecure skips the verification of the server's TLS certificate.
	Insecure bool
}

// Client calls the OpenWhisk REST API. It is safe for concurrent use.
type Client struct {
	hc        *http.Client
	namespace string
	api       string   // ".../api/v1"
	nsBase    string   // ".../api/v1/namespaces/<ns>/"
	auth      []string // Authorization header value, nil without credentials
	userAgent []string
}

// NewTransport returns the transport New uses by default: keep-alive with up
// to 256 idle connections per host, so that a load generator reuses its
// connections instead of exhausting ephemeral ports.
func NewTransport(insecure bool) *http.Transport {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	if insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for with --insecure
	}
	return t
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	host := strings.TrimSpace(cfg.APIHost)
	if host == "" {
		host = DefaultAPIHost
	}
	base, err := BaseURL(host)
	if err != nil {
		return nil, err
	}
	version := cfg.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	if strings.ContainsAny(version, "/?#") {
		return nil, fmt.Errorf("%w: API version %q", ErrBadConfig, version)
	}
	ns := cfg.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	if strings.Contains(ns, "/") {
		return nil, fmt.Errorf("%w: namespace %q contains '/'", ErrBadConfig, ns)
	}
	c := &Client{hc: cfg.HTTPClient, namespace: ns}
	if c.hc == nil {
		c.hc = &http.Client{Transport: NewTransport(cfg.Insecure)}
	}
	c.api = base + "/api/" + url.PathEscape(version)
	c.nsBase = c.api + "/namespaces/" + url.PathEscape(ns) + "/"
	if cfg.Auth != "" {
		if !strings.Contains(cfg.Auth, ":") {
			return nil, fmt.Errorf("%w: the auth key must have the form uuid:key", ErrBadConfig)
		}
		c.auth = []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Auth))}
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "gust-client/1 (" + runtime.GOOS + " " + runtime.GOARCH + ")"
	}
	c.userAgent = []string{ua}
	return c, nil
}

// BaseURL normalizes an API host as wsk does: a host without a scheme means
// HTTPS; a trailing slash is dropped. It returns "scheme://host[:port][/path]".
func BaseURL(host string) (string, error) {
	h := strings.TrimSpace(host)
	if h == "" {
		return "", fmt.Errorf("%w: an API host must be provided", ErrBadConfig)
	}
	if l := strings.ToLower(strings.TrimRight(h, "/")); l == "http:" || l == "https:" {
		return "", fmt.Errorf("%w: API host %q is not a valid host or URL", ErrBadConfig, host)
	}
	if !strings.HasPrefix(h, "http://") && !strings.HasPrefix(h, "https://") {
		h = "https://" + h
	}
	u, err := url.Parse(h)
	if err != nil {
		return "", fmt.Errorf("%w: API host %q: %v", ErrBadConfig, host, err)
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%w: API host %q is not a valid host or URL", ErrBadConfig, host)
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// Namespace is the namespace of unqualified names.
func (c *Client) Namespace() string { return c.namespace }

// WithNamespace returns a client for another namespace that shares c's
// connections and credentials.
func (c *Client) WithNamespace(ns string) (*Client, error) {
	if ns == "" || strings.Contains(ns, "/") {
		return nil, fmt.Errorf("%w: namespace %q", ErrBadConfig, ns)
	}
	n := *c
	n.namespace = ns
	n.nsBase = c.api + "/namespaces/" + url.PathEscape(ns) + "/"
	return &n, nil
}

// splitName resolves an entity name into the URL prefix of its namespace and
// its escaped path inside the namespace ("name" or "pkg/name"). OpenWhisk's
// forms: "name", "pkg/name", "/ns/name", "/ns/pkg/name", and wsk's
// "ns/pkg/name". With allowNSOnly, "/ns" alone names a namespace.
func (c *Client) splitName(name string, allowNSOnly bool) (nsBase, entity string, err error) {
	if name == "" {
		return "", "", fmt.Errorf("%w: empty name", ErrBadName)
	}
	if strings.IndexByte(name, '/') < 0 && name != "." && name != ".." {
		return c.nsBase, url.PathEscape(name), nil // the common case, without allocating
	}
	parts := strings.Split(name, "/")
	qualified := parts[0] == ""
	if qualified {
		parts = parts[1:]
	} else if len(parts) == 3 {
		qualified = true
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return "", "", fmt.Errorf("%w: %q", ErrBadName, name)
		}
	}
	nsBase = c.nsBase
	if qualified {
		switch {
		case len(parts) == 1 && allowNSOnly:
			return c.api + "/namespaces/" + url.PathEscape(parts[0]) + "/", "", nil
		case len(parts) < 2 || len(parts) > 3:
			return "", "", fmt.Errorf("%w: %q is not /namespace[/package]/name", ErrBadName, name)
		}
		if parts[0] != c.namespace {
			nsBase = c.api + "/namespaces/" + url.PathEscape(parts[0]) + "/"
		}
		parts = parts[1:]
	} else if len(parts) > 2 {
		return "", "", fmt.Errorf("%w: %q has too many segments", ErrBadName, name)
	}
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return nsBase, strings.Join(parts, "/"), nil
}

// send performs one request and reads the whole response body.
func (c *Client) send(ctx context.Context, method, u string, body []byte) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, err
	}
	h := req.Header
	if c.auth != nil {
		h["Authorization"] = c.auth
	}
	h["User-Agent"] = c.userAgent
	h["Accept"] = jsonType
	if body != nil {
		h["Content-Type"] = jsonType
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	data, err := readBody(resp)
	if err != nil {
		return resp, nil, fmt.Errorf("%s %s: reading the response: %w", method, u, err)
	}
	return resp, data, nil
}

var jsonType = []string{"application/json"}

func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	if n := resp.ContentLength; n >= 0 && n <= MaxResponseSize {
		b := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxResponseSize {
		return nil, fmt.Errorf("%w: response larger than %d bytes", ErrBadResponse, MaxResponseSize)
	}
	return b, nil
}

// call sends a request with a JSON body (nil for none) and decodes a 2xx
// answer into out (nil to ignore it); other statuses become *APIError.
func (c *Client) call(ctx context.Context, method, u string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encoding the request: %w", err)
		}
	}
	resp, data, err := c.send(ctx, method, u, body)
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrBadResponse, method, u, err)
	}
	return nil
}

// apiError parses OpenWhisk's error body {"error": "...", "code": "..."}.
func apiError(status int, body []byte) *APIError {
	e := &APIError{Status: status, Body: body}
	var b struct {
		Error json.RawMessage `json:"error"`
		Code  json.RawMessage `json:"code"`
	}
	if json.Unmarshal(body, &b) == nil {
		e.Message = jsonText(b.Error)
		e.Code = jsonText(b.Code)
	}
	return e
}

// jsonText is a JSON string's text, or another JSON value's compact form.
func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String()
	}
	return string(raw)
}

// query builds "?k=v&..." from pairs, skipping empty values.
func query(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		if b.Len() == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(kv[i])
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[i+1]))
	}
	return b.String()
}
