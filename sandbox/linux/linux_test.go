package linux_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/sandbox"
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
	// t.TempDir's parent has a random suffix: unique among the test
	// binaries go test runs at once (each TempDir itself is 001, 002...).
	cfg.CgroupParent = filepath.Join("gust-test", filepath.Base(filepath.Dir(dir)))
	d, err := linux.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// Registered first, so it runs last: once every sandbox is destroyed
	// and Close removed the parent cgroups, which it does only when empty.
	t.Cleanup(func() {
		left, _ := filepath.Glob("/sys/fs/cgroup/*/" + cfg.CgroupParent)
		v2, _ := filepath.Glob("/sys/fs/cgroup/" + cfg.CgroupParent)
		if left = append(left, v2...); len(left) > 0 {
			t.Errorf("cgroups left after Destroy and Close: %v", left)
		}
	})
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d, cfg.RunDir
}

func TestConformance(t *testing.T) {
	d, runDir := newDriver(t, linux.Config{})
	sandboxtest.Run(t, d, sandboxtest.Options{RunDir: runDir})
}

func TestNewRejectsBadConfigs(t *testing.T) {
	if err := linux.Available(); err != nil {
		t.Skipf("linux sandboxes unavailable: %v", err)
	}
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  linux.Config
	}{
		{"no run dir", linux.Config{}},
		{"absolute cgroup parent", linux.Config{RunDir: dir, CgroupParent: "/gust"}},
		{"escaping cgroup parent", linux.Config{RunDir: dir, CgroupParent: "../gust"}},
		{"negative uid base", linux.Config{RunDir: dir, UIDBase: -5}},
		{"IPv6 network", linux.Config{RunDir: dir, NetworkCIDR: "fd00::/64"}},
		{"tiny network", linux.Config{RunDir: dir, NetworkCIDR: "10.0.0.0/30"}},
		{"bad DNS", linux.Config{RunDir: dir, DNS: []string{"dns.example"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := linux.New(tc.cfg)
			if err == nil {
				d.Close()
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, linux.ErrBadSpec) {
				t.Errorf("New: %v, want ErrBadSpec", err)
			}
		})
	}
}

func TestCreateRejectsBadSpecs(t *testing.T) {
	d, runDir := newDriver(t, linux.Config{})
	long := strings.Repeat("x", 107-len(runDir)-len("/sock/rt.sock"))
	tests := []struct {
		name string
		spec sandbox.Spec
	}{
		{"empty id", sandbox.Spec{}},
		{"dot dot", sandbox.Spec{ID: ".."}},
		{"slash", sandbox.Spec{ID: "a/b"}},
		{"too long id", sandbox.Spec{ID: strings.Repeat("x", 65)}},
		{"negative memory", sandbox.Spec{ID: "neg", MemoryMB: -1}},
		{"socket path too long", sandbox.Spec{ID: long}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb, err := d.Create(context.Background(), tc.spec)
			if err == nil {
				sb.Destroy(context.Background())
				t.Fatalf("Create(%q) succeeded", tc.spec.ID)
			}
			if !errors.Is(err, linux.ErrBadSpec) {
				t.Errorf("Create(%q): %v, want ErrBadSpec", tc.spec.ID, err)
			}
		})
	}
	sb, err := d.Create(context.Background(), sandbox.Spec{ID: "dup"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Destroy(context.Background())
	if sb2, err := d.Create(context.Background(), sandbox.Spec{ID: "dup"}); err == nil {
		sb2.Destroy(context.Background())
		t.Error("a second Create with a live sandbox's ID succeeded")
	}
	d.Close()
	if _, err := d.Create(context.Background(), sandbox.Spec{ID: "late"}); !errors.Is(err, linux.ErrClosed) {
		t.Errorf("Create after Close: %v, want ErrClosed", err)
	}
}
