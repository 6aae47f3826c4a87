package process_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gust-faas/gust/internal/reexec"
	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/sandbox/process"
	"github.com/gust-faas/gust/sandbox/sandboxtest"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	dir := t.TempDir()
	d := process.New(process.Config{RunDir: dir, ProxyEntry: sandboxtest.StandInEntry})
	sandboxtest.Run(t, d, sandboxtest.Options{RunDir: dir})
}

func TestCreateRejectsBadSpecs(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  process.Config
		id   string
	}{
		{"empty id", process.Config{RunDir: dir}, ""},
		{"dot dot", process.Config{RunDir: dir}, ".."},
		{"slash", process.Config{RunDir: dir}, "a/b"},
		{"space", process.Config{RunDir: dir}, "a b"},
		{"too long id", process.Config{RunDir: dir}, strings.Repeat("x", 65)},
		{"no run dir", process.Config{}, "ok"},
		{"socket path too long", process.Config{RunDir: filepath.Join(dir, strings.Repeat("d", 90))}, "abcdefghij"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb, err := process.New(tc.cfg).Create(context.Background(), sandbox.Spec{ID: tc.id})
			if err == nil {
				sb.Destroy(context.Background())
				t.Fatalf("Create(%q) succeeded, want ErrBadSpec", tc.id)
			}
			if !errors.Is(err, process.ErrBadSpec) {
				t.Errorf("Create(%q): %v, want ErrBadSpec", tc.id, err)
			}
		})
	}
}

func TestCreateRejectsDuplicateID(t *testing.T) {
	d := process.New(process.Config{RunDir: t.TempDir()})
	ctx := context.Background()
	sb, err := d.Create(ctx, sandbox.Spec{ID: "dup"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Destroy(ctx)
	if sb2, err := d.Create(ctx, sandbox.Spec{ID: "dup"}); err == nil {
		sb2.Destroy(ctx)
		t.Fatal("a second Create with the same ID succeeded")
	}
}

func TestStartFailsWhenTheRuntimeExits(t *testing.T) {
	d := process.New(process.Config{
		RunDir:  t.TempDir(),
		Command: func(sandbox.Spec) *exec.Cmd { return exec.Command("/bin/sh", "-c", "exit 7") },
	})
	ctx := context.Background()
	sb, err := d.Create(ctx, sandbox.Spec{ID: "exits"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Destroy(ctx)
	err = sb.Start(ctx)
	if !errors.Is(err, sandbox.ErrStartFailed) {
		t.Fatalf("Start: %v, want ErrStartFailed", err)
	}
	if !strings.Contains(err.Error(), "status 7") {
		t.Errorf("Start error %q does not give the exit status", err)
	}
	<-sb.Done()
}

func TestStartFailsForAMissingBinary(t *testing.T) {
	d := process.New(process.Config{
		RunDir:  t.TempDir(),
		Command: func(sandbox.Spec) *exec.Cmd { return exec.Command("/nonexistent/runtime") },
	})
	ctx := context.Background()
	sb, err := d.Create(ctx, sandbox.Spec{ID: "missing"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Start(ctx); !errors.Is(err, sandbox.ErrStartFailed) {
		t.Fatalf("Start: %v, want ErrStartFailed", err)
	}
	if err := sb.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
}
