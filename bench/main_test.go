package bench

import (
	"os"
	"testing"

	"github.com/gust-faas/gust/internal/reexec"
)

// TestMain lets the runtime proxy the floor starts re-execute this test
// binary, and removes the gust binary the end-to-end tests built.
func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}
