package goahead

import (
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func pair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// TestSendReceive: the environment and both descriptors arrive; a closed
// socket is io.EOF; a message without two descriptors is refused.
func TestSendReceive(t *testing.T) {
	a, b := pair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	want := Message{Env: []string{"A=1", "KIND=python:3.11", "EMPTY="}}
	if err := Send(a, want, int(w.Fd()), int(os.Stderr.Fd())); err != nil {
		t.Fatal(err)
	}
	m, stdout, stderr, err := Receive(b)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(stdout)
	defer unix.Close(stderr)
	if !slices.Equal(m.Env, want.Env) {
		t.Errorf("Env = %q, want %q", m.Env, want.Env)
	}
	if _, err := unix.Write(stdout, []byte("through")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, _ := r.Read(buf); string(buf[:n]) != "through" {
		t.Errorf("the stdout received is not the pipe sent: read %q", buf[:n])
	}

	if _, err := unix.Write(a, []byte(`{"env":[]}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := Receive(b); err == nil || !strings.Contains(err.Error(), "0 descriptors") {
		t.Errorf("Receive of a message without descriptors: %v", err)
	}
	unix.Close(a)
	if _, _, _, err := Receive(b); err != io.EOF {
		t.Errorf("Receive after the sender closed: %v, want io.EOF", err)
	}
}

// TestAwait: a process started ahead takes the go-ahead's environment,
// and nothing else of what it had.
func TestAwait(t *testing.T) {
	if ok, err := Await(); ok || err != nil {
		t.Fatalf("Await without %s = %v, %v", EnvFD, ok, err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := fds[0], fds[1] // Await closes b
	defer unix.Close(a)
	t.Setenv("GOAHEAD_TEST_OLD", "1")
	t.Setenv(EnvFD, strconv.Itoa(b))
	// Await makes the descriptors stdout and stderr: send this process's
	// own, duplicated, so that the test's output stays where it was.
	out, err := unix.Dup(1)
	if err != nil {
		t.Fatal(err)
	}
	errfd, err := unix.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	env := os.Environ()
	defer func() {
		os.Clearenv()
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
	}()
	if err := Send(a, Message{Env: []string{"GOAHEAD_TEST_NEW=2", "X=a=b"}}, out, errfd); err != nil {
		t.Fatal(err)
	}
	unix.Close(out)
	unix.Close(errfd)
	if ok, err := Await(); !ok || err != nil {
		t.Fatalf("Await = %v, %v", ok, err)
	}
	got := os.Environ()
	slices.Sort(got)
	if want := []string{"GOAHEAD_TEST_NEW=2", "X=a=b"}; !slices.Equal(got, want) {
		t.Errorf("environment after Await = %q, want %q", got, want)
	}
}
