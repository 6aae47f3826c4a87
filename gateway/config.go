package gateway

import (
	"fmt"
	"time"
)

// Defaults of Config's zero fields.
const (
	DefaultListen                = "127.0.0.1:3233"
	DefaultInvocationsPerMinute  = 6_000_000
	DefaultConcurrentInvocations = 1_000
	DefaultFiresPerMinute        = 600_000
	DefaultAuthCacheTTL          = 5 * time.Second
	DefaultActionCacheTTL        = 2 * time.Second
	DefaultMaxBlockingWait       = 60 * time.Second
	DefaultShutdownTimeout       = 10 * time.Second
)

// Config is the gateway's configuration. Zero fields take the defaults above.
type Config struct {
	// Listen is the API's HOST:PORT.
	Listen string
	// InvocationsPerMinute, ConcurrentInvocations and FiresPerMinute are a
	// namespace's throttles unless its store.Identity overrides them. The
	// defaults are far above OpenWhisk's (60/min, 30) so that benchmarks
	// measure the platform, not the throttle: 6M/min is 100k/s, several
	// times what one machine can serve.
	InvocationsPerMinute  int
	ConcurrentInvocations int
	FiresPerMinute        int
	// AuthCacheTTL is how long a successful authentication is remembered;
	// ActionCacheTTL how long an action read from the store is reused
	// (see the package comment for the invalidation rules).
	AuthCacheTTL   time.Duration
	ActionCacheTTL time.Duration
	// MaxBlockingWait is both the default and the largest wait of a blocking
	// invocation (OpenWhisk: 60 s); the timeout query parameter may lower it.
	MaxBlockingWait time.Duration
	// ShutdownTimeout bounds how long Run waits for in-flight requests once
	// its context ends.
	ShutdownTimeout time.Duration
	// Build names this build in GET /api/v1 ("build" and "buildno", which
	// `wsk property get` shows); default "dev".
	Build string
}

// withDefaults fills zero fields and rejects negative ones.
func (c Config) withDefaults() (Config, error) {
	ints := []struct {
		name string
		v    *int
		def  int
	}{
		{"InvocationsPerMinute", &c.InvocationsPerMinute, DefaultInvocationsPerMinute},
		{"ConcurrentInvocations", &c.ConcurrentInvocations, DefaultConcurrentInvocations},
		{"FiresPerMinute", &c.FiresPerMinute, DefaultFiresPerMinute},
	}
	for _, f := range ints {
		if *f.v < 0 {
			return c, fmt.Errorf("gateway: %s must not be negative, got %d", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	durs := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"AuthCacheTTL", &c.AuthCacheTTL, DefaultAuthCacheTTL},
		{"ActionCacheTTL", &c.ActionCacheTTL, DefaultActionCacheTTL},
		{"MaxBlockingWait", &c.MaxBlockingWait, DefaultMaxBlockingWait},
		{"ShutdownTimeout", &c.ShutdownTimeout, DefaultShutdownTimeout},
	}
	for _, f := range durs {
		if *f.v < 0 {
			return c, fmt.Errorf("gateway: %s must not be negative, got %v", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if c.MaxBlockingWait < time.Millisecond {
		return c, fmt.Errorf("gateway: MaxBlockingWait must be at least 1ms, got %v", c.MaxBlockingWait)
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Build == "" {
		c.Build = "dev"
	}
	return c, nil
}
