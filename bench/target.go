package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// upProcess is a `gust up` the tool started as its child, on free ports
// with a temporary data directory.
type upProcess struct {
	cmd     *exec.Cmd
	dir     string
	logPath string
	apihost string
	args    []string
	exited  chan struct{} // closed when the process has exited
	waitErr error         // valid after exited
	started time.Duration // from exec to the API answering
	t0      time.Time     // when it was started
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startUp starts `bin up` with extra arguments after the tool's own (so
// they win) and waits until its API answers. The caller must Stop it.
func startUp(ctx context.Context, bin string, memoryMB int, sandbox string, extra []string, ready time.Duration) (*upProcess, error) {
	dir, err := os.MkdirTemp("", "gust-bench-")
	if err != nil {
		return nil, err
	}
	listen, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	natsListen, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	args := []string{"up",
		"--listen", listen,
		"--data-dir", filepath.Join(dir, "data"),
		"--nats-listen", natsListen,
		"--log-level", "warn",
		"--memory", strconv.Itoa(memoryMB),
		"--sandbox", sandbox,
	}
	args = append(args, extra...)
	up := &upProcess{dir: dir, logPath: filepath.Join(dir, "up.log"), apihost: "http://" + listen, args: args, exited: make(chan struct{})}
	logf, err := os.Create(up.logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close() // the child holds its own descriptor
	up.cmd = exec.Command(bin, args...)
	up.cmd.Stdout, up.cmd.Stderr = logf, logf
	// GOMAXPROCS set for the tool is not meant for gust: --up-arg=--maxprocs=N is.
	up.cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") })
	t0 := time.Now()
	setChildAttrs(up.cmd)
	if err := up.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { // owned by up: Stop waits for it
		up.waitErr = up.cmd.Wait()
		close(up.exited)
	}()
	if err := up.waitReady(ctx, ready); err != nil {
		up.Stop()
		return nil, err
	}
	up.started, up.t0 = time.Since(t0), t0
	return up, nil
}

// waitReady polls GET /api/v1 until it answers 200.
func (u *upProcess) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	hc := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.apihost+"/api/v1", nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-u.exited:
			return fmt.Errorf("%w: gust up exited (%v); its log:\n%s", ErrNotReady, u.waitErr, u.logTail(20))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %s did not answer within %s; gust up's log:\n%s", ErrNotReady, u.apihost, limit, u.logTail(20))
		}
	}
}

// logTail returns the last n lines of the child's log, each cut at 300
// bytes.
func (u *upProcess) logTail(n int) string {
	b, err := os.ReadFile(u.logPath)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 300 {
			lines[i] = l[:300] + "..."
		}
	}
	return "  " + strings.Join(lines, "\n  ")
}

// Alive reports whether the child is still running.
func (u *upProcess) Alive() bool {
	select {
	case <-u.exited:
		return false
	default:
		return true
	}
}

// stopTimeout bounds a clean stop: the invoker drains for up to 20 s by
// default, then tears its sandboxes down.
const stopTimeout = time.Minute

// Stop ends the child with SIGTERM (SIGKILL after stopTimeout), waits for
// it and removes its data directory. It returns how long the stop took, and
// the child's log when it did not exit cleanly.
func (u *upProcess) Stop() (time.Duration, error) {
	var err error
	start := time.Now()
	if u.Alive() {
		u.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-u.exited:
		case <-time.After(stopTimeout):
			u.cmd.Process.Kill()
			<-u.exited
			err = fmt.Errorf("gust up did not stop within %s of SIGTERM and was killed; its log:\n%s", stopTimeout, u.logTail(20))
		}
	} else {
		<-u.exited
	}
	took := time.Since(start)
	if err == nil && u.waitErr != nil && !isSignalExit(u.waitErr) {
		err = fmt.Errorf("gust up exited: %v; its log:\n%s", u.waitErr, u.logTail(20))
	}
	// Sandboxes may still be unwinding their directories for a moment.
	for i := 0; i < 10; i++ {
		if rmErr := os.RemoveAll(u.dir); rmErr == nil || errors.Is(rmErr, os.ErrNotExist) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return took, err
}

// isSignalExit reports an exit caused by our own SIGTERM.
func isSignalExit(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
		return true
	}
	return false
}

// gustBinary finds the gust binary to start: path if given, else the
// running executable when it is gust.
func gustBinary(path string) (string, error) {
	if path != "" {
		abs, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("%w: --gust %s: %v", ErrUsage, path, err)
		}
		return abs, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("%w: cannot find the gust binary (%v); pass --gust PATH or --apihost", ErrUsage, err)
	}
	if strings.HasSuffix(self, ".test") || !looksLikeGust(self) {
		return "", fmt.Errorf("%w: %s is not the gust binary; pass --gust PATH or --apihost", ErrUsage, self)
	}
	return self, nil
}

// looksLikeGust checks the binary answers `up -h` as gust does.
func looksLikeGust(bin string) bool {
	out, _ := exec.Command(bin, "up", "-h").CombinedOutput()
	return bytes.Contains(out, []byte("-data-dir"))
}
