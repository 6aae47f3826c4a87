package roles

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/gust-faas/gust/bench"
	"github.com/gust-faas/gust/internal/gcfloor"
)

// Commands maps the role subcommands to their entry points; each returns
// the process exit code.
var Commands = map[string]func(args []string) int{
	"up":         serve("up", Up),
	"gateway":    serve("gateway", Gateway),
	"controller": serve("controller", Controller),
	"invoker":    serve("invoker", Invoker),
	"admin":      Admin,
	"bench":      bench.Main,
}

// serve wraps a role: load its config, run it until SIGINT or SIGTERM.
func serve(role string, run func(ctx context.Context, cfg Config, log *slog.Logger) error) func([]string) int {
	return func(args []string) int {
		cfg, err := Load(role, args)
		if errors.Is(err, flagHelp) {
			return 0
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if cfg.MaxProcs > 0 {
			runtime.GOMAXPROCS(cfg.MaxProcs)
		}
		gcfloor.Start(gcfloor.Default) // GOGC in the environment overrides it
		log := newLogger(cfg.LogLevel)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		startPprof(ctx, log)
		if err := run(ctx, cfg, log); err != nil {
			log.Error("gust "+role+" failed", "err", err)
			return 1
		}
		return 0
	}
}

// pprofEnv names the environment variable that opts a role process into
// Go's profiling endpoints (net/http/pprof), e.g. GUST_PPROF=127.0.0.1:6060;
// for measuring the platform under load. Unset, nothing listens. The
// endpoints are unauthenticated: bind them to loopback.
const pprofEnv = "GUST_PPROF"

// startPprof serves net/http/pprof on $GUST_PPROF until ctx ends.
func startPprof(ctx context.Context, log *slog.Logger) {
	addr := os.Getenv(pprofEnv)
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("pprof endpoint not started", "env", pprofEnv, "addr", addr, "err", err)
		return
	}
	log.Info("pprof endpoint listening", "addr", ln.Addr().String())
	go func() { // owned by ctx: it ends with the process's signal context
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof endpoint stopped", "err", err)
		}
	}()
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// group runs functions until the first fails or ctx ends, then cancels the
// rest and waits for all of them. It returns the first error.
type group struct {
	wg     sync.WaitGroup
	cancel context.CancelFunc
	once   sync.Once
	err    error
}

func newGroup(ctx context.Context) (*group, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &group{cancel: cancel}, ctx
}

func (g *group) Go(name string, f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil && !errors.Is(err, context.Canceled) {
			g.once.Do(func() { g.err = fmt.Errorf("%s: %w", name, err) })
		}
		g.cancel()
	}()
}

func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}
