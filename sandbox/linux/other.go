//go:build !linux

package linux

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/gust-faas/gust/sandbox"
)

// Config configures a Driver (see the Linux build for the fields' meaning).
type Config struct {
	RunDir       string
	ProxyEntry   string
	SandboxBin   string
	Env          []string
	CgroupParent string
	UIDBase      int
	TmpMB        int
	PidsMax      int
	NetworkCIDR  string
	DNS          []string
	Logger       *slog.Logger
}

// Driver is not available on this operating system.
type Driver struct{}

// Available reports that linux sandboxes need Linux.
func Available() error {
	return fmt.Errorf("%w: it needs Linux, not %s", ErrUnavailable, runtime.GOOS)
}

// New fails: see Available.
func New(Config) (*Driver, error) { return nil, Available() }

// Name implements sandbox.Driver.
func (*Driver) Name() string { return "linux" }

// Create fails: see Available.
func (*Driver) Create(context.Context, sandbox.Spec) (sandbox.Sandbox, error) {
	return nil, Available()
}

// Close does nothing.
func (*Driver) Close() error { return nil }
