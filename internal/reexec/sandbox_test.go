package reexec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const testEntry = "reexec-test"

func init() { Register(testEntry, func() { os.Stdout.WriteString("hello from the test entry\n") }) }

func TestMain(m *testing.M) {
	if Init() {
		return
	}
	os.Exit(m.Run())
}

// setBuild gives this test binary a build identity for one test.
func setBuild(t *testing.T, id string) {
	t.Helper()
	old := Build
	Build = id
	t.Cleanup(func() { Build = old })
}

// script writes an executable shell script that stands in for a sandbox
// binary.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return path
}

// answer is a script body that answers the handshake.
func answer(identity string, entries ...string) string {
	s := "printf 'gust-reexec 1\\nidentity " + identity + "\\n"
	for _, e := range entries {
		s += "entry " + e + "\\n"
	}
	return s + "'"
}

func TestParseIdentity(t *testing.T) {
	tests := []struct {
		name, in string
		want     Info
		wantErr  bool
	}{
		{"full", "gust-reexec 1\nidentity abc\nentry runtime\nentry sandbox-init\n",
			Info{Identity: "abc", Entries: []string{"runtime", "sandbox-init"}}, false},
		{"entries sorted", "gust-reexec 1\nidentity x y\nentry b\nentry a\n", Info{Identity: "x y", Entries: []string{"a", "b"}}, false},
		{"empty identity", "gust-reexec 1\nidentity \n", Info{}, false},
		{"no header", "identity abc\n", Info{}, true},
		{"other version", "gust-reexec 2\nidentity abc\n", Info{}, true},
		{"no identity", "gust-reexec 1\nentry runtime\n", Info{}, true},
		{"unknown line", "gust-reexec 1\nidentity abc\nsurprise\n", Info{}, true},
		{"empty entry", "gust-reexec 1\nidentity abc\nentry \n", Info{}, true},
		{"nothing", "", Info{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseIdentity([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseIdentity(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseIdentity(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

// TestIdentityRoundTrip checks that a binary's answer, parsed, gives its
// identity and entry points back.
func TestIdentityRoundTrip(t *testing.T) {
	setBuild(t, "round trip")
	info, err := parseIdentity(appendIdentity(nil))
	if err != nil {
		t.Fatal(err)
	}
	if info.Identity != "round trip" {
		t.Errorf("identity = %q, want %q", info.Identity, "round trip")
	}
	if want := []string{testEntry, lookUpEntry}; !reflect.DeepEqual(info.Entries, want) {
		t.Errorf("entries = %q, want %q", info.Entries, want)
	}
}

func TestCheck(t *testing.T) {
	setBuild(t, "v-test")
	dir := t.TempDir()
	good := script(t, dir, "good", answer("v-test", "runtime", "sandbox-init"))
	notExec := script(t, dir, "not-exec", answer("v-test", "runtime"))
	os.Chmod(notExec, 0o644)
	worldWritable := script(t, dir, "world-writable", answer("v-test", "runtime"))
	os.Chmod(worldWritable, 0o777)
	tests := []struct {
		name    string
		path    string
		entries []string
		want    error // nil, ErrNotSandbox or ErrSkew
		msg     string
	}{
		{"matching", good, []string{"runtime", "sandbox-init"}, nil, ""},
		{"matching, no entries asked", good, nil, nil, ""},
		{"missing entry", good, []string{"runtime", "stand-in"}, ErrNotSandbox, `no entry point "stand-in"`},
		{"other sources", script(t, dir, "old", answer("v-old", "runtime")), []string{"runtime"}, ErrSkew, "other sources"},
		{"no identity", script(t, dir, "anon", answer("", "runtime")), []string{"runtime"}, ErrSkew, "other sources"},
		{"predates the handshake", script(t, dir, "older",
			`echo 'reexec: no entry point "identity"' >&2; exit 2`), nil, ErrNotSandbox, "no entry point"},
		{"another program", script(t, dir, "other", "echo hello"), nil, ErrNotSandbox, "does not start with"},
		{"too talkative", script(t, dir, "talker", "yes"), nil, ErrNotSandbox, "longer than"},
		{"missing", filepath.Join(dir, "nothing"), nil, ErrNotSandbox, "no such file"},
		// A bare name is a file in the working directory, not in PATH.
		{"bare name", "sh", nil, ErrNotSandbox, "no such file"},
		{"directory", dir, nil, ErrNotSandbox, "not a regular file"},
		{"not executable", notExec, nil, ErrNotSandbox, "not executable"},
		{"world writable", worldWritable, nil, ErrNotSandbox, "writable by group or others"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := Check(ctx, tc.path, tc.entries...)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("Check(%s) = %v, want nil", tc.name, err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("Check(%s) = %v, want %v", tc.name, err, tc.want)
			case tc.want != nil && !strings.Contains(err.Error(), tc.msg):
				t.Errorf("Check(%s) = %v, want it to say %q", tc.name, err, tc.msg)
			}
		})
	}
}

func TestCheckRefusesAnotherOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	setBuild(t, "v-test")
	path := script(t, t.TempDir(), "theirs", answer("v-test", "runtime"))
	if err := os.Chown(path, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	err := Check(context.Background(), path, "runtime")
	if !errors.Is(err, ErrNotSandbox) || !strings.Contains(err.Error(), "owned by uid 4242") {
		t.Fatalf("Check = %v, want ErrNotSandbox: owned by uid 4242", err)
	}
}

func TestCheckTimesOut(t *testing.T) {
	setBuild(t, "v-test")
	path := script(t, t.TempDir(), "hang", "exec sleep 10")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Check(ctx, path)
	if !errors.Is(err, ErrNotSandbox) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Check = %v, want ErrNotSandbox and the deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Check took %v after its deadline", d)
	}
}

// TestProbeSelf runs the real handshake against this test binary, which
// answers it from Init: its entry points, and no identity, since go test
// stamps none. Check must then refuse it, whatever this process's Build
// says: the answer is the child's.
func TestProbeSelf(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	info, err := Probe(context.Background(), self)
	if err != nil {
		t.Fatalf("Probe(this test binary): %v", err)
	}
	want := Info{Identity: Identity(), Entries: []string{testEntry, lookUpEntry}}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("Probe(this test binary) = %+v, want %+v", info, want)
	}
	setBuild(t, "only in this process")
	if err := Check(context.Background(), self, testEntry); !errors.Is(err, ErrSkew) {
		t.Errorf("Check(this test binary, with another Build here) = %v, want ErrSkew", err)
	}
}

func TestLookUp(t *testing.T) {
	setBuild(t, "v-test")
	dir := t.TempDir()
	good := script(t, dir, "gust-sandbox", answer("v-test", "runtime"))
	stale := script(t, dir, "stale", answer("v-stale", "runtime"))
	tests := []struct {
		name, env string
		wantPath  string
		wantErr   error
	}{
		{"off", "none", "", nil},
		{"named", good, good, nil},
		{"relative", relative(t, good), good, nil},
		{"stale", stale, "", ErrSkew},
		{"missing", filepath.Join(dir, "nothing"), "", ErrNotSandbox},
		// A test binary has no gust-sandbox next to it: none, quietly.
		{"next to the executable", "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := lookUp(tc.env)
			if got.bin.Path() != tc.wantPath || !errors.Is(got.err, tc.wantErr) || (tc.wantErr == nil) != (got.err == nil) {
				t.Fatalf("lookUp(%q) = %q, %v; want %q, %v", tc.env, got.bin.Path(), got.err, tc.wantPath, tc.wantErr)
			}
			if got.bin != nil && !reflect.DeepEqual(got.bin.info.Entries, []string{"runtime"}) {
				t.Errorf("lookUp(%q) entries = %q, want [runtime]", tc.env, got.bin.info.Entries)
			}
		})
	}
}

// TestLookUpNextToExecutable puts a gust-sandbox next to a copy of this
// test binary and runs the lookup there, in a child: once it matches, once
// it is stale.
func TestLookUpNextToExecutable(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, identity, want string
	}{
		{"matching", "v-child", "found " + "gust-sandbox"},
		{"stale", "v-old", "refused: " + ErrSkew.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			exe := filepath.Join(dir, "gust")
			if err := os.WriteFile(exe, b, 0o755); err != nil {
				t.Fatal(err)
			}
			script(t, dir, SandboxName, answer(tc.identity, "runtime"))
			cmd := command(exe, lookUpEntry)
			cmd.Env = []string{Env(lookUpEntry), "REEXEC_TEST_BUILD=v-child"}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			// One line: a second says that a missing entry point was
			// served or that the error was handed out twice.
			got := strings.TrimSpace(string(out))
			if !strings.HasPrefix(got, tc.want) || strings.Contains(got, "\n") {
				t.Errorf("child's lookup said %q, want one line %q...", got, tc.want)
			}
		})
	}
}

// lookUpEntry runs Sandbox's default lookup as a fresh process would, with
// Build from the environment, and says what it found.
const lookUpEntry = "reexec-test-lookup"

func init() {
	Register(lookUpEntry, func() {
		Build = os.Getenv("REEXEC_TEST_BUILD")
		b, err := Sandbox("", "runtime")
		switch {
		case err != nil:
			os.Stdout.WriteString("refused: " + err.Error() + "\n")
		case b != nil:
			os.Stdout.WriteString("found " + filepath.Base(b.Path()) + "\n")
			if again, err := Sandbox("", "runtime", "not-there"); again != nil || err != nil {
				os.Stdout.WriteString("but a missing entry point gave " + again.Path() + "\n")
			}
		default:
			os.Stdout.WriteString("none\n")
		}
		// The lookup's error goes to the first caller only.
		if _, err := Sandbox("", "runtime"); err != nil {
			os.Stdout.WriteString("and again: " + err.Error() + "\n")
		}
	})
}

func relative(t *testing.T, path string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

func TestBinaryCommand(t *testing.T) {
	var none *Binary
	pinned := &Binary{path: "/usr/local/bin/gust-sandbox", exe: "/proc/self/fd/100"}
	tests := []struct {
		name string
		b    *Binary
		want string
	}{
		{"this binary", none, Self()},
		{"sandbox binary", pinned, "/proc/self/fd/100"},
	}
	for _, tc := range tests {
		cmd := tc.b.Command("runtime", "x")
		if cmd.Path != tc.want || !reflect.DeepEqual(cmd.Args, []string{"gust-runtime", "x"}) {
			t.Errorf("%s: Command = %s %q, want %s [gust-runtime x]", tc.name, cmd.Path, cmd.Args, tc.want)
		}
		if last := cmd.Env[len(cmd.Env)-1]; last != Env("runtime") {
			t.Errorf("%s: Command's env ends with %q, want %q", tc.name, last, Env("runtime"))
		}
	}
	if none.Path() != "" {
		t.Errorf("nil Binary's Path = %q, want \"\"", none.Path())
	}
}

func TestSandboxWithPath(t *testing.T) {
	setBuild(t, "v-test")
	dir := t.TempDir()
	good := script(t, dir, "gust-sandbox", answer("v-test", "runtime", "sandbox-init"))
	tests := []struct {
		name    string
		path    string
		entries []string
		want    error
	}{
		{"matching", good, []string{"runtime", "sandbox-init"}, nil},
		{"missing entry", good, []string{"runtime", "stand-in"}, ErrNotSandbox},
		{"stale", script(t, dir, "stale", answer("v-old", "runtime")), []string{"runtime"}, ErrSkew},
		{"missing", filepath.Join(dir, "nothing"), nil, ErrNotSandbox},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Sandbox(tc.path, tc.entries...)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Sandbox(%s) = %v, want %v", tc.name, err, tc.want)
			}
			if (b != nil) != (tc.want == nil) {
				t.Fatalf("Sandbox(%s) = %v with error %v", tc.name, b, err)
			}
			if b == nil {
				return
			}
			if b.Path() != tc.path {
				t.Errorf("Path = %q, want %q", b.Path(), tc.path)
			}
			// The command starts the checked file through its descriptor.
			fi, err := os.Stat(b.Command("runtime").Path)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := os.Stat(tc.path); !os.SameFile(fi, want) {
				t.Errorf("the command starts %s, not the checked file", b.Command("runtime").Path)
			}
		})
	}
}

func TestRegisterRefusesTheIdentityEntry(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Register(identity) did not panic")
		}
	}()
	Register(identityEntry, func() {})
}
