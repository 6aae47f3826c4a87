package roles

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/sandbox/linux"
	"github.com/gust-faas/gust/sandbox/process"
)

// sandboxDriver picks the driver: linux where this host supports it (root,
// user namespaces, cgroups), else process with a warning; --sandbox forces.
func sandboxDriver(cfg Config, log *slog.Logger) (sandbox.Driver, error) {
	runDir := filepath.Join(cfg.DataDir, "sandboxes")
	useLinux := cfg.Sandbox == "linux"
	if cfg.Sandbox == "auto" {
		if err := linux.Available(); err != nil {
			log.Warn("running actions WITHOUT isolation (process sandboxes): use only for development", "reason", err)
		} else {
			useLinux = true
		}
	}
	if useLinux {
		if err := linux.Available(); err != nil {
			return nil, fmt.Errorf("--sandbox linux: %w", err)
		}
		shells := cfg.Shells
		if shells == 0 {
			shells = -1 // linux.Config: none
		}
		return linux.New(linux.Config{RunDir: runDir, Shells: shells, Logger: log})
	}
	return process.New(process.Config{RunDir: runDir, Logger: log}), nil
}

// closeDriver releases what a driver holds for all its sandboxes (the linux
// driver's parent cgroups, its nftables table) once they are destroyed.
func closeDriver(drv sandbox.Driver, log *slog.Logger) {
	if c, ok := drv.(interface{ Close() error }); ok {
		if err := c.Close(); err != nil {
			log.Warn("closing the sandbox driver", "err", err)
		}
	}
}
