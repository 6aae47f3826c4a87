package runtimes

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
)

//go:embed launchers/gowrapper.go.tmpl
var goWrapper string

// goWrapperFile is the generated file's name in the action's package.
const goWrapperFile = "zz_gust_main.go"

// CompileGo builds a Go action into an executable that speaks the actionloop
// protocol, for the proxy's go:1.26 kind, and returns its path in cacheDir.
//
// code is one Go source file of any package name, or a zip: either holding a
// prebuilt executable "exec" at its root, or the sources of one package at
// its root (with or without go.mod; dependencies must be vendored, nothing is
// downloaded). The action's function is main with its first letter upper
// cased ("" and "main" mean Main; "hello" means Hello), of type
// func(map[string]any) map[string]any or func(map[string]any)
// (map[string]any, error).
//
// The host's go toolchain builds it with CGO_ENABLED=0, no network, GOCACHE
// in cacheDir/gocache. Results are cached as cacheDir/bin/<sha256 of the
// code, main, the Go version and the wrapper>, so the same code compiles
// once; concurrent calls for the same code in one process wait for a single
// build. A compile error returns ErrCompile with the compiler's output.
func CompileGo(ctx context.Context, cacheDir string, code []byte, main string) (string, error) {
	fn, err := goMainName(main)
	if err != nil {
		return "", err
	}
	if cacheDir == "" {
		return "", errors.New("CompileGo: no cache directory")
	}
	goBin, err := findGo()
	if err != nil {
		return "", err
	}
	ver, err := goVersion(ctx, goBin)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(goWrapper), []byte(ver), []byte(fn), code} {
		fmt.Fprintf(h, "%d:", len(part))
		h.Write(part)
	}
	bin := filepath.Join(cacheDir, "bin", hex.EncodeToString(h.Sum(nil)))
	for {
		if exists(bin) {
			return bin, nil
		}
		builds.Lock()
		b, running := builds.m[bin]
		if !running {
			b = &build{done: make(chan struct{})}
			builds.m[bin] = b
			builds.Unlock()
			b.err = buildGo(ctx, goBin, ver, cacheDir, bin, code, fn)
			builds.Lock()
			delete(builds.m, bin)
			builds.Unlock()
			close(b.done)
			if b.err != nil {
				return "", b.err
			}
			return bin, nil
		}
		builds.Unlock()
		select {
		case <-b.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if b.err == nil {
			return bin, nil
		}
		// The build was abandoned by its caller's context, not ours: retry.
		if (errors.Is(b.err, context.Canceled) || errors.Is(b.err, context.DeadlineExceeded)) && ctx.Err() == nil {
			continue
		}
		return "", b.err
	}
}

// goBuilds counts the go build runs of this process (the cache's misses).
var goBuilds atomic.Int64

// builds holds the builds in flight, by output path.
var builds = struct {
	sync.Mutex
	m map[string]*build
}{m: map[string]*build{}}

type build struct {
	done chan struct{}
	err  error // set before done closes
}

var (
	goIdent   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	goRelease = regexp.MustCompile(`^go(\d+)\.(\d+)`)
)

// goMainName is the Go function name for an action's main.
func goMainName(main string) (string, error) {
	if main == "" {
		main = "main"
	}
	if !goIdent.MatchString(main) {
		return "", fmt.Errorf("%w: %q is not a Go function name", ErrCompile, main)
	}
	return strings.ToUpper(main[:1]) + main[1:], nil
}

func findGo() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/local/go/bin/go", "/usr/lib/go/bin/go"} {
		if exists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: the Go toolchain (go) is not installed", ErrCompile)
}

var goVersions sync.Map // go binary path -> version string

// goVersion is the toolchain's version ("go1.26.8"), asked once per binary.
func goVersion(ctx context.Context, goBin string) (string, error) {
	if v, ok := goVersions.Load(goBin); ok {
		return v.(string), nil
	}
	cmd := exec.CommandContext(ctx, goBin, "env", "GOVERSION")
	cmd.Env = append(cleanEnv(), "GOTOOLCHAIN=local", "GOENV=off")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s env GOVERSION: %v", ErrCompile, goBin, err)
	}
	v := strings.TrimSpace(string(out))
	goVersions.Store(goBin, v)
	return v, nil
}

// langVersion is the go.mod language version for a toolchain version.
func langVersion(ver string) string {
	m := goRelease.FindStringSubmatch(ver)
	if m == nil {
		return "1.22"
	}
	return m[1] + "." + m[2]
}

// buildGo builds code into bin.
func buildGo(ctx context.Context, goBin, ver, cacheDir, bin string, code []byte, fn string) error {
	tmpRoot := filepath.Join(cacheDir, "tmp")
	for _, d := range []string{filepath.Dir(bin), tmpRoot} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp(tmpRoot, "build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		return err
	}
	if isZip(code) {
		if err := unzip(code, src, maxArchiveFiles, maxArchiveBytes); err != nil {
			return fmt.Errorf("%w: %v", ErrCompile, err)
		}
		if exe := filepath.Join(src, "exec"); exists(exe) {
			return install(exe, bin) // prebuilt
		}
		if err := mainPackage(src); err != nil {
			return err
		}
	} else if err := os.WriteFile(filepath.Join(src, "main.go"), setPackageMain(code), 0o644); err != nil {
		return err
	}
	if !exists(filepath.Join(src, "go.mod")) {
		mod := "module action\n\ngo " + langVersion(ver) + "\n"
		if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(mod), 0o644); err != nil {
			return err
		}
	}
	wrapper := strings.ReplaceAll(goWrapper, "GUST_MAIN", fn)
	if err := os.WriteFile(filepath.Join(src, goWrapperFile), []byte(wrapper), 0o644); err != nil {
		return err
	}
	out := filepath.Join(dir, "exec")
	goBuilds.Add(1)
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(cleanEnv(),
		"HOME="+cacheDir, // cleanEnv's HOME=/tmp is overridden: the last entry wins
		"GOCACHE="+filepath.Join(cacheDir, "gocache"),
		"GOPATH="+filepath.Join(cacheDir, "gopath"),
		"GOTMPDIR="+dir,
		"CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOPROXY=off", "GOSUMDB=off",
		"GOFLAGS=", "GOWORK=off", "GOENV=off", "GO111MODULE=on")
	msg, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s", ErrCompile, compileMessage(msg, src, fn, err))
	}
	return install(out, bin)
}

// install moves a built executable into the cache, atomically.
func install(exe, bin string) error {
	if err := os.Chmod(exe, 0o755); err != nil {
		return err
	}
	return os.Rename(exe, bin)
}

// compileMessage turns go build's output into the action's error message:
// paths relative to the action, and the wrapper's errors explained.
func compileMessage(out []byte, src, fn string, err error) string {
	s := strings.ReplaceAll(string(out), src+"/", "")
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		trimmed := strings.TrimLeft(l, "\t ")
		switch {
		case strings.HasPrefix(l, "# "):
			continue // the package line
		case strings.HasPrefix(trimmed, "go get "), strings.HasPrefix(l, "\tgo mod "):
			continue // advice that does not apply: nothing is downloaded
		case strings.HasPrefix(trimmed, "./"+goWrapperFile+":"), strings.HasPrefix(trimmed, goWrapperFile+":"):
			switch {
			case strings.Contains(l, "undefined: "+fn):
				return fmt.Sprintf("the action does not define function %s (func %s(map[string]any) map[string]any)", fn, fn)
			case strings.Contains(l, "main redeclared"):
				return "the action must not define func main: Gust generates it to call " + fn
			}
		}
		l = strings.Replace(l, "./", "", 1)
		if strings.Contains(l, "no required module provides package") {
			l = strings.TrimSuffix(l, "; to add it:") + " (actions can use the standard library and vendored modules only)"
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return err.Error()
	}
	return strings.Join(lines, "\n")
}

// mainPackage makes the Go files at the root of dir package main.
func mainPackage(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: the zip archive holds neither exec nor Go files at its root", ErrCompile)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(f, setPackageMain(b), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// setPackageMain rewrites a Go file's package clause to "package main",
// skipping the comments and blank space before it. A file without a clause
// is returned unchanged, for the compiler to complain about.
func setPackageMain(src []byte) []byte {
	i := 0
	if bytes.HasPrefix(src, []byte("\xef\xbb\xbf")) {
		i = 3
	}
	for i < len(src) {
		switch {
		case src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r':
			i++
		case bytes.HasPrefix(src[i:], []byte("//")):
			nl := bytes.IndexByte(src[i:], '\n')
			if nl < 0 {
				return src
			}
			i += nl + 1
		case bytes.HasPrefix(src[i:], []byte("/*")):
			end := bytes.Index(src[i+2:], []byte("*/"))
			if end < 0 {
				return src
			}
			i += 2 + end + 2
		default:
			if !bytes.HasPrefix(src[i:], []byte("package")) {
				return src
			}
			j := i + len("package")
			k := j
			for k < len(src) && (src[k] == ' ' || src[k] == '\t') {
				k++
			}
			if k == j {
				return src
			}
			e := k
			for e < len(src) && (src[e] == '_' || src[e] >= 0x80 ||
				('a' <= src[e] && src[e] <= 'z') || ('A' <= src[e] && src[e] <= 'Z') || ('0' <= src[e] && src[e] <= '9')) {
				e++
			}
			if e == k || string(src[k:e]) == "main" {
				return src
			}
			out := make([]byte, 0, len(src))
			out = append(out, src[:k]...)
			out = append(out, "main"...)
			return append(out, src[e:]...)
		}
	}
	return src
}
