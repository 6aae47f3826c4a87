package launch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// CheckID checks that id can name a directory and a cgroup: 1 to 64 of
// [A-Za-z0-9_.-], not "." or "..". The drivers wrap its error in their
// ErrBadSpec.
func CheckID(id string) error {
	if id == "" || len(id) > 64 || id == "." || id == ".." {
		return fmt.Errorf("sandbox id %q must be 1 to 64 characters, not . or ..", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("sandbox id %q may hold only letters, digits, '_', '-' and '.'", id)
		}
	}
	return nil
}

// ErrExited is WaitSocket's error when the proxy exits before it listens.
var ErrExited = errors.New("the runtime exited before it listened")

// WaitSocket dials the unix socket at path until it accepts a connection,
// with a short backoff, until ctx ends or exited (the proxy's end) closes.
func WaitSocket(ctx context.Context, path string, exited <-chan struct{}) error {
	addr := &net.UnixAddr{Name: path, Net: "unix"}
	delay := 100 * time.Microsecond
	var timer *time.Timer
	for {
		c, err := net.DialUnix("unix", nil, addr)
		if err == nil {
			c.Close()
			return nil
		}
		if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.EAGAIN) {
			return err
		}
		if timer == nil {
			timer = time.NewTimer(delay)
			defer timer.Stop()
		} else {
			timer.Reset(delay)
		}
		select {
		case <-timer.C:
		case <-exited:
			return ErrExited
		case <-ctx.Done():
			return ctx.Err()
		}
		// Capped at 0.5 ms: a proxy takes 3-6 ms to listen, and a 2 ms cap
		// wasted about 0.3 ms of each start waiting for the next dial
		// (ColdStartRuntime/python, start 5.70 -> 5.42 ms, three pairs); a
		// failed dial costs microseconds.
		if delay < 500*time.Microsecond {
			delay += delay / 2
		}
	}
}
