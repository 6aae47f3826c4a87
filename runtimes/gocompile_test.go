package runtimes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gust-faas/gust/whisk"
)

func TestCompileGoCache(t *testing.T) {
	cache := goCache(t)
	// A nonce makes the first compile a miss on every run.
	src := fmt.Sprintf("// nonce %d\npackage main\nfunc Main(a map[string]any) map[string]any { return a }\n", time.Now().UnixNano())
	ctx := ctxT(t, 5*time.Minute)
	start := time.Now()
	bin1, err := CompileGo(ctx, cache, []byte(src), "")
	if err != nil {
		t.Fatal(err)
	}
	miss := time.Since(start)
	builds := goBuilds.Load()
	start = time.Now()
	bin2, err := CompileGo(ctx, cache, []byte(src), "")
	if err != nil {
		t.Fatal(err)
	}
	hit := time.Since(start)
	if bin1 != bin2 || goBuilds.Load() != builds {
		t.Errorf("second compile: %s (builds %d -> %d), want the cached %s", bin2, builds, goBuilds.Load(), bin1)
	}
	t.Logf("compile miss %v, hit %v", miss, hit)

	// Another main is another executable.
	bin3, err := CompileGo(ctx, cache, []byte(src+"func Other(a map[string]any) map[string]any { return a }\n"), "other")
	if err != nil || bin3 == bin1 {
		t.Errorf("compile with main other = %s, %v; want a new executable", bin3, err)
	}

	// Concurrent callers for new code share one build.
	src2 := []byte(strings.Replace(src, "nonce", "nonce2", 1))
	builds = goBuilds.Load()
	var wg sync.WaitGroup
	paths := make([]string, 4)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := CompileGo(ctx, cache, src2, "main")
			if err != nil {
				t.Error(err)
			}
			paths[i] = p
		}()
	}
	wg.Wait()
	if n := goBuilds.Load() - builds; n != 1 {
		t.Errorf("4 concurrent compiles ran %d builds, want 1", n)
	}
	for _, p := range paths[1:] {
		if p != paths[0] {
			t.Errorf("paths differ: %v", paths)
		}
	}
}

func TestCompileGoErrors(t *testing.T) {
	cache := goCache(t)
	tests := []struct {
		name, src, main, want string
	}{
		{"syntax", "package main\n\nfunc Main(a map[string]any) map[string]any {\n\treturn a +\n}\n", "", "main.go:5:1"},
		{"type error", "package main\n\nfunc Main(a map[string]any) map[string]any {\n\treturn 42\n}\n", "", "main.go:4:9"},
		{"no Main", "package main\n\nfunc Other(a map[string]any) map[string]any { return a }\n", "", "does not define function Main"},
		{"no Hello", "package main\n\nfunc Main(a map[string]any) map[string]any { return a }\n", "hello", "does not define function Hello"},
		{"network import", "package main\n\nimport \"example.com/x\"\n\nfunc Main(a map[string]any) map[string]any { x.Y(); return a }\n", "", "example.com/x"},
		{"bad main", "package main\n", "1x", "not a Go function name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CompileGo(ctxT(t, 5*time.Minute), cache, []byte(tt.src), tt.main)
			if !errors.Is(err, ErrCompile) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CompileGo error = %v, want ErrCompile with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), cache) {
				t.Errorf("the message leaks the build directory: %v", err)
			}
		})
	}
}

func TestCompileGoCancel(t *testing.T) {
	cache := goCache(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := fmt.Sprintf("// %d\npackage main\nfunc Main(a map[string]any) map[string]any { return a }\n", time.Now().UnixNano())
	if _, err := CompileGo(ctx, cache, []byte(src), ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("CompileGo with a cancelled context = %v", err)
	}
}

// TestGoZipAndSignature covers a zip of sources in a non-main package, the
// (map, error) signature, a prebuilt exec and a main of the wrong type.
func TestGoZipAndSignature(t *testing.T) {
	cache := goCache(t)
	ctx := ctxT(t, 5*time.Minute)
	srcZip := makeZip(t, map[string]string{
		"hello.go": "// Package hello greets.\npackage hello\n\nimport \"errors\"\n\nfunc Main(a map[string]any) (map[string]any, error) {\n\tif a[\"fail\"] != nil {\n\t\treturn nil, errors.New(\"asked to fail\")\n\t}\n\treturn map[string]any{\"greeting\": greet(a[\"name\"].(string))}, nil\n}\n",
		"greet.go": "package hello\n\nfunc greet(n string) string { return \"Hello, \" + n }\n",
	})
	bin, err := CompileGo(ctx, cache, srcZip, "")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	// The executable works from a zip holding it as exec, as OpenWhisk's
	// prebuilt Go actions are shipped, and CompileGo passes such a zip through.
	prebuilt := makeZip(t, map[string]string{"exec*": string(exe)})
	if bin2, err := CompileGo(ctx, cache, prebuilt, ""); err != nil {
		t.Fatal(err)
	} else if b, _ := os.ReadFile(bin2); string(b) != string(exe) {
		t.Error("CompileGo changed a prebuilt exec")
	}
	for _, code := range []string{b64(exe), b64(prebuilt)} {
		p := startProxy(t, whisk.KindGo)
		if err := p.client.Init(ctx, &InitRequest{Value: InitValue{Code: code, Binary: true}}); err != nil {
			t.Fatal(err)
		}
		res, err := p.client.Run(ctx, runReq(`{"name":"Ada"}`))
		if err != nil || !res.Success() {
			t.Fatalf("run = %+v, %v", res, err)
		}
		jsonEqual(t, res.Body, `{"greeting":"Hello, Ada"}`)
		res, err = p.client.Run(ctx, runReq(`{"name":"Ada","fail":true}`))
		if err != nil || !res.ApplicationError() {
			t.Fatalf("run = %+v, %v", res, err)
		}
		jsonEqual(t, res.Body, `{"error":"asked to fail"}`)
	}

	// Main with another signature compiles, and fails at /init.
	bad := compileGo(t, []byte("package main\nfunc Main(s string) string { return s }\n"), "")
	p := startProxy(t, whisk.KindGo)
	err = p.client.Init(ctx, &InitRequest{Value: InitValue{Code: bad, Binary: true}})
	if !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), "has type func(string) string") {
		t.Fatalf("init error = %v, want the signature explained", err)
	}
	// Go source sent to the proxy is refused with a pointer to CompileGo.
	p = startProxy(t, whisk.KindGo)
	err = p.client.Init(ctx, &InitRequest{Value: InitValue{Code: "package main"}})
	if !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), "CompileGo") {
		t.Fatalf("init with source = %v", err)
	}
}

func TestSetPackageMain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"package hello\n", "package main\n"},
		{"package main\n", "package main\n"},
		{"// Copyright\n/* block\n package x */\npackage  foo_bar // c\n", "// Copyright\n/* block\n package x */\npackage  main // c\n"},
		{"\xef\xbb\xbfpackage p1\n", "\xef\xbb\xbfpackage main\n"},
		{"func x() {}\n", "func x() {}\n"},
		{"packagefoo\n", "packagefoo\n"},
		{"// only a comment", "// only a comment"},
	}
	for _, tt := range tests {
		if got := string(setPackageMain([]byte(tt.in))); got != tt.want {
			t.Errorf("setPackageMain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGoMainName(t *testing.T) {
	tests := []struct{ in, want string }{{"", "Main"}, {"main", "Main"}, {"hello", "Hello"}, {"Hello", "Hello"}, {"do_it", "Do_it"}}
	for _, tt := range tests {
		if got, err := goMainName(tt.in); err != nil || got != tt.want {
			t.Errorf("goMainName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"1x", "a-b", "a.b", "ünï"} {
		if _, err := goMainName(bad); !errors.Is(err, ErrCompile) {
			t.Errorf("goMainName(%q) = %v, want ErrCompile", bad, err)
		}
	}
}
