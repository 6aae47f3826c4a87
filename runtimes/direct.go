package runtimes

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gust-faas/gust/internal/rights"
	"github.com/gust-faas/gust/whisk"
	"golang.org/x/sys/unix"
)

// Direct runs an initialized action by speaking the actionloop line protocol
// straight to its launcher, on the pipes the proxy handed over after /init.
// A warm run then costs one write and one read in the caller's process,
// instead of an HTTP exchange with the proxy plus the proxy's own exchange
// with the launcher: the proxy's process no longer wakes up twice per run.
//
// Direct does not print the log sentinels the proxy prints after each /run:
// the launcher has flushed the action's output before its result line, so
// the caller, which holds the sandbox's log streams, knows the run's output
// is in them when Run returns (Gust's invoker drains them then).
//
// A Direct serves one run at a time. After a transport failure or a timeout
// it is broken: the launcher died or is in an unknown state, and the caller
// should destroy the sandbox.
type Direct struct {
	mu     sync.Mutex
	in     *os.File // the launcher's stdin
	out    *os.File // the launcher's fd 3
	res    resultReader
	rd     *bufio.Reader // reads res
	trust  bool          // Gust's launcher: results are valid JSON by construction
	split  bool          // Gust's launcher: runs go split (protocol.go)
	line   []byte
	broken error
}

// ErrNoHandover is returned by Client.Handover when the proxy cannot hand its
// launcher over: a stock OpenWhisk proxy (404), a runtime that is not a
// single-run launcher (a native executable, a concurrent Node.js launcher),
// or one that is broken. The caller keeps using Client.Run.
var ErrNoHandover = errors.New("the runtime cannot be handed over")

// errBroken is Direct.Run's error after an earlier failure.
var errBroken = errors.New("the runtime's launcher is broken")

// handoverPath is the Gust extension of the proxy protocol that hands the
// launcher's pipes over (protocol.go).
const handoverPath = "/gust/handover"

// Handover asks the proxy for its launcher's pipes: after it, runs go through
// the returned Direct and the proxy refuses /run. It needs an initialized
// proxy whose runner is a launcher taking one run at a time; otherwise it
// returns an error wrapping ErrNoHandover and nothing changes.
func (c *Client) Handover(ctx context.Context) (*Direct, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return nil, fmt.Errorf("%w: not a unix socket", ErrNoHandover)
	}
	if d, ok := ctx.Deadline(); ok {
		uc.SetDeadline(d)
	}
	req := "POST " + handoverPath + " HTTP/1.1\r\nHost: runtime\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	if _, err := uc.Write([]byte(req)); err != nil {
		return nil, err
	}
	resp, fds, err := readHandover(uc)
	if err != nil {
		closeFDs(fds)
		return nil, err
	}
	status, trusted, split := parseHandover(resp)
	if status != 200 || len(fds) != 2 {
		closeFDs(fds)
		return nil, fmt.Errorf("%w (status %d, %d descriptors)", ErrNoHandover, status, len(fds))
	}
	in, err := pipeFile(fds[0], "launcher-stdin")
	if err != nil {
		closeFDs(fds)
		return nil, err
	}
	out, err := pipeFile(fds[1], "launcher-fd3")
	if err != nil {
		in.Close()
		closeFDs(fds[1:])
		return nil, err
	}
	return newDirect(in, out, trusted, split)
}

func newDirect(in, out *os.File, trusted, split bool) (*Direct, error) {
	rc, err := out.SyscallConn()
	if err != nil {
		in.Close()
		out.Close()
		return nil, err
	}
	d := &Direct{in: in, out: out, res: resultReader{rc: rc, in: in}, trust: trusted, split: split}
	d.rd = bufio.NewReader(&d.res)
	return d, nil
}

// readHandover reads the proxy's whole answer (it closes the connection) and
// the descriptors passed with it.
func readHandover(uc *net.UnixConn) (resp []byte, fds []int, err error) {
	buf := make([]byte, 1024)
	oob := make([]byte, unix.CmsgSpace(2*4))
	for len(resp) < 64<<10 {
		n, oobn, _, _, err := uc.ReadMsgUnix(buf, oob)
		n, oobn = max(n, 0), max(oobn, 0) // -1 with some errors
		if oobn > 0 {
			got, perr := rights.Parse(oob[:oobn])
			fds = append(fds, got...)
			if perr != nil {
				return resp, fds, perr
			}
		}
		resp = append(resp, buf[:n]...)
		if err != nil || n == 0 {
			return resp, fds, nil // EOF: the proxy closed after its answer
		}
	}
	return resp, fds, fmt.Errorf("%w: handover answer too long", ErrProtocol)
}

// parseHandover returns the answer's status and its "trusted" and "split"
// flags.
func parseHandover(resp []byte) (status int, trusted, split bool) {
	if len(resp) < 12 || !bytes.HasPrefix(resp, []byte("HTTP/1.")) {
		return 0, false, false
	}
	status, err := strconv.Atoi(string(resp[9:12]))
	if err != nil {
		return 0, false, false
	}
	_, body, _ := bytes.Cut(resp, []byte("\r\n\r\n"))
	return status, bytes.Contains(body, []byte(`"trusted":true`)), bytes.Contains(body, []byte(`"split":true`))
}

// pipeFile makes a pollable *os.File of a received pipe descriptor, so that
// reads and writes honour deadlines.
func pipeFile(fd int, name string) (*os.File, error) {
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// Run executes one run and classifies its result as Client.Run does. An
// error means no result came: ctx ended (its error is returned) or the
// launcher is gone; either way the Direct is broken from then on.
func (d *Direct) Run(ctx context.Context, req *RunRequest) (RunResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.broken != nil {
		return RunResult{}, d.broken
	}
	if err := ctx.Err(); err != nil {
		return RunResult{}, err
	}
	dl, _ := ctx.Deadline() // zero: none
	var stop func() bool
	if ctx.Done() != nil {
		// ctx's end, its deadline included, unblocks the pipes. They get no
		// deadline of their own: setting two per run cost two updates of
		// the runtime's timers, each on a sandbox's cold poll descriptor.
		stop = context.AfterFunc(ctx, func() {
			d.in.SetWriteDeadline(aLongTimeAgo)
			d.out.SetReadDeadline(aLongTimeAgo)
		})
	} else if !dl.IsZero() {
		d.in.SetWriteDeadline(dl)
		d.out.SetReadDeadline(dl)
	}
	d.line = appendRunLine(d.line[:0], req, d.split)
	var line []byte // the result is the caller's: a new slice each time
	var err error
	if d.rd.Buffered() == 0 {
		d.res.run = d.line // the read sends the run: see resultReader
		line, err = readLine(d.rd, nil)
		d.res.run = nil // unsent when the read failed before it began
	} else if _, err = d.in.Write(d.line); err == nil {
		line, err = readLine(d.rd, nil) // a line came unasked: a misbehaving launcher
	}
	if stop != nil && !stop() && err == nil {
		err = ctx.Err() // ctx ended as the result came: the deadlines are spoiled
	}
	if cap(d.line) > 1<<20 {
		d.line = nil
	}
	if err != nil {
		d.broken = errBroken
		if errors.Is(err, errLineTooLong) {
			return RunResult{StatusCode: 502, Status: whisk.StatusDeveloperError,
				Body: errorBody(fmt.Sprintf("The action's result exceeds %d bytes.", maxResultLine))}, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return RunResult{}, ctxErr
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && !dl.IsZero() && !time.Now().Before(dl) {
			return RunResult{}, context.DeadlineExceeded
		}
		return RunResult{}, fmt.Errorf("runtime launcher: %w", err)
	}
	if !d.trust {
		line = compact(line)
	}
	res := RunResult{StatusCode: 200, Body: line, Status: whisk.StatusSuccess}
	switch classifyResult(line, !d.trust) {
	case resultOK:
	case resultAppError:
		res.StatusCode, res.Status = 502, whisk.StatusApplicationError
	default:
		res.StatusCode, res.Status, res.Body = 502, whisk.StatusDeveloperError, errorBody(msgNotDictionary)
	}
	return res, nil
}

// resultReader reads the launcher's fd 3 under Direct.rd. When a run is to
// be sent, its first read sends it and then waits for the pipe to turn
// readable without trying it: the result cannot be there before the run is
// sent, and *os.File's Read tries first, a read(2) that fails with EAGAIN on
// every run, on the pipe of a sandbox that, among many, is cold in the
// caches. The run is written from inside RawConn.Read because the runtime's
// poller forgets readiness it saw before the read began: a result that came
// between a write before the read and the read's start would never wake it.
type resultReader struct {
	rc  syscall.RawConn
	in  *os.File // the launcher's stdin
	run []byte   // the line to send, nil when sent
}

func (r *resultReader) Read(p []byte) (n int, err error) {
	var sendErr error
	rerr := r.rc.Read(func(fd uintptr) bool {
		if r.run != nil {
			_, sendErr = r.in.Write(r.run)
			r.run = nil
			return sendErr != nil
		}
		for {
			n, err = unix.Read(int(fd), p)
			if err != unix.EINTR {
				return err != unix.EAGAIN
			}
		}
	})
	switch {
	case sendErr != nil:
		return 0, sendErr
	case rerr != nil:
		return 0, rerr
	case err != nil:
		return 0, err
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}

// appendRunLine appends req as one launcher line (protocol.go): split for
// Gust's launchers, the /run body for others. JSON allows CR and LF only as
// whitespace, so they become spaces.
func appendRunLine(dst []byte, req *RunRequest, split bool) []byte {
	start := len(dst)
	if split {
		dst = appendSplitRun(dst, req)
	} else {
		dst = appendRunRequest(dst, req)
	}
	for i := start; i < len(dst); i++ {
		if c := dst[i]; c == '\n' || c == '\r' {
			dst[i] = ' '
		}
	}
	return append(dst, '\n')
}

// Close closes the pipes; the launcher sees its stdin end and exits. A run in
// progress fails at once.
func (d *Direct) Close() error {
	err := d.in.Close()
	if e := d.out.Close(); err == nil {
		err = e
	}
	return err
}
