package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// Controller places activations. The gateway owns this seam; the controller
// package implements it.
//
// The gateway shares msg.Action, msg.Args and msg.InitEnv between
// invocations of the same cached action: Invoke must treat them as
// read-only. It may keep msg after returning (e.g. for a blocking
// invocation that outlives its wait).
type Controller interface {
	// Invoke runs msg. Blocking: returns the finished record, or an error
	// wrapping controller.ErrStillRunning when wait passes (answer 202 with the id).
	// Non-blocking: returns (nil, nil) once the activation is durably accepted.
	Invoke(ctx context.Context, msg *bus.ActivationMessage, wait time.Duration) (*whisk.Activation, error)
}

// Deps are the gateway's collaborators.
type Deps struct {
	Store      store.Store
	Controller Controller
	// Logger receives the gateway's logs; nil discards them.
	Logger *slog.Logger
}

// Gateway is the REST API server. Create it with New, serve with Run.
type Gateway struct {
	cfg  Config
	st   store.Store
	ctrl Controller
	log  *slog.Logger
	app  *fiber.App

	auth      *authCache
	owners    *authCache // web actions' namespaces, by name (web.go)
	actions   *actionCache
	throttles *throttles
	fires     *throttles // trigger fires per minute (triggers.go)

	// reqCtx is given to the store and the controller on behalf of
	// requests; it ends only once a shutdown has given up waiting for them.
	reqCtx    context.Context
	cancelReq context.CancelFunc

	info []byte // GET /api/v1, encoded once

	running atomic.Bool
	ready   chan struct{}
	addrMu  sync.Mutex
	addr    net.Addr
}

// New builds a gateway. It does not listen until Run.
func New(cfg Config, deps Deps) (*Gateway, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if deps.Store == nil {
		return nil, errors.New("gateway: Deps.Store is required")
	}
	if deps.Controller == nil {
		return nil, errors.New("gateway: Deps.Controller is required")
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g := &Gateway{
		cfg:       cfg,
		st:        deps.Store,
		ctrl:      deps.Controller,
		log:       log,
		auth:      newAuthCache(cfg.AuthCacheTTL),
		owners:    newAuthCache(cfg.AuthCacheTTL),
		actions:   newActionCache(cfg.ActionCacheTTL),
		throttles: newThrottles(),
		fires:     newThrottles(),
		ready:     make(chan struct{}),
	}
	g.reqCtx, g.cancelReq = context.WithCancel(context.Background())
	if g.info, err = g.encodeInfo(); err != nil {
		return nil, err
	}
	g.app = fiber.New(fiber.Config{
		AppName:               "gust",
		DisableStartupMessage: true,
		ServerHeader:          "",
		StrictRouting:         true, // ".../actions/pkg/" lists a package, ".../actions/pkg" is an action
		CaseSensitive:         true, // entity names are case-sensitive
		UnescapePath:          false,
		BodyLimit:             maxBodySize,
		ReadTimeout:           readTimeout,
		IdleTimeout:           idleTimeout,
		ErrorHandler:          g.errorHandler,
	})
	g.routes()
	return g, nil
}

// Request limits of the HTTP server.
const (
	// maxBodySize admits the largest action PUT: code plus parameters and
	// annotations. Smaller limits (1 MB invoke payloads) are checked by the
	// handlers, with OpenWhisk's messages.
	maxBodySize = whisk.MaxCodeSize + 2*whisk.MaxPayload + 64<<10
	readTimeout = 60 * time.Second
	idleTimeout = 120 * time.Second
)

// App is the Fiber application, for tests (app.Test) and for mounting.
func (g *Gateway) App() *fiber.App { return g.app }

// Ready is closed once Run listens.
func (g *Gateway) Ready() <-chan struct{} { return g.ready }

// Addr is the address Run listens on, nil before Ready.
func (g *Gateway) Addr() net.Addr {
	g.addrMu.Lock()
	defer g.addrMu.Unlock()
	return g.addr
}

// Run listens on Config.Listen and serves until ctx ends, then stops
// accepting, waits up to Config.ShutdownTimeout for in-flight requests, and
// returns. It returns an error if it cannot listen or the server fails. Run
// may be called once.
func (g *Gateway) Run(ctx context.Context) error {
	if !g.running.CompareAndSwap(false, true) {
		return errors.New("gateway: Run called twice")
	}
	defer g.cancelReq()
	ln, err := net.Listen("tcp", g.cfg.Listen)
	if err != nil {
		return fmt.Errorf("gateway: listen %s: %w", g.cfg.Listen, err)
	}
	g.addrMu.Lock()
	g.addr = ln.Addr()
	g.addrMu.Unlock()
	tl := newListener(ln)

	served := make(chan error, 1)
	go func() { served <- g.app.Listener(tl) }() // owned here: Run waits for it below
	close(g.ready)
	g.log.Info("gateway listening", "addr", ln.Addr().String())

	select {
	case err := <-served:
		return fmt.Errorf("gateway: serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), g.cfg.ShutdownTimeout)
	defer cancel()
	tl.Close()
	tl.closeUnused()
	err = g.app.ShutdownWithContext(shutCtx)
	g.cancelReq() // whatever still runs gives up now
	if serr := <-served; serr != nil && err == nil {
		err = serr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// Requests still running after the drain bound were cut: that is
		// what the bound is for, not a failure of the gateway.
		g.log.Warn("gateway stopped with requests still open", "after", g.cfg.ShutdownTimeout)
		return nil
	}
	if err != nil {
		return fmt.Errorf("gateway: shutdown: %w", err)
	}
	g.log.Info("gateway stopped")
	return nil
}

// routes registers every endpoint. With StrictRouting, paths that OpenWhisk
// accepts with and without a trailing slash are registered twice.
func (g *Gateway) routes() {
	app := g.app
	app.Use(recover.New())
	app.Use(g.common)

	app.Get("/", g.getInfo)
	app.Get("/api/v1", g.getInfo)
	app.Get("/api/v1/", g.getInfo)

	ns := "/api/v1/namespaces"
	app.Get(ns, g.authed(g.listNamespaces))
	app.Get(ns+"/", g.authed(g.listNamespaces))
	app.Get(ns+"/:ns/limits", g.authed(g.getLimits))

	act := ns + "/:ns/actions"
	g.entityRoutes(act, entityHandlers{list: g.listActions, put: g.putAction, get: g.getAction, del: g.deleteAction, post: g.invoke})
	// actions in a package or binding (packages.go)
	app.Put(act+"/:pkg/:name", g.authed(g.putPackagedAction))
	app.Get(act+"/:pkg/:name", g.authed(g.getPackagedAction))
	app.Delete(act+"/:pkg/:name", g.authed(g.deletePackagedAction))
	app.Post(act+"/:pkg/:name", g.authed(g.invoke))
	// After ".../:name": Fiber lets a pattern's trailing slash be absent, so
	// this route would otherwise also take ".../actions/name".
	app.Get(act+"/:pkg/", g.authed(g.listActions))

	g.entityRoutes(ns+"/:ns/packages", entityHandlers{list: g.listPackages, put: g.putPackage, get: g.getPackage, del: g.deletePackage})

	g.triggerAndRuleRoutes(ns) // triggers.go

	acts := ns + "/:ns/activations"
	app.Get(acts, g.authed(g.listActivations))
	app.Get(acts+"/", g.authed(g.listActivations))
	app.Get(acts+"/:id", g.authed(g.getActivation))
	app.Get(acts+"/:id/result", g.authed(g.getActivationResult))
	app.Get(acts+"/:id/logs", g.authed(g.getActivationLogs))

	// web actions: any method, no key (web.go)
	app.All(webPrefix+":ns/:pkg/*", g.web)
}

// entityHandlers are the handlers of an entity collection's endpoints.
type entityHandlers struct {
	list, put, get, del authedHandler
	post                authedHandler // nil: no POST
}

// entityRoutes registers a collection at base: list (base, base/), and PUT,
// GET, DELETE and POST of base/:name, in that order.
func (g *Gateway) entityRoutes(base string, h entityHandlers) {
	g.app.Get(base, g.authed(h.list))
	g.app.Get(base+"/", g.authed(h.list))
	g.app.Put(base+"/:name", g.authed(h.put))
	g.app.Get(base+"/:name", g.authed(h.get))
	g.app.Delete(base+"/:name", g.authed(h.del))
	if h.post != nil {
		g.app.Post(base+"/:name", g.authed(h.post))
	}
}
