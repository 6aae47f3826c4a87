package bench

import (
	"os"
	"testing"

	"github.com/gust-faas/gust/internal/reexec"
)

// TestMain lets the runtime proxy the floor starts re-execute this test
// binary.
func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}
