package linux_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/sandbox/linux"
	"github.com/gust-faas/gust/sandbox/sandboxtest"
)

// waitShells waits until d has n shells ready.
func waitShells(t *testing.T, d *linux.Driver, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); linux.ReadyShells(d) != n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d shells ready after 20s, want %d", linux.ReadyShells(d), n)
		}
	}
}

// TestShells: a sandbox made from a shell has the spec's limits, kind and
// output, not the shell's; its ID is reserved as a link to the shell's
// directory, refused while it lives and released by Destroy; the pool is
// refilled.
func TestShells(t *testing.T) {
	d, run := newDriver(t, linux.Config{Shells: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitShells(t, d, 1)

	var out strings.Builder
	spec := sandbox.Spec{ID: "shelled", Kind: "python:3", MemoryMB: 512, Stdout: &out}
	sb, err := d.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Destroy(context.Background())
	dir, err := os.Readlink(filepath.Join(run, spec.ID))
	if err != nil || !strings.HasPrefix(dir, "shell-") {
		t.Fatalf("%s/%s: link to %q (%v), want a shell's directory", run, spec.ID, dir, err)
	}
	if sock := sb.(*linux.Sandbox).SocketPath(); !strings.HasPrefix(sock, filepath.Join(run, dir)+"/") {
		t.Errorf("socket %s is not in the shell's directory %s", sock, dir)
	}
	lim := linux.Limits(sb)
	mem := strconv.Itoa(512 << 20)
	want := map[string]string{"pids.max": "512"}
	if _, v1 := lim["memory.limit_in_bytes"]; v1 {
		want["memory.limit_in_bytes"], want["cpu.shares"] = mem, "2048"
		if _, ok := lim["memory.memsw.limit_in_bytes"]; ok {
			want["memory.memsw.limit_in_bytes"] = mem
		}
	} else {
		want["memory.max"], want["cpu.weight"] = mem, "200"
	}
	for f, v := range want {
		if lim[f] != v {
			t.Errorf("%s = %q, want %q (all: %v)", f, lim[f], v, lim)
		}
	}

	if err := sb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c := sandboxtest.Client(sb)
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://sandbox/env")
	if err != nil {
		t.Fatal(err)
	}
	var env sandboxtest.Env
	err = json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	if err != nil || env.Kind != spec.Kind {
		t.Errorf("the proxy's kind = %q (%v), want %q", env.Kind, err, spec.Kind)
	}
	resp, err = c.Post("http://sandbox/log", "text/plain", strings.NewReader("from the shell"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	waitShells(t, d, 1) // refilled
	if sb2, err := d.Create(ctx, sandbox.Spec{ID: spec.ID}); err == nil {
		sb2.Destroy(context.Background())
		t.Fatal("a second Create with a live sandbox's ID succeeded")
	}
	if n := linux.ReadyShells(d); n != 1 {
		t.Errorf("%d shells ready after a refused Create, want the 1 it took back", n)
	}
	if err := sb.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "from the shell") {
		t.Errorf("stdout = %q, want the line the proxy logged", out.String())
	}
	for _, p := range []string{filepath.Join(run, spec.ID), filepath.Join(run, dir)} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there after Destroy (%v)", p, err)
		}
	}
}

// TestShellDied: a shell whose init died is not handed out; Create builds
// the sandbox instead.
func TestShellDied(t *testing.T) {
	d, run := newDriver(t, linux.Config{Shells: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitShells(t, d, 1)
	linux.KillShells(ctx, d)
	sb, err := d.Create(ctx, sandbox.Spec{ID: "after-death", Kind: "python:3"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Destroy(context.Background())
	if fi, err := os.Lstat(filepath.Join(run, "after-death")); err != nil || !fi.IsDir() {
		t.Fatalf("the sandbox was not built for the spec: %v, %v", fi, err)
	}
	if err := sb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	resp, err := sandboxtest.Client(sb).Get("http://sandbox/env")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestNoShells: with Shells < 0 every sandbox is built for its spec.
func TestNoShells(t *testing.T) {
	d, run := newDriver(t, linux.Config{Shells: -1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := d.Create(ctx, sandbox.Spec{ID: "built", Kind: "python:3"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Destroy(context.Background())
	if fi, err := os.Lstat(filepath.Join(run, "built")); err != nil || !fi.IsDir() {
		t.Fatalf("%s/built: %v, %v; want a directory", run, fi, err)
	}
	if n := linux.ReadyShells(d); n != 0 {
		t.Errorf("%d shells ready, want none", n)
	}
}

// TestShellRefillAfterTake: a take leaves the refill for later while other
// shells are ready, so that the cold start that took one does not share
// the CPU with its replacement; taking the last one refills at once.
func TestShellRefillAfterTake(t *testing.T) {
	defer linux.SetShellRefillDelay(time.Hour)()
	d, _ := newDriver(t, linux.Config{Shells: 2})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitShells(t, d, 2)
	var taken []sandbox.Sandbox
	defer func() {
		for _, sb := range taken {
			sb.Destroy(context.Background())
		}
	}()
	take := func(id string) {
		t.Helper()
		sb, err := d.Create(ctx, sandbox.Spec{ID: id, Kind: "python:3"})
		if err != nil {
			t.Fatal(err)
		}
		taken = append(taken, sb)
	}
	take("first")
	if ready, building := linux.ReadyShells(d), linux.BuildingShells(d); ready != 1 || building != 0 {
		t.Fatalf("after taking one of two shells: %d ready, %d being built; want 1 and none until later", ready, building)
	}
	take("second")
	waitShells(t, d, 2)
}
