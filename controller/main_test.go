package controller

import (
	"os"
	"testing"

	"github.com/gust-faas/gust/internal/reexec"
)

// TestMain lets the test binary serve as the runtime proxy: the real
// invoker's process driver re-executes it (runtime_test.go).
func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}
