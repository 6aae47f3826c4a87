package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// Scenario names, in the order they run.
var allScenarios = []string{"warm", "throughput", "cold", "prewarm", "resume", "many", "burst", "mixed", "density"}

// defaultScenarios leaves out the long ones: mixed, resume (which waits
// for sandboxes to pause) and density (hundreds of sandboxes).
var defaultScenarios = []string{"warm", "throughput", "cold", "prewarm", "many", "burst"}

// Config is a parsed `gust bench` command line.
type Config struct {
	Scenarios     []string
	Duration      time.Duration // measured phase of each load scenario
	Warmup        time.Duration
	Clients       []int // client counts of the throughput scenario
	Actions       int   // distinct actions of the many scenario
	ManyClients   int
	ManyDuration  time.Duration // measured time of the many scenario
	BurstClients  int
	Cold          int           // new actions per kind in the cold scenario
	ColdGap       time.Duration // pause before each of them but the first
	ColdKinds     []string      // canonical kinds
	Kind          string        // canonical kind of the load scenarios' actions
	MixedDuration time.Duration
	MixedClients  int
	MemoryMB      int           // memory limit of the benchmark's actions
	Prewarm       int           // new actions per kind in the prewarm scenario
	PrewarmMB     int           // their memory limit: that of the host's stem cells
	Resume        int           // resumes measured in the resume scenario
	IdleGrace     time.Duration // the host's idle grace; > 0 is passed to a started gust up
	Density       int           // paused sandboxes of the density scenario
	DensityMB     int           // their memory limit

	APIHost  string // empty: start gust up
	Auth     string
	Insecure bool
	Gust     string   // gust binary to start
	Sandbox  string   // sandbox driver of the started gust up
	UpArgs   []string // more arguments for gust up
	UpMemory int      // invoker memory of the started gust up; 0 = enough for the plan

	Floor         bool
	FloorDuration time.Duration

	// Repeat runs the whole selection this many times, each against a
	// fresh gust up when the tool starts one, and sums the targets up.
	Repeat int

	JSON   string
	Plots  string
	Record string
	Quiet  bool
}

// listFlag is a repeatable or comma-separated string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// argsFlag collects one argument per use, commas included.
type argsFlag []string

func (a *argsFlag) String() string     { return strings.Join(*a, " ") }
func (a *argsFlag) Set(s string) error { *a = append(*a, s); return nil }

// errHelp means -h was asked for and usage printed.
var errHelp = errors.New("help requested")

// ParseConfig parses `gust bench` arguments. Usage and errors go to out.
func ParseConfig(args []string, out io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("gust bench", flag.ContinueOnError)
	fs.SetOutput(out)
	var scenarios, clients, coldKinds listFlag
	var upArgs argsFlag
	var kind string
	fs.Var(&scenarios, "scenario", "scenarios to run, comma-separated: "+strings.Join(allScenarios, ",")+", all, or none (the floor only) (default: all but mixed)")
	fs.DurationVar(&c.Duration, "duration", 5*time.Second, "measured time of each load scenario")
	fs.DurationVar(&c.Warmup, "warmup", time.Second, "load before each measurement, not recorded")
	fs.Var(&clients, "clients", "client counts of the throughput scenario (default 8,32)")
	fs.IntVar(&c.Actions, "actions", 100, "distinct actions of the many scenario")
	fs.IntVar(&c.ManyClients, "many-clients", 8, "clients of the many scenario")
	fs.DurationVar(&c.ManyDuration, "many-duration", 20*time.Second, "measured time of the many scenario, and again of its comparison with one action")
	fs.IntVar(&c.BurstClients, "burst-clients", 64, "clients starting at once in the burst scenario")
	fs.IntVar(&c.Cold, "cold", 10, "new actions per kind in the cold scenario")
	fs.DurationVar(&c.ColdGap, "cold-gap", 0, "pause between the cold scenario's cold starts (default none: one after another); e.g. 300ms for spaced-out cold starts, each on a host done with the one before")
	fs.Var(&coldKinds, "cold-kinds", "runtime kinds of the cold scenario (default nodejs,python)")
	fs.StringVar(&kind, "kind", "nodejs", "runtime kind of the actions of the load scenarios")
	fs.DurationVar(&c.MixedDuration, "mixed-duration", time.Minute, "measured time of the mixed scenario")
	fs.IntVar(&c.MixedClients, "mixed-clients", 16, "clients of the mixed scenario")
	fs.IntVar(&c.MemoryMB, "action-memory", whisk.MinMemory, "memory limit (MB) of the benchmark's actions")
	fs.IntVar(&c.Prewarm, "prewarm", 10, "new actions per kind in the prewarm scenario, each served by a stem cell")
	fs.IntVar(&c.PrewarmMB, "prewarm-memory", 256, "memory limit (MB) of the prewarm scenario's actions: that of the host's stem cells (gust up --prewarm)")
	fs.IntVar(&c.Resume, "resume", 10, "resumes of a paused sandbox measured in the resume scenario")
	fs.DurationVar(&c.IdleGrace, "idle-grace", 0, "idle time after which the host pauses a sandbox; passed to a started gust up as --idle-grace (default: gust up's, 2s)")
	fs.IntVar(&c.Density, "density", 500, "paused sandboxes (python actions) of the density scenario")
	fs.IntVar(&c.DensityMB, "density-memory", whisk.MinMemory, "memory limit (MB) of the density scenario's actions")
	fs.StringVar(&c.APIHost, "apihost", "", "benchmark this API host instead of starting gust up (http://host:port; no scheme means https, as in wsk)")
	fs.StringVar(&c.Auth, "auth", "", "uuid:key of the namespace to use (default: the guest key)")
	fs.BoolVar(&c.Insecure, "insecure", false, "do not verify the API host's TLS certificate")
	fs.StringVar(&c.Gust, "gust", "", "gust binary to start (default: this one)")
	fs.StringVar(&c.Sandbox, "sandbox", "auto", "sandbox driver of the started gust up: auto, linux or process")
	fs.Var(&upArgs, "up-arg", "extra argument for the started gust up (repeatable), e.g. --up-arg=--maxprocs=1")
	fs.IntVar(&c.UpMemory, "up-memory", 0, "invoker memory (MB) of the started gust up (default: enough for every scenario's sandboxes)")
	fs.BoolVar(&c.Floor, "floor", true, "measure the floor (raw HTTP, NATS, /run, runtime cold start)")
	fs.DurationVar(&c.FloorDuration, "floor-duration", time.Second, "measured time of each floor part")
	fs.IntVar(&c.Repeat, "repeat", 1, "run the selection this many times and show how often each target passed, with the median and range of its number; --json, --plots and --record take the last run, and the record notes the spread")
	fs.StringVar(&c.JSON, "json", "", "write the results as JSON to this file")
	fs.StringVar(&c.Plots, "plots", "", "write SVG plots into this directory")
	fs.StringVar(&c.Record, "record", "", "update this RESULTS.md with the results (e.g. bench/RESULTS.md)")
	fs.BoolVar(&c.Quiet, "quiet", false, "no progress display")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: gust bench [flags]\n\n"+
			"Benchmarks Gust through its HTTP API. Without --apihost it starts `gust up` as a child\n"+
			"process on free ports with a temporary data directory, and stops it at the end.\n\n"+
			"Scenarios: warm (1 client), throughput (--clients), cold (new actions per kind),\n"+
			"many (--actions distinct actions round-robin), burst (--burst-clients at once on a\n"+
			"cold action), mixed (long mixed load), prewarm (new actions served by stem cells),\n"+
			"resume (calls to a paused sandbox), density (--density paused python sandboxes:\n"+
			"memory per sandbox and warm latency next to them). mixed, resume and density are\n"+
			"not run by default.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, errHelp
		}
		return c, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	c.UpArgs = upArgs

	c.Scenarios = defaultScenarios
	if len(scenarios) > 0 {
		c.Scenarios = nil
		for _, s := range scenarios {
			if s == "all" {
				c.Scenarios = append(c.Scenarios, allScenarios...)
				continue
			}
			if s == "none" { // the floor only
				continue
			}
			if !slices.Contains(allScenarios, s) {
				return c, fmt.Errorf("%w: unknown scenario %q (want %s or all)", ErrUsage, s, strings.Join(allScenarios, ","))
			}
			c.Scenarios = append(c.Scenarios, s)
		}
		// Run in the canonical order, each once.
		c.Scenarios = slices.DeleteFunc(slices.Clone(allScenarios), func(s string) bool { return !slices.Contains(c.Scenarios, s) })
	}

	c.Clients = []int{8, 32}
	if len(clients) > 0 {
		c.Clients = nil
		for _, s := range clients {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return c, fmt.Errorf("%w: --clients: %q is not a positive number", ErrUsage, s)
			}
			if !slices.Contains(c.Clients, n) {
				c.Clients = append(c.Clients, n)
			}
		}
	}
	var err error
	if c.Kind, err = whisk.CanonicalKind(kind); err != nil {
		return c, fmt.Errorf("%w: --kind: %v", ErrUsage, err)
	}
	if len(coldKinds) == 0 {
		coldKinds = listFlag{"nodejs", "python"}
	}
	for _, k := range coldKinds {
		ck, err := whisk.CanonicalKind(k)
		if err != nil {
			return c, fmt.Errorf("%w: --cold-kinds: %v", ErrUsage, err)
		}
		if !slices.Contains(c.ColdKinds, ck) {
			c.ColdKinds = append(c.ColdKinds, ck)
		}
	}
	for _, k := range append([]string{c.Kind}, c.ColdKinds...) {
		if noopCode(k) == "" {
			return c, fmt.Errorf("%w: the benchmark has no no-op action for kind %s (use nodejs or python)", ErrUsage, k)
		}
	}
	positive := []struct {
		name string
		v    int
	}{{"actions", c.Actions}, {"many-clients", c.ManyClients}, {"burst-clients", c.BurstClients}, {"cold", c.Cold}, {"mixed-clients", c.MixedClients},
		{"prewarm", c.Prewarm}, {"resume", c.Resume}, {"density", c.Density}, {"repeat", c.Repeat}}
	for _, p := range positive {
		if p.v < 1 {
			return c, fmt.Errorf("%w: --%s must be at least 1", ErrUsage, p.name)
		}
	}
	if min(c.Duration, c.ManyDuration, c.MixedDuration, c.FloorDuration) < 100*time.Millisecond {
		return c, fmt.Errorf("%w: durations must be at least 100ms", ErrUsage)
	}
	if c.Warmup < 0 {
		return c, fmt.Errorf("%w: --warmup must not be negative", ErrUsage)
	}
	for _, m := range []struct {
		name string
		v    int
	}{{"action-memory", c.MemoryMB}, {"prewarm-memory", c.PrewarmMB}, {"density-memory", c.DensityMB}} {
		if m.v < whisk.MinMemory || m.v > whisk.MaxMemory {
			return c, fmt.Errorf("%w: --%s must be in [%d, %d]", ErrUsage, m.name, whisk.MinMemory, whisk.MaxMemory)
		}
	}
	if c.IdleGrace < 0 {
		return c, fmt.Errorf("%w: --idle-grace must not be negative", ErrUsage)
	}
	if c.ColdGap < 0 || c.ColdGap > time.Minute {
		return c, fmt.Errorf("%w: --cold-gap must be between 0 and 1m", ErrUsage)
	}
	switch c.Sandbox {
	case "auto", "linux", "process":
	default:
		return c, fmt.Errorf("%w: --sandbox must be auto, linux or process", ErrUsage)
	}
	if c.APIHost != "" && (c.Gust != "" || len(c.UpArgs) > 0 || c.UpMemory != 0) {
		return c, fmt.Errorf("%w: --gust, --up-arg and --up-memory start gust up; they do not go with --apihost", ErrUsage)
	}
	return c, nil
}

// upArgs are the extra arguments of a started gust up: --idle-grace when
// set, then the --up-arg ones (which win).
func (c *Config) upArgs() []string {
	var args []string
	if c.IdleGrace > 0 {
		args = append(args, "--idle-grace="+c.IdleGrace.String())
	}
	return append(args, c.UpArgs...)
}

// idleGrace is how long the host lets a sandbox idle before pausing it.
func (c *Config) idleGrace() time.Duration {
	if c.IdleGrace > 0 {
		return c.IdleGrace
	}
	return defaultIdleGrace
}

// has reports whether the scenario is selected.
func (c *Config) has(s string) bool { return slices.Contains(c.Scenarios, s) }

// upMemory is the invoker memory a started gust up gets: room for every
// sandbox the selected scenarios can keep warm at once, so the numbers
// measure the platform rather than evictions in a too small budget.
func (c *Config) upMemory() int {
	if c.UpMemory > 0 {
		return c.UpMemory
	}
	n := 16 // prewarmed sandboxes and slack
	if c.has("warm") || c.has("throughput") {
		n += slices.Max(c.Clients)
	}
	if c.has("cold") {
		n += c.Cold * len(c.ColdKinds)
	}
	if c.has("many") {
		n += c.Actions + c.ManyClients
	}
	if c.has("burst") {
		n += c.BurstClients
	}
	if c.has("mixed") {
		n += c.MixedClients + mixedActions*2
	}
	mb := n * c.MemoryMB
	if c.has("prewarm") {
		mb += c.Prewarm * len(c.ColdKinds) * c.PrewarmMB
	}
	if c.has("density") {
		mb += c.Density * c.DensityMB
	}
	return max(2048, mb)
}
