package roles

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gust-faas/gust/invoker"
	"github.com/gust-faas/gust/whisk"
)

// flagHelp means -h was given and usage printed: exit 0.
var flagHelp = errors.New("help requested")

// Config is every setting of a Gust process. Load fills it from flags, then
// the environment, then defaults; each field's variable is listed in the
// README's configuration table.
type Config struct {
	Listen     string                  // GUST_LISTEN: the API's HOST:PORT
	DataDir    string                  // GUST_DATA_DIR: embedded store, JetStream, sockets
	RedisURL   string                  // GUST_REDIS: use Redis instead of the embedded store
	NATSURL    string                  // GUST_NATS: use this NATS instead of the embedded one
	NATSListen string                  // GUST_NATS_LISTEN: where the embedded NATS listens
	Prefix     string                  // GUST_PREFIX: NATS subject prefix
	Replicas   int                     // GUST_JETSTREAM_REPLICAS: replicas of the controller's JetStream streams
	Sandbox    string                  // GUST_SANDBOX: auto, linux or process
	Shells     int                     // GUST_SANDBOX_SHELLS: linux sandboxes built ahead of need
	MemoryMB   int                     // GUST_INVOKER_MEMORY: invoker user-memory budget
	InvokerID  string                  // GUST_INVOKER_ID
	Retention  time.Duration           // GUST_RETENTION: how long activation records live
	NoGuest    bool                    // GUST_NO_GUEST: do not create the guest namespace
	LogLevel   string                  // GUST_LOG_LEVEL: debug, info, warn, error
	APIHost    string                  // GUST_API_HOST: __OW_API_HOST given to actions
	MaxProcs   int                     // GUST_MAXPROCS: GOMAXPROCS override (0 = Go's default)
	Prewarm    []invoker.PrewarmConfig // GUST_PREWARM: stem cells the invoker keeps started
	IdleGrace  time.Duration           // GUST_IDLE_GRACE: idle time before a sandbox is paused (0 = invoker default)
}

// env reads GUST_<name>, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv("GUST_" + name); ok {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(env(name, "")); err == nil {
		return v
	}
	return def
}

func envDur(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(env(name, "")); err == nil {
		return v
	}
	return def
}

func defaultDataDir() string {
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".gust")
	}
	return filepath.Join(os.TempDir(), "gust")
}

// Load parses args for the named role into a Config. It is pure but for
// reading the environment and the home directory.
func Load(role string, args []string) (Config, error) {
	c := Config{}
	fs := flag.NewFlagSet("gust "+role, flag.ContinueOnError)
	fs.StringVar(&c.Listen, "listen", env("LISTEN", "127.0.0.1:3233"), "API address HOST:PORT")
	fs.StringVar(&c.DataDir, "data-dir", env("DATA_DIR", defaultDataDir()), "directory for the embedded store, JetStream and sockets")
	fs.StringVar(&c.RedisURL, "redis", env("REDIS", ""), "Redis URL (redis://host:port/db); empty = embedded store")
	fs.StringVar(&c.NATSURL, "nats", env("NATS", ""), "NATS URL; empty = embedded NATS server")
	fs.StringVar(&c.NATSListen, "nats-listen", env("NATS_LISTEN", "127.0.0.1:4222"), "where the embedded NATS server listens for other gust processes")
	fs.StringVar(&c.Prefix, "prefix", env("PREFIX", "gust."), "NATS subject prefix")
	fs.IntVar(&c.Replicas, "jetstream-replicas", envInt("JETSTREAM_REPLICAS", 1), "replicas of the JetStream streams and buckets the controller creates (3 on a NATS cluster)")
	fs.StringVar(&c.Sandbox, "sandbox", env("SANDBOX", "auto"), "sandbox driver: auto, linux or process")
	fs.IntVar(&c.Shells, "sandbox-shells", envInt("SANDBOX_SHELLS", 4), "linux sandboxes kept built ahead of need, before their action is known (0: none)")
	fs.IntVar(&c.MemoryMB, "memory", envInt("INVOKER_MEMORY", 2048), "invoker user-memory budget in MB")
	fs.StringVar(&c.InvokerID, "invoker-id", env("INVOKER_ID", hostname()), "invoker id, unique per invoker")
	fs.DurationVar(&c.Retention, "retention", envDur("RETENTION", 7*24*time.Hour), "how long activation records are kept")
	fs.BoolVar(&c.NoGuest, "no-guest", env("NO_GUEST", "") != "", "do not create the guest namespace")
	fs.StringVar(&c.LogLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error")
	fs.StringVar(&c.APIHost, "api-host", env("API_HOST", ""), "API host given to actions as __OW_API_HOST (default: http://<listen>)")
	fs.IntVar(&c.MaxProcs, "maxprocs", envInt("MAXPROCS", 0), "GOMAXPROCS (0 = number of CPUs)")
	fs.DurationVar(&c.IdleGrace, "idle-grace", envDur("IDLE_GRACE", invoker.DefaultIdleGrace), "how long an idle sandbox keeps running before it is paused")
	prewarm := fs.String("prewarm", env("PREWARM", "nodejs:20:256:1,python:3.11:256:1"), "stem cells kept started, as kind:memoryMB:count,... (empty: only adaptive ones)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, flagHelp
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("gust %s: unexpected argument %q", role, fs.Arg(0))
	}
	if err := needShared(role, c); err != nil {
		return c, err
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		return c, fmt.Errorf("gust %s: --jetstream-replicas must be 1 to 5, not %d", role, c.Replicas)
	}
	switch c.Sandbox {
	case "auto", "linux", "process":
	default:
		return c, fmt.Errorf("gust %s: --sandbox must be auto, linux or process, not %q", role, c.Sandbox)
	}
	if c.Shells < 0 || c.Shells > 64 {
		return c, fmt.Errorf("gust %s: --sandbox-shells must be 0 to 64, not %d", role, c.Shells)
	}
	if c.IdleGrace <= 0 || c.IdleGrace > invoker.DefaultIdleTimeout {
		return c, fmt.Errorf("gust %s: --idle-grace must be positive and at most %v, not %v", role, invoker.DefaultIdleTimeout, c.IdleGrace)
	}
	var err error
	if c.Prewarm, err = parsePrewarm(*prewarm); err != nil {
		return c, fmt.Errorf("gust %s: --prewarm: %w", role, err)
	}
	if c.APIHost == "" {
		c.APIHost = "http://" + c.Listen
	}
	return c, nil
}

// needShared checks that a role running as its own process is given what
// it shares with the others: every role needs the deployment's Redis, and
// the gateway and the invoker a NATS URL (`gust controller` embeds the
// server when it has none). Without them each process would run on a
// private embedded store and NATS and never see the others' work.
func needShared(role string, c Config) error {
	switch role {
	case "gateway", "controller", "invoker":
	default:
		return nil
	}
	if c.NATSURL == "" && role != "controller" {
		return fmt.Errorf("gust %s: %w: the NATS server of the deployment, e.g. nats://HOST:4222 "+
			"where a `gust controller` without --nats embeds one (its --nats-listen); "+
			"`gust up` runs every role in one process without it", role, ErrNeedNATS)
	}
	if c.RedisURL == "" {
		return fmt.Errorf("gust %s: %w: the roles of a deployment share one Redis store "+
			"(redis://HOST:6379/0); `gust up` runs every role in one process on the embedded store", role, ErrNeedRedis)
	}
	return nil
}

// parsePrewarm reads "nodejs:20:256:1,python:3.11:256:1": a kind (which has
// a colon of its own), then memory in MB and a count.
func parsePrewarm(s string) ([]invoker.PrewarmConfig, error) {
	var out []invoker.PrewarmConfig
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		parts := strings.Split(item, ":")
		if len(parts) < 3 {
			return nil, fmt.Errorf("%q is not kind:memoryMB:count", item)
		}
		n := len(parts)
		mem, err1 := strconv.Atoi(parts[n-2])
		count, err2 := strconv.Atoi(parts[n-1])
		kind, err3 := whisk.CanonicalKind(strings.Join(parts[:n-2], ":"))
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("%q: %w", item, err)
		}
		out = append(out, invoker.PrewarmConfig{Kind: kind, MemoryMB: mem, Count: count})
	}
	return out, nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "invoker0"
	}
	return h
}
