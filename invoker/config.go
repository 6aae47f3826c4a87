package invoker

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// Defaults of Config's zero fields.
const (
	DefaultID            = "invoker0"
	DefaultMemoryMB      = 2048
	DefaultIdleGrace     = 2 * time.Second
	DefaultIdleTimeout   = 10 * time.Minute
	DefaultPrewarmWindow = time.Minute
	DefaultQueueTimeout  = 30 * time.Second
	DefaultDrainTimeout  = 20 * time.Second
	DefaultLogWait       = 50 * time.Millisecond
	DefaultMaxLogLine    = 16 << 10
	DefaultCodeCacheMB   = 64
	DefaultAckWait       = 30 * time.Second
	DefaultCompileTime   = 2 * time.Minute
	// DefaultAdaptiveMax caps the stem cells kept for a (kind, memory) that
	// Config.Prewarm does not list but that saw cold starts.
	DefaultAdaptiveMax = 2
)

// Config of one invoker. Zero fields take the defaults above.
type Config struct {
	// ID names the invoker: its invoke subject, its heartbeats, its
	// sandboxes. It must not contain spaces or the NATS wildcards * and >.
	ID string
	// Prefix starts every NATS subject (bus.DefaultPrefix).
	Prefix string
	// APIHost is given to actions as __OW_API_HOST.
	APIHost string
	// MemoryMB is the user-memory budget: the sum of the memory limits of
	// all sandboxes, busy, idle, paused or prewarmed, stays below it.
	MemoryMB int
	// IdleGrace is how long a sandbox stays running after its last
	// activation before it is paused (when the driver can pause). Short,
	// so that code left running after an activation returns stops soon;
	// a resume costs about a millisecond.
	IdleGrace time.Duration
	// IdleTimeout is how long an idle (running or paused) sandbox is kept
	// before it is destroyed: scale to zero.
	IdleTimeout time.Duration
	// Prewarm lists the stem cells to keep started, per kind and memory.
	// Counts adapt to the cold starts seen; kinds not listed get adaptive
	// stem cells (0 to DefaultAdaptiveMax) once they see cold starts.
	Prewarm []PrewarmConfig
	// PrewarmWindow is the period over which cold starts and stem cell use
	// are counted to adapt the prewarm counts.
	PrewarmWindow time.Duration
	// QueueTimeout bounds the wait for memory of an activation that finds
	// the budget full; then it fails with ErrNoCapacity (blocking) or goes
	// back to JetStream (asynchronous).
	QueueTimeout time.Duration
	// DrainTimeout bounds the wait for in-flight activations when Run's
	// context ends; the rest are aborted (asynchronous ones redelivered).
	DrainTimeout time.Duration
	// LogWait is how long, after the result arrives, the invoker waits for
	// the log sentinels (extended while output keeps flowing, at most 20x).
	// A missing sentinel (a runtime that does not print it, a crash) costs
	// this much latency once.
	LogWait time.Duration
	// MaxLogLine splits longer log lines.
	MaxLogLine int
	// CodeCacheMB bounds the in-memory cache of action code by digest.
	CodeCacheMB int
	// MaxAsync bounds the asynchronous activations taken from JetStream at
	// once (default MemoryMB / whisk.MinMemory).
	MaxAsync int
	// AckWait is the consumer's ack wait when the invoker creates the
	// durable consumer; running activations renew it with InProgress.
	AckWait time.Duration
	// CompileTimeout bounds compiling a kind go action (not part of the
	// action's time limit; counted in initTime).
	CompileTimeout time.Duration
}

// PrewarmConfig sets the stem cells of one (kind, memory): Count are
// started at first; the count then moves between Min and Max, growing by
// one per window with cold starts and shrinking by one per window in which
// no stem cell was used.
type PrewarmConfig struct {
	Kind     string
	MemoryMB int
	Count    int
	Min, Max int
}

// Store is what the invoker needs of the store: activation records and code.
type Store interface {
	store.Activations
	store.Codes
}

// Deps are the invoker's collaborators; the caller owns and closes them.
type Deps struct {
	NATS   *nats.Conn
	Store  Store
	Driver sandbox.Driver
	Logger *slog.Logger
	// GoCache is the directory for compiled kind go actions.
	GoCache string
}

// withDefaults validates c and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	if c.ID == "" {
		c.ID = DefaultID
	}
	if strings.ContainsAny(c.ID, " \t\r\n*>") || strings.HasPrefix(c.ID, ".") || strings.HasSuffix(c.ID, ".") || strings.Contains(c.ID, "..") {
		return c, fmt.Errorf("%w: invoker id %q is not a valid NATS subject token", ErrConfig, c.ID)
	}
	if c.Prefix == "" {
		c.Prefix = bus.DefaultPrefix
	}
	pos := func(name string, v *int, def int) error {
		switch {
		case *v < 0:
			return fmt.Errorf("%w: %s %d is negative", ErrConfig, name, *v)
		case *v == 0:
			*v = def
		}
		return nil
	}
	dur := func(name string, v *time.Duration, def time.Duration) error {
		switch {
		case *v < 0:
			return fmt.Errorf("%w: %s %v is negative", ErrConfig, name, *v)
		case *v == 0:
			*v = def
		}
		return nil
	}
	for _, err := range []error{
		pos("MemoryMB", &c.MemoryMB, DefaultMemoryMB),
		pos("MaxLogLine", &c.MaxLogLine, DefaultMaxLogLine),
		pos("CodeCacheMB", &c.CodeCacheMB, DefaultCodeCacheMB),
		dur("IdleGrace", &c.IdleGrace, DefaultIdleGrace),
		dur("IdleTimeout", &c.IdleTimeout, DefaultIdleTimeout),
		dur("PrewarmWindow", &c.PrewarmWindow, DefaultPrewarmWindow),
		dur("QueueTimeout", &c.QueueTimeout, DefaultQueueTimeout),
		dur("DrainTimeout", &c.DrainTimeout, DefaultDrainTimeout),
		dur("LogWait", &c.LogWait, DefaultLogWait),
		dur("AckWait", &c.AckWait, DefaultAckWait),
		dur("CompileTimeout", &c.CompileTimeout, DefaultCompileTime),
	} {
		if err != nil {
			return c, err
		}
	}
	if err := pos("MaxAsync", &c.MaxAsync, max(1, c.MemoryMB/whisk.MinMemory)); err != nil {
		return c, err
	}
	if c.MemoryMB < whisk.MinMemory {
		return c, fmt.Errorf("%w: MemoryMB %d is below the smallest action (%d MB)", ErrConfig, c.MemoryMB, whisk.MinMemory)
	}
	if c.IdleTimeout < c.IdleGrace {
		return c, fmt.Errorf("%w: IdleTimeout %v is shorter than IdleGrace %v", ErrConfig, c.IdleTimeout, c.IdleGrace)
	}
	c.Prewarm = append([]PrewarmConfig(nil), c.Prewarm...)
	seen := map[prewarmKey]bool{}
	total := 0
	for i, p := range c.Prewarm {
		kind, err := whisk.CanonicalKind(p.Kind)
		if err != nil || kind == whisk.KindSequence {
			return c, fmt.Errorf("%w: Prewarm[%d]: kind %q cannot be prewarmed", ErrConfig, i, p.Kind)
		}
		p.Kind = kind
		if p.MemoryMB == 0 {
			p.MemoryMB = whisk.DefaultMemory
		}
		if p.MemoryMB < whisk.MinMemory || p.MemoryMB > whisk.MaxMemory {
			return c, fmt.Errorf("%w: Prewarm[%d]: memory %d MB outside [%d, %d]", ErrConfig, i, p.MemoryMB, whisk.MinMemory, whisk.MaxMemory)
		}
		if p.Max == 0 {
			p.Max = max(p.Count, 1)
		}
		if p.Count < 0 || p.Min < 0 || p.Min > p.Count || p.Count > p.Max {
			return c, fmt.Errorf("%w: Prewarm[%d]: want 0 <= Min (%d) <= Count (%d) <= Max (%d)", ErrConfig, i, p.Min, p.Count, p.Max)
		}
		k := prewarmKey{kind: p.Kind, mem: p.MemoryMB}
		if seen[k] {
			return c, fmt.Errorf("%w: Prewarm[%d]: %s %d MB listed twice", ErrConfig, i, p.Kind, p.MemoryMB)
		}
		seen[k] = true
		total += p.Count * p.MemoryMB
		c.Prewarm[i] = p
	}
	if total > c.MemoryMB {
		return c, fmt.Errorf("%w: prewarm stem cells need %d MB, more than MemoryMB %d", ErrConfig, total, c.MemoryMB)
	}
	return c, nil
}

func (d Deps) validate() error {
	switch {
	case d.NATS == nil:
		return fmt.Errorf("%w: Deps.NATS is nil", ErrConfig)
	case d.Store == nil:
		return fmt.Errorf("%w: Deps.Store is nil", ErrConfig)
	case d.Driver == nil:
		return fmt.Errorf("%w: Deps.Driver is nil", ErrConfig)
	}
	return nil
}
