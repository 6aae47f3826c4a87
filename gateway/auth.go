package gateway

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// principal is an authenticated caller: a namespace and its limits.
type principal struct {
	namespace string
	// apiKey is "uuid:key", given to actions annotated provide-api-key.
	apiKey string
	// Effective throttles: identity overrides, else Config.
	invocationsPerMinute  int
	concurrentInvocations int
	firesPerMinute        int
	throttle              *nsThrottle

	expires int64 // unix nanoseconds; the cache entry's end
}

// authedHandler is a handler that runs for an authenticated caller; now is
// when the request started (read once per request: clocks are not free in
// a VM).
type authedHandler func(c *fiber.Ctx, p *principal, now time.Time) error

// authed wraps h with Basic authentication.
func (g *Gateway) authed(h authedHandler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		now := time.Now()
		p, err := g.authenticate(c, now.UnixNano())
		if err != nil {
			return err
		}
		return h(c, p, now)
	}
}

// authenticate resolves the request's Basic credentials, from the cache
// when it can.
func (g *Gateway) authenticate(c *fiber.Ctx, now int64) (*principal, error) {
	header := c.Get(fiber.HeaderAuthorization) // aliases the request; not kept
	if header == "" {
		return nil, ErrNoCredentials
	}
	if p := g.auth.get(header, now); p != nil {
		return p, nil
	}
	uuid, key, err := parseBasic(header)
	if err != nil {
		return nil, err
	}
	id, err := g.st.IdentityByUUID(g.reqCtx, uuid)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, whisk.ErrBadRequest) {
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("identity lookup: %w", err)
	}
	if !id.Matches(key) || id.UUID != uuid {
		return nil, ErrBadCredentials
	}
	p := &principal{
		namespace:             id.Namespace,
		apiKey:                uuid + ":" + key,
		invocationsPerMinute:  orDefault(id.InvocationsPerMinute, g.cfg.InvocationsPerMinute),
		concurrentInvocations: orDefault(id.ConcurrentInvocations, g.cfg.ConcurrentInvocations),
		firesPerMinute:        orDefault(id.FiresPerMinute, g.cfg.FiresPerMinute),
		throttle:              g.throttles.get(id.Namespace),
		expires:               now + int64(g.cfg.AuthCacheTTL),
	}
	g.auth.put(strings.Clone(header), p)
	return p, nil
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// parseBasic splits "Basic base64(uuid:key)".
func parseBasic(header string) (uuid, key string, err error) {
	const scheme = "basic "
	if len(header) <= len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return "", "", ErrNoCredentials
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header[len(scheme):]))
	if err != nil {
		return "", "", ErrBadCredentials
	}
	uuid, key, ok := strings.Cut(string(raw), ":")
	if !ok || uuid == "" || key == "" {
		return "", "", ErrBadCredentials
	}
	return uuid, key, nil
}

// checkNamespace resolves the path's namespace: "_" or the caller's own.
// Any other namespace is forbidden, whether or not it exists.
func checkNamespace(c *fiber.Ctx, p *principal) (string, error) {
	ns, err := pathParam(c, "ns")
	if err != nil {
		return "", err
	}
	if ns == whisk.DefaultNamespace || ns == p.namespace {
		return p.namespace, nil
	}
	if !whisk.ValidName(ns) {
		return "", errorf(whisk.ErrBadName, "The namespace contains illegal characters.")
	}
	return "", forbidden(ns)
}

// authCache remembers successful authentications by their exact
// Authorization header. Failures are never cached.
type authCache struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[string]*principal
}

// maxAuthEntries bounds the cache; only valid credentials get in, so this
// is the number of distinct keys in use within one TTL.
const maxAuthEntries = 1 << 16

func newAuthCache(ttl time.Duration) *authCache {
	return &authCache{ttl: ttl, m: make(map[string]*principal)}
}

func (a *authCache) get(header string, now int64) *principal {
	a.mu.RLock()
	p := a.m[header]
	a.mu.RUnlock()
	if p != nil && now < p.expires {
		return p
	}
	return nil
}

func (a *authCache) put(header string, p *principal) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.m) >= maxAuthEntries {
		for k, v := range a.m {
			if v.expires <= p.expires-int64(a.ttl) {
				delete(a.m, k)
			}
		}
		if len(a.m) >= maxAuthEntries {
			clear(a.m)
		}
	}
	a.m[header] = p
}
