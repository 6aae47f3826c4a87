// Package goahead carries a sandbox's go-ahead: what a process started
// before its action was known still needs, its environment (which names
// the action's kind) and its stdout and stderr, sent as one message on a
// SOCK_SEQPACKET socket with the two descriptors as SCM_RIGHTS. The linux
// sandbox driver sends it to a sandbox's init, and the init to the runtime
// proxy it started ahead (Await, through internal/reexec).
package goahead

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gust-faas/gust/internal/rights"
)

// EnvFD names the descriptor a process started ahead waits on.
const EnvFD = "GUST_GOAHEAD_FD"

// Max bounds a go-ahead's body.
const Max = 256 << 10

// Message is a go-ahead's body.
type Message struct {
	Env []string `json:"env"` // the whole environment
}

// Send sends m, with stdout and stderr, on the socket fd.
func Send(fd int, m Message, stdout, stderr int) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(body) > Max {
		return fmt.Errorf("the go-ahead takes %d bytes, more than %d", len(body), Max)
	}
	for {
		err = unix.Sendmsg(fd, body, unix.UnixRights(stdout, stderr), nil, 0)
		if err != unix.EINTR {
			return err
		}
	}
}

// Receive waits for a go-ahead on the socket fd and returns it with its
// stdout and stderr, which the caller owns. io.EOF: the sender closed the
// socket instead.
func Receive(fd int) (m Message, stdout, stderr int, err error) {
	buf := make([]byte, Max)
	oob := make([]byte, unix.CmsgSpace(2*4))
	var n, oobn, flags int
	for {
		n, oobn, flags, _, err = unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return m, -1, -1, fmt.Errorf("reading the go-ahead: %w", err)
	}
	fds, perr := rights.Parse(oob[:max(oobn, 0)])
	fail := func(err error) (Message, int, int, error) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return m, -1, -1, err
	}
	switch {
	case n == 0 && oobn == 0:
		return fail(io.EOF)
	case flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0:
		return fail(errors.New("the go-ahead was cut short"))
	case perr != nil:
		return fail(fmt.Errorf("the go-ahead's descriptors: %w", perr))
	case len(fds) != 2:
		return fail(fmt.Errorf("the go-ahead carries %d descriptors, not 2", len(fds)))
	}
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		return fail(fmt.Errorf("the go-ahead: %w", err))
	}
	return m, fds[0], fds[1], nil
}

// Await is for a process started ahead, with EnvFD set: it waits for the
// go-ahead, replaces the environment with the go-ahead's and makes its
// descriptors stdout and stderr. It reports whether there was one to wait
// for; without EnvFD it does nothing.
func Await() (bool, error) {
	v, ok := os.LookupEnv(EnvFD)
	if !ok {
		return false, nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return true, fmt.Errorf("%s=%q is not a descriptor", EnvFD, v)
	}
	warmChildStart()
	m, stdout, stderr, err := Receive(fd)
	unix.Close(fd)
	if err != nil {
		return true, err
	}
	for i, src := range []int{stdout, stderr} {
		err := unix.Dup3(src, 1+i, 0)
		unix.Close(src)
		if err != nil {
			return true, fmt.Errorf("taking the go-ahead's output: %w", err)
		}
	}
	os.Clearenv()
	for _, kv := range m.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			if err := os.Setenv(k, v); err != nil {
				return true, err
			}
		}
	}
	return true, nil
}

// warmChildStart does, while the process waits, what its first child start
// would do on the go-ahead's critical path: Go checks once per process that
// pidfds work, cloning a child to see that CLONE_PIDFD does (1.7 ms in a
// sandbox here, a third of a runtime proxy's time from the go-ahead to its
// listening socket). FindProcess runs the same check.
func warmChildStart() {
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Release()
	}
}
