package linux_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/sandbox/linux"
	"github.com/gust-faas/gust/sandbox/sandboxtest"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

// newDriver returns a driver for tests with its own run directory and
// cgroup parent, or skips when this host cannot run it.
func newDriver(t testing.TB, cfg linux.Config) (*linux.Driver, string) {
	t.Helper()
	if err := linux.Available(); err != nil {
		t.Skipf("linux sandboxes unavailable: %v", err)
	}
	dir := t.TempDir()
	cfg.RunDir = filepath.Join(dir, "run")
	if cfg.ProxyEntry == "" {
		cfg.ProxyEntry = sandboxtest.StandInEntry
	}
	cfg.CgroupParent = filepath.Join("gust-test", filepath.Base(dir))
	d, err := linux.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d, cfg.RunDir
}

func TestConformance(t *testing.T) {
	d, runDir := newDriver(t, linux.Config{})
	sandboxtest.Run(t, d, sandboxtest.Options{RunDir: runDir})
}
