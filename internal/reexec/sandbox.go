package reexec

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// SandboxName is the file name of the sandbox binary, looked for next
	// to the running executable (os.Executable, symlinks resolved).
	SandboxName = "gust-sandbox"
	// EnvSandboxBin, when set, names the sandbox binary instead of the one
	// next to the running executable; "none" turns the sandbox binary off.
	// The binary it names is checked like any other.
	EnvSandboxBin = "GUST_SANDBOX_BIN"

	// identityEntry is the entry point every binary built with this
	// package answers, without registering it: it prints its identity and
	// its entry points (appendIdentity) for Probe.
	identityEntry = "identity"
	// handshakeHeader is the first line of the identity answer; its number
	// changes if the format does.
	handshakeHeader = "gust-reexec 1"
	// probeTimeout bounds the handshake of a lookup (Sandbox).
	probeTimeout = 10 * time.Second
	// maxAnswer bounds what Probe reads of an answer (and of stderr).
	maxAnswer = 64 << 10
)

// Build identifies the sources a binary was built from. It is set at link
// time, to the same value in gust and gust-sandbox:
//
//	go build -ldflags "-X github.com/gust-faas/gust/internal/reexec.Build=<id>"
//
// where the Makefile's <id> is a hash of the sources. Unset, Identity falls
// back to the version control revision of a clean checkout.
var Build string

// Identity is this binary's build identity, which a sandbox binary must
// share to be used: Build when set at link time; else, for a binary built
// by go build from an unmodified git checkout, its revision, Go version and
// build tags; else "" (a modified tree, go test, no version control), which
// matches nothing.
func Identity() string {
	if Build != "" {
		return Build
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, modified, tags string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		case "-tags":
			tags = s.Value
		}
	}
	if rev == "" || modified != "false" {
		return ""
	}
	return "vcs:" + rev + ":" + bi.GoVersion + ":" + tags
}

// appendIdentity appends this binary's answer to the identity handshake:
// the header, its identity and one line per entry point.
func appendIdentity(b []byte) []byte {
	b = append(b, handshakeHeader+"\nidentity "...)
	b = append(b, Identity()...)
	b = append(b, '\n')
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		b = append(b, "entry "...)
		b = append(b, name...)
		b = append(b, '\n')
	}
	return b
}

// Info is what a binary answers to the identity handshake.
type Info struct {
	// Identity is the binary's Identity, "" if it has none.
	Identity string
	// Entries are the entry points it holds, sorted.
	Entries []string
}

// Probe checks that path is an executable regular file that is no more
// writable than this binary (the sandbox's init starts as root) and asks
// it, by starting it at the identity entry point, for its Info. The errors
// wrap ErrNotSandbox.
func Probe(ctx context.Context, path string) (Info, error) {
	path, err := filepath.Abs(path) // never looked up in PATH
	if err != nil {
		return Info{}, fmt.Errorf("%w: %w", ErrNotSandbox, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return Info{}, fmt.Errorf("%w: %w", ErrNotSandbox, err)
	}
	if err := checkFile(path, fi); err != nil {
		return Info{}, err
	}
	return handshake(ctx, path)
}

// handshake starts path, an absolute path, at the identity entry point and
// reads its answer.
func handshake(ctx context.Context, path string) (Info, error) {
	cmd := exec.CommandContext(ctx, path)
	cmd.Args[0] = "gust-" + identityEntry
	cmd.Env = []string{Env(identityEntry)}
	var stdout, stderr capped
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if stdout.over {
		err = fmt.Errorf("the answer is longer than %d bytes", maxAnswer)
	}
	if err != nil {
		if msg := strings.TrimSpace(string(stderr.b)); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return Info{}, fmt.Errorf("%w: %s: identity handshake: %w", ErrNotSandbox, path, err)
	}
	info, err := parseIdentity(stdout.b)
	if err != nil {
		return Info{}, fmt.Errorf("%w: %s: identity handshake: %w", ErrNotSandbox, path, err)
	}
	return info, nil
}

// parseIdentity reads an answer written by appendIdentity.
func parseIdentity(b []byte) (Info, error) {
	var info Info
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() || sc.Text() != handshakeHeader {
		return info, fmt.Errorf("the answer does not start with %q", handshakeHeader)
	}
	seen := false
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), " ")
		switch key {
		case "identity":
			info.Identity, seen = val, true
		case "entry":
			if val == "" {
				return info, errors.New("an empty entry point name in the answer")
			}
			info.Entries = append(info.Entries, val)
		default:
			return info, fmt.Errorf("unexpected line %q in the answer", sc.Text())
		}
	}
	if !seen {
		return info, errors.New("the answer has no identity")
	}
	slices.Sort(info.Entries)
	return info, nil
}

// Check probes the binary at path (Probe) and checks that it can run
// entries for this binary: same non-empty Identity (else ErrSkew), every
// one of entries held (else ErrNotSandbox).
func Check(ctx context.Context, path string, entries ...string) error {
	info, err := Probe(ctx, path)
	if err != nil {
		return err
	}
	if err := matches(path, info); err != nil {
		return err
	}
	return holds(path, info, entries)
}

// matches checks that info's identity is this binary's.
func matches(path string, info Info) error {
	switch mine := Identity(); {
	case mine == "":
		return fmt.Errorf("%w: this binary has no build identity to compare %s with "+
			"(built from a modified tree without a build stamp: `make` builds gust and gust-sandbox together)", ErrSkew, path)
	case info.Identity != mine:
		return fmt.Errorf("%w: %s was built from other sources (identity %q, this binary's %q): rebuild both with `make`",
			ErrSkew, path, info.Identity, mine)
	}
	return nil
}

// checkFile checks that fi, path's, is an executable regular file, owned
// by root or by this binary's owner, and writable by no one this binary is
// not.
func checkFile(path string, fi os.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrNotSandbox, path)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%w: %s is not executable", ErrNotSandbox, path)
	}
	exe, err := os.Stat(Self())
	if err != nil {
		return fmt.Errorf("%w: this binary: %w", ErrNotSandbox, err)
	}
	st, ok1 := fi.Sys().(*syscall.Stat_t)
	est, ok2 := exe.Sys().(*syscall.Stat_t)
	if ok1 && ok2 && st.Uid != 0 && st.Uid != est.Uid {
		return fmt.Errorf("%w: %s is owned by uid %d, neither root nor this binary's owner", ErrNotSandbox, path, st.Uid)
	}
	if extra := fi.Mode().Perm() &^ exe.Mode().Perm() & 0o022; extra != 0 {
		return fmt.Errorf("%w: %s is writable by group or others (mode %v), this binary is not", ErrNotSandbox, path, fi.Mode().Perm())
	}
	return nil
}

// capped collects up to maxAnswer bytes and fails beyond.
type capped struct {
	b    []byte
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if len(c.b)+len(p) > maxAnswer {
		c.over = true
		return 0, errors.New("the answer is too long")
	}
	c.b = append(c.b, p...)
	return len(p), nil
}

// Binary is a sandbox binary that passed Check, held open: commands start
// the very file that was checked, through /proc/self/fd, even after its
// path is replaced (an upgrade). The init of a linux sandbox then fails
// loudly, as it does when gust itself is replaced, rather than run a
// binary of another version. A nil *Binary is this binary.
type Binary struct {
	path string   // where it was found, for messages
	file *os.File // the checked file; closing it would end exe's meaning
	exe  string   // /proc/self/fd/<file>, what commands start
	info Info
}

// pinnedFD is the lowest descriptor a Binary's file gets: far above the
// few that a command's ExtraFiles take in the child (from 3), which would
// otherwise hide it there before the exec.
const pinnedFD = 100

// Path is where the binary was found; "" for this binary.
func (b *Binary) Path() string {
	if b == nil {
		return ""
	}
	return b.path
}

// Command is the package's Command for this binary: it starts entry point
// name of the sandbox binary, or of this binary if b is nil.
func (b *Binary) Command(name string, args ...string) *exec.Cmd {
	if b == nil {
		return Command(name, args...)
	}
	return command(b.exe, name, args...)
}

// holds checks that info, path's, lists every one of entries.
func holds(path string, info Info, entries []string) error {
	for _, name := range entries {
		if _, ok := slices.BinarySearch(info.Entries, name); !ok {
			return fmt.Errorf("%w: %s has no entry point %q", ErrNotSandbox, path, name)
		}
	}
	return nil
}

// open opens and checks the sandbox binary at path (Check, without the
// entry points) and pins the file it checked.
func open(ctx context.Context, path string) (*Binary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSandbox, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSandbox, err)
	}
	if err := checkFile(path, fi); err != nil {
		return nil, err
	}
	// The handshake starts the path (a script could not be started from
	// a close-on-exec descriptor); the file must not have changed since.
	info, err := handshake(ctx, path)
	if err != nil {
		return nil, err
	}
	if now, err := os.Stat(path); err != nil || !os.SameFile(fi, now) {
		return nil, fmt.Errorf("%w: %s changed while it was checked", ErrNotSandbox, path)
	}
	if err := matches(path, info); err != nil {
		return nil, err
	}
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, pinnedFD)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotSandbox, path, err)
	}
	return &Binary{
		path: path,
		file: os.NewFile(uintptr(fd), path),
		exe:  "/proc/self/fd/" + strconv.Itoa(fd),
		info: info,
	}, nil
}

// found is the result of the lookup of the default sandbox binary.
type found struct {
	bin *Binary
	err error // why a binary that is there is not used
}

var (
	lookupOnce sync.Once
	lookup     found
	lookupMu   sync.Mutex
	lookupErr  error // handed to the first caller that asks, then nil
)

// Sandbox returns the sandbox binary to start entries from, instead of this
// one; nil means this binary (whose Command is the package's Command):
//
//   - path, when not empty, if it passes Check for entries;
//   - else the binary named by GUST_SANDBOX_BIN ("none": none), else
//     gust-sandbox next to the running executable, looked up and checked
//     once per process, if it passes Check; if it lacks one of entries
//     (a test's stand-in proxy) Sandbox quietly returns nil.
//
// The error says why a sandbox binary that is there (or that path or
// GUST_SANDBOX_BIN names) is not used; the caller should warn: re-executing
// this binary works, only slower. The default lookup's error goes to the
// first caller only, so that it is logged once.
func Sandbox(path string, entries ...string) (*Binary, error) {
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotSandbox, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		b, err := open(ctx, abs)
		if err != nil {
			return nil, err
		}
		if err := holds(b.path, b.info, entries); err != nil {
			b.file.Close()
			return nil, err
		}
		return b, nil
	}
	lookupOnce.Do(func() {
		lookup = lookUp(os.Getenv(EnvSandboxBin))
		lookupErr = lookup.err
	})
	if lookup.bin == nil {
		lookupMu.Lock()
		err := lookupErr
		lookupErr = nil
		lookupMu.Unlock()
		return nil, err
	}
	if holds(lookup.bin.path, lookup.bin.info, entries) != nil {
		return nil, nil
	}
	return lookup.bin, nil
}

// lookUp finds and checks the default sandbox binary: the one env names,
// else SandboxName next to the running executable.
func lookUp(env string) found {
	var path string
	switch env {
	case "none":
		return found{}
	case "":
		exe, err := os.Executable()
		if err != nil {
			return found{}
		}
		path = filepath.Join(filepath.Dir(exe), SandboxName)
		if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
			return found{} // the usual case without one: not worth a warning
		}
	default:
		abs, err := filepath.Abs(env)
		if err != nil {
			return found{err: fmt.Errorf("%w: %s=%s: %w", ErrNotSandbox, EnvSandboxBin, env, err)}
		}
		path = abs
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	b, err := open(ctx, path)
	return found{bin: b, err: err}
}
