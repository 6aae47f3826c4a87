package launch_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/sandbox/internal/launch"
)

func TestCheckID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"a", true},
		{"Act-1_v2.x", true},
		{strings.Repeat("x", 64), true},
		{"", false},
		{".", false},
		{"..", false},
		{strings.Repeat("x", 65), false},
		{"a/b", false},
		{"a b", false},
		{"é", false},
	}
	for _, tt := range tests {
		if err := launch.CheckID(tt.id); (err == nil) != tt.ok {
			t.Errorf("CheckID(%q) = %v, want ok %v", tt.id, err, tt.ok)
		}
	}
}

func TestWaitSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "rt.sock")
	// the proxy listens a little after the wait starts
	listening := make(chan net.Listener, 1)
	go func() {
		time.Sleep(20 * time.Millisecond)
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Error(err)
		}
		listening <- ln
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := launch.WaitSocket(ctx, sock, nil); err != nil {
		t.Fatalf("WaitSocket: %v", err)
	}
	if ln := <-listening; ln != nil {
		ln.Close()
	}
}

func TestWaitSocketGivesUp(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "rt.sock")
	exited := make(chan struct{})
	close(exited)
	if err := launch.WaitSocket(context.Background(), sock, exited); !errors.Is(err, launch.ErrExited) {
		t.Errorf("proxy gone: err = %v, want ErrExited", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := launch.WaitSocket(ctx, sock, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ctx ended: err = %v, want DeadlineExceeded", err)
	}
	if err := launch.WaitSocket(context.Background(), filepath.Join(t.TempDir(), "no", "such", strings.Repeat("x", 200)), nil); err == nil {
		t.Error("a path that cannot be a socket: want an error")
	}
}
