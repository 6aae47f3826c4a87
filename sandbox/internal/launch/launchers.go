package launch

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/gust-faas/gust/runtimes"
)

// Launchers prepares the runtime launchers in runDir/launchers, once per
// driver (runtimes.PrepareLaunchers), and returns that directory's absolute
// path, or "" with a warning when they cannot be prepared: each sandbox's
// proxy then writes and compiles its own.
func Launchers(runDir string, log *slog.Logger) string {
	dir, err := filepath.Abs(filepath.Join(runDir, "launchers"))
	if err == nil {
		err = runtimes.PrepareLaunchers(context.Background(), dir)
	}
	if err != nil {
		log.Warn("runtime launchers not prepared: each sandbox writes and compiles its own", "err", err)
		return ""
	}
	return dir
}
