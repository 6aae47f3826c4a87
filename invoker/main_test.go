package invoker

import (
	"os"
	"testing"

	"github.com/gust-faas/gust/internal/reexec"
)

// TestMain lets the test binary serve as the runtime proxy: the process
// driver re-executes it at runtimes.ProxyEntry.
func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}
