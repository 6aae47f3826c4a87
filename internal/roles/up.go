package roles

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/gust-faas/gust/controller"
	"github.com/gust-faas/gust/gateway"
	"github.com/gust-faas/gust/internal/admin"
	"github.com/gust-faas/gust/internal/embednats"
	"github.com/gust-faas/gust/invoker"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/embedded"
	redisstore "github.com/gust-faas/gust/store/redis"
)

// node is what every role process holds: a NATS connection (and the
// embedded server, when there is no --nats) and the store.
type node struct {
	nc  *nats.Conn
	srv *server.Server // nil with an external NATS
	st  store.Store
}

// runNode opens the node, lets start launch the role's components in g, and
// waits for them; then it closes the store and NATS, in that order.
func runNode(ctx context.Context, cfg Config, name string, start func(ctx context.Context, n *node, g *group) error) error {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return err
	}
	nc, srv, err := connectNATS(cfg, name)
	if err != nil {
		return err
	}
	defer shutdownNATS(nc, srv)
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	g, gctx := newGroup(ctx)
	if err := start(gctx, &node{nc: nc, srv: srv, st: st}, g); err != nil {
		g.cancel()
		g.Wait()
		return err
	}
	return g.Wait()
}

// ensureGuest creates the guest namespace unless --no-guest.
func ensureGuest(ctx context.Context, cfg Config, st store.Store) error {
	if cfg.NoGuest {
		return nil
	}
	if err := admin.EnsureGuest(ctx, st); err != nil {
		return fmt.Errorf("guest namespace: %w", err)
	}
	return nil
}

// Up runs every role in one process on the embedded NATS server and the
// embedded store (or the external ones the config names).
func Up(ctx context.Context, cfg Config, log *slog.Logger) error {
	return runNode(ctx, cfg, "gust-up", func(ctx context.Context, n *node, g *group) error {
		if err := ensureGuest(ctx, cfg, n.st); err != nil {
			return err
		}
		// The invoker shares the process: the controller calls it directly
		// when placement picks it (controller.Deps.Local), NATS otherwise.
		inv, run, err := newInvoker(cfg, n.nc, n.st, log)
		if err != nil {
			return err
		}
		ctl, err := startController(ctx, g, cfg, n.nc, n.st, inv, log)
		if err != nil {
			return err
		}
		g.Go("invoker", func() error { return run(ctx) })
		// Open the API only once the controller knows the local invoker, so
		// the first invocation after "Gust is up" never meets "no invokers".
		if err := awaitInvoker(ctx, ctl, 10*time.Second); err != nil {
			return err
		}
		gw, err := startGateway(ctx, g, cfg, n.st, ctl, log)
		if err != nil {
			return err
		}
		g.Go("admin", func() error { return admin.Serve(ctx, filepath.Join(cfg.DataDir, admin.SocketName), n.st) })
		// Every member of g ends the group when it returns: the banner
		// waits for the end like the others.
		g.Go("banner", func() error {
			select {
			case <-gw.Ready():
				banner(cfg, n.srv)
			case <-ctx.Done():
			}
			<-ctx.Done()
			return nil
		})
		return nil
	})
}

// awaitInvoker returns once ctl sees an invoker up, or an error after limit.
func awaitInvoker(ctx context.Context, ctl *controller.Controller, limit time.Duration) error {
	deadline := time.After(limit)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, inv := range ctl.Invokers() {
			if inv.State == controller.StateUp {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("the invoker did not register with the controller within %v", limit)
		case <-tick.C:
		}
	}
}

// Gateway runs the API with an embedded controller library.
func Gateway(ctx context.Context, cfg Config, log *slog.Logger) error {
	return runNode(ctx, cfg, "gust-gateway", func(ctx context.Context, n *node, g *group) error {
		ctl, err := startController(ctx, g, cfg, n.nc, n.st, nil, log)
		if err != nil {
			return err
		}
		_, err = startGateway(ctx, g, cfg, n.st, ctl, log)
		return err
	})
}

// Controller runs the controller's own duties (registry, schedulers,
// queued compositions). Without --nats it embeds the NATS server the other
// roles join; unless --no-guest it creates the guest namespace, as `gust up`
// does.
func Controller(ctx context.Context, cfg Config, log *slog.Logger) error {
	return runNode(ctx, cfg, "gust-controller", func(ctx context.Context, n *node, g *group) error {
		if err := ensureGuest(ctx, cfg, n.st); err != nil {
			return err
		}
		if n.srv != nil {
			log.Info("embedded NATS listening for the other roles", "url", n.srv.ClientURL())
		}
		_, err := startController(ctx, g, cfg, n.nc, n.st, nil, log)
		return err
	})
}

// Invoker runs one invoker: the sandbox pool of this machine.
func Invoker(ctx context.Context, cfg Config, log *slog.Logger) error {
	return runNode(ctx, cfg, "gust-invoker", func(ctx context.Context, n *node, g *group) error {
		return startInvoker(ctx, g, cfg, n.nc, n.st, log)
	})
}

// connectNATS dials cfg.NATSURL, or starts the embedded server and connects
// in-process; srv is nil for an external server.
func connectNATS(cfg Config, name string) (*nats.Conn, *server.Server, error) {
	if cfg.NATSURL != "" {
		nc, err := embednats.Dial(cfg.NATSURL, name)
		if err != nil {
			return nil, nil, fmt.Errorf("nats %s: %w", cfg.NATSURL, err)
		}
		return nc, nil, nil
	}
	srv, err := embednats.Start(embednats.Config{Listen: cfg.NATSListen, StoreDir: filepath.Join(cfg.DataDir, "nats")})
	if err != nil {
		return nil, nil, err
	}
	nc, err := embednats.Connect(srv, name)
	if err != nil {
		srv.Shutdown()
		return nil, nil, err
	}
	return nc, srv, nil
}

func shutdownNATS(nc *nats.Conn, srv *server.Server) {
	nc.Drain()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

func openStore(ctx context.Context, cfg Config) (store.Store, error) {
	if cfg.RedisURL != "" {
		return redisstore.New(ctx, cfg.RedisURL, redisstore.Options{Retention: cfg.Retention})
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	return embedded.Open(filepath.Join(cfg.DataDir, "gust.db"), embedded.Options{Retention: cfg.Retention})
}

// startController starts a controller; local, when not nil, is the
// invoker of this process.
func startController(ctx context.Context, g *group, cfg Config, nc *nats.Conn, st store.Store, local *invoker.Invoker, log *slog.Logger) (*controller.Controller, error) {
	deps := controller.Deps{NATS: nc, Store: st, Logger: log.With("role", "controller")}
	if local != nil {
		deps.Local = local
	}
	ctl, err := controller.New(controller.Config{ID: cfg.InvokerID, Prefix: cfg.Prefix, AsyncReplicas: cfg.Replicas}, deps)
	if err != nil {
		return nil, err
	}
	g.Go("controller", func() error { return ctl.Run(ctx) })
	return ctl, nil
}

func startInvoker(ctx context.Context, g *group, cfg Config, nc *nats.Conn, st store.Store, log *slog.Logger) error {
	_, run, err := newInvoker(cfg, nc, st, log)
	if err != nil {
		return err
	}
	g.Go("invoker", func() error { return run(ctx) })
	return nil
}

// newInvoker builds the invoker of cfg and its sandbox driver; run runs the
// invoker until ctx ends and then closes the driver, whose sandboxes the
// invoker has destroyed by then.
func newInvoker(cfg Config, nc *nats.Conn, st store.Store, log *slog.Logger) (inv *invoker.Invoker, run func(context.Context) error, err error) {
	drv, err := sandboxDriver(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	inv, err = invoker.New(invoker.Config{
		ID: cfg.InvokerID, Prefix: cfg.Prefix, MemoryMB: cfg.MemoryMB, APIHost: cfg.APIHost, Prewarm: cfg.Prewarm,
		IdleGrace: cfg.IdleGrace,
	}, invoker.Deps{
		NATS: nc, Store: st, Driver: drv, Logger: log.With("role", "invoker"),
		GoCache: filepath.Join(cfg.DataDir, "gocache"),
	})
	if err != nil {
		closeDriver(drv, log)
		return nil, nil, err
	}
	run = func(ctx context.Context) error {
		err := inv.Run(ctx)
		closeDriver(drv, log)
		return err
	}
	return inv, run, nil
}

func startGateway(ctx context.Context, g *group, cfg Config, st store.Store, ctl *controller.Controller, log *slog.Logger) (*gateway.Gateway, error) {
	// whisk.system's built-in packages (the alarms feeds), idempotently:
	// every gateway writes the same.
	if err := gateway.InstallBuiltinPackages(ctx, st); err != nil {
		return nil, fmt.Errorf("built-in packages: %w", err)
	}
	gw, err := gateway.New(gateway.Config{Listen: cfg.Listen}, gateway.Deps{Store: st, Controller: ctl, Logger: log.With("role", "gateway")})
	if err != nil {
		return nil, err
	}
	g.Go("gateway", func() error {
		// Listen only once the controller can take work (its streams exist),
		// so the API never answers "no invokers" for a request it could run.
		select {
		case <-ctl.Ready():
		case <-ctx.Done():
			return nil
		}
		return gw.Run(ctx)
	})
	return gw, nil
}

// bannerOut receives the start-up banner; tests silence it.
var bannerOut io.Writer = os.Stdout

func banner(cfg Config, srv *server.Server) {
	w := bannerOut
	fmt.Fprintf(w, "Gust is up.\n  API host:  http://%s\n", cfg.Listen)
	if srv != nil {
		fmt.Fprintf(w, "  NATS:      %s (embedded)\n", srv.ClientURL())
	}
	if !cfg.NoGuest {
		fmt.Fprintf(w, "  namespace: %s\n  auth:      %s\n", admin.GuestNamespace, admin.GuestAuth)
		fmt.Fprintf(w, "Use it:   gust action create hello hello.js && gust action invoke hello -r\n")
		fmt.Fprintf(w, "With wsk: wsk property set --apihost http://%s --auth %s\n", cfg.Listen, admin.GuestAuth)
	}
}
