package whisk

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits are an action's resource limits, in OpenWhisk's units.
type Limits struct {
	Timeout     int `json:"timeout"`     // milliseconds
	Memory      int `json:"memory"`      // megabytes
	Logs        int `json:"logs"`        // megabytes
	Concurrency int `json:"concurrency"` // activations at once in one sandbox
}

// Limit ranges, OpenWhisk's defaults except where Gust is more generous.
const (
	MinTimeout, MaxTimeout, DefaultTimeout             = 100, 300_000, 60_000
	MinMemory, MaxMemory, DefaultMemory                = 128, 2048, 256
	MinLogs, MaxLogs, DefaultLogs                      = 0, 10, 10
	MinConcurrency, MaxConcurrency, DefaultConcurrency = 1, 500, 1

	MaxPayload  = 1 << 20  // bytes of arguments or result
	MaxCodeSize = 48 << 20 // bytes of action code
)

// DefaultLimits are the limits of an action created without any.
func DefaultLimits() Limits {
	return Limits{Timeout: DefaultTimeout, Memory: DefaultMemory, Logs: DefaultLogs, Concurrency: DefaultConcurrency}
}

// Validate checks each limit against its range.
func (l Limits) Validate() error {
	check := func(name string, v, lo, hi int, unit string) error {
		if v < lo || v > hi {
			return fmt.Errorf("%w: %s %d%s exceeds allowed range [%d%s, %d%s]", ErrBadLimits, name, v, unit, lo, unit, hi, unit)
		}
		return nil
	}
	if err := check("timeout", l.Timeout, MinTimeout, MaxTimeout, " ms"); err != nil {
		return err
	}
	if err := check("memory", l.Memory, MinMemory, MaxMemory, " MB"); err != nil {
		return err
	}
	if err := check("logs", l.Logs, MinLogs, MaxLogs, " MB"); err != nil {
		return err
	}
	return check("concurrency", l.Concurrency, MinConcurrency, MaxConcurrency, "")
}

// Exec is what an action runs. Code is the source text, or base64 when Binary
// (a zip or an executable). Digest names the code blob in the store: stored
// actions carry the digest and no code; the API fills Code back in.
type Exec struct {
	Kind       string   `json:"kind"`
	Code       string   `json:"code,omitempty"`
	Main       string   `json:"main,omitempty"`
	Binary     bool     `json:"binary"`
	Image      string   `json:"image,omitempty"`
	Components []string `json:"components,omitempty"`
	Digest     string   `json:"digest,omitempty"`
}

// AnnNetwork, a Gust action annotation, opts the action in to outbound
// network access (`-a network true`). Without it the action's sandbox has
// no network at all; OpenWhisk's actions always have one.
const AnnNetwork = "network"

// Action is a stored action. Namespace holds the package too when the action
// lives in one ("guest/pkg"), as OpenWhisk returns it.
type Action struct {
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	Publish     bool      `json:"publish"`
	Exec        Exec      `json:"exec"`
	Parameters  KeyValues `json:"parameters"`
	Limits      Limits    `json:"limits"`
	Annotations KeyValues `json:"annotations"`
	Updated     int64     `json:"updated"`
	// Rev changes on every write; with the FQN it keys warm sandboxes.
	Rev string `json:"rev,omitempty"`
}

// FQN returns the action's fully qualified name.
func (a *Action) FQN() FQN {
	ns, pkg, _ := strings.Cut(a.Namespace, "/")
	return FQN{Namespace: ns, Package: pkg, Name: a.Name}
}

// NextVersion bumps the patch number of a semantic version: 0.0.1 -> 0.0.2.
func NextVersion(v string) string {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return "0.0.1"
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil {
		return "0.0.1"
	}
	return parts[0] + "." + parts[1] + "." + strconv.Itoa(n+1)
}
