package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gust-faas/gust/internal/syncbuf"
)

// Binary is where Start looks for redis-server first; then it searches PATH.
const Binary = "/usr/bin/redis-server"

const (
	startAttempts = 3                // a port taken between probe and bind costs one retry
	readyTimeout  = 10 * time.Second // from exec to the first PONG
	stopTimeout   = 5 * time.Second  // from SIGTERM to SIGKILL
)

// Start runs a redis-server for the life of t and returns its URL,
// "redis://127.0.0.1:<port>/0". It skips t when redis-server is not
// installed and fails t when the server does not come up.
func Start(t testing.TB) (url string) {
	t.Helper()
	dir := t.TempDir()
	addr := launch(t, "redis-server", func(port string) ([]string, error) {
		return []string{
			"--bind", "127.0.0.1",
			"--port", port,
			"--dir", dir,
			"--save", "",
			"--appendonly", "no",
			"--daemonize", "no",
			"--loglevel", "warning",
			"--logfile", "",
		}, nil
	})
	return "redis://" + addr + "/0"
}

// SentinelMaster is the master name StartSentinel monitors.
const SentinelMaster = "gust"

// StartSentinel runs a Redis Sentinel (redis-server --sentinel) that
// monitors the server at masterURL, as returned by Start, and returns a URL
// that go-redis's ParseFailoverURL reads:
// "redis://127.0.0.1:<sentinel port>/0?master_name=gust".
func StartSentinel(t testing.TB, masterURL string) (url string) {
	t.Helper()
	host, port, err := hostPort(masterURL)
	if err != nil {
		t.Fatalf("redistest: master url %q: %v", masterURL, err)
	}
	dir := t.TempDir()
	addr := launch(t, "redis-sentinel", func(sport string) ([]string, error) {
		conf := filepath.Join(dir, "sentinel-"+sport+".conf")
		body := "bind 127.0.0.1\nport " + sport + "\ndir " + dir + "\nlogfile \"\"\nloglevel warning\n" +
			"sentinel monitor " + SentinelMaster + " " + host + " " + port + " 1\n"
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			return nil, err
		}
		return []string{conf, "--sentinel"}, nil
	})
	return "redis://" + addr + "/0?master_name=" + SentinelMaster
}

func hostPort(rawURL string) (host, port string, err error) {
	u, err := neturl.Parse(rawURL)
	if err != nil {
		return "", "", err
	}
	return net.SplitHostPort(u.Host)
}

// launch starts redis-server with args(port) on a free port, retrying when
// the port is taken in between, and returns its address. The server is
// stopped in t.Cleanup.
func launch(t testing.TB, what string, args func(port string) ([]string, error)) (addr string) {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Skip("redis-server not installed: apt-get install redis-server")
	}
	var errs []error
	for range startAttempts {
		addr, err := start(t, bin, args)
		if err == nil {
			return addr
		}
		errs = append(errs, err)
	}
	t.Fatalf("redistest: %s did not start: %v", what, errors.Join(errs...))
	return ""
}

func binary() (string, error) {
	if _, err := os.Stat(Binary); err == nil {
		return Binary, nil
	}
	return exec.LookPath("redis-server")
}

// start launches one server on a probed free port and waits for PONG. On
// success the server is stopped in t.Cleanup.
func start(t testing.TB, bin string, args func(port string) ([]string, error)) (string, error) {
	p, err := freePort()
	if err != nil {
		return "", err
	}
	port := strconv.Itoa(p)
	addr := net.JoinHostPort("127.0.0.1", port)
	argv, err := args(port)
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, argv...)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive a crashed test binary
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("exec %s: %w", bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }() // reaps the server; stop waits for it

	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	if err := waitReady(addr, exited, &waitErr); err != nil {
		stop()
		return "", fmt.Errorf("%w; server output: %s", err, bytes.TrimSpace(out.Bytes()))
	}
	t.Cleanup(stop)
	return addr, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("probe a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady pings addr until it answers PONG, the process exits, or
// readyTimeout passes.
func waitReady(addr string, exited <-chan struct{}, waitErr *error) error {
	deadline := time.Now().Add(readyTimeout)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		err := ping(addr)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited before answering: %v", addr, *waitErr)
		case <-time.After(delay):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s not ready after %v: %w", addr, readyTimeout, err)
		}
	}
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
