package runtimes

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// maxArgLen is the longest single argument Linux accepts (MAX_ARG_STRLEN
// less the NUL); longer arguments go on stdin only, as in OpenWhisk's
// dockerskeleton.
const maxArgLen = 131071

// native runs a blackbox action: one process per /run, OpenWhisk's
// dockerskeleton semantics. Runs are serialized.
type native struct {
	exe string   // the action's executable
	dir string   // its working directory
	env []string // clean environment plus the init env
	mu  sync.Mutex

	cmu     sync.Mutex // guards cur and stopped
	cur     *exec.Cmd  // the run in progress
	stopped bool
}

// run executes exe '<args>' with the run's __OW_* context in its
// environment. Its stderr and every stdout line but the last go to the
// proxy's output; the last stdout line is the result, appended to dst.
func (n *native) run(body, dst []byte) ([]byte, error) {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return dst, runError("invalid run request: " + err.Error())
	}
	args := bytes.TrimSpace(req["value"])
	if len(args) == 0 || string(args) == "null" {
		args = []byte("{}")
	}
	env := make([]string, len(n.env), len(n.env)+len(req))
	copy(env, n.env)
	for k, v := range req {
		if k != "value" {
			env = append(env, owEnv(k, v))
		}
	}

	n.mu.Lock()
	defer n.mu.Unlock()
	out := &lastLine{w: os.Stdout}
	cmd, err := startCmd(func() *exec.Cmd {
		cmd := exec.Command(n.exe)
		if len(args) <= maxArgLen {
			cmd.Args = append(cmd.Args, string(args))
		}
		cmd.Dir = n.dir
		cmd.Env = env
		cmd.Stdin = bytes.NewReader(args)
		cmd.Stdout = out
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = childAttr(true)
		// A background process that keeps stdout open does not hold the run.
		cmd.WaitDelay = time.Second
		return cmd
	})
	if err != nil {
		return dst, runError("The action could not be started: " + err.Error())
	}
	n.cmu.Lock()
	n.cur = cmd
	stopped := n.stopped
	n.cmu.Unlock()
	if stopped {
		_ = cmd.Process.Kill()
	}
	_ = cmd.Wait() // the exit status does not matter, the last line does
	n.cmu.Lock()
	n.cur = nil
	n.cmu.Unlock()
	res := out.finish()
	if classifyResult(res, true) == resultInvalid && len(res) > 0 {
		// Keep what the action printed: it is probably a log line.
		os.Stdout.Write(append(res, '\n'))
	}
	return append(dst, res...), nil
}

func (n *native) trusted() bool { return false }

// stop kills the run in progress, if any, and refuses new ones.
func (n *native) stop() {
	n.cmu.Lock()
	defer n.cmu.Unlock()
	n.stopped = true
	if n.cur != nil {
		_ = n.cur.Process.Kill()
	}
}

// owEnv is the environment entry __OW_<UPPER(key)> for a run field; strings
// are unquoted, other JSON values kept as written.
func owEnv(key string, v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) != nil {
		s = string(v)
	}
	b := make([]byte, 0, 5+len(key)+1+len(s))
	b = append(b, "__OW_"...)
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	b = append(b, '=')
	b = append(b, s...)
	return string(b)
}

// lastLine passes every line written to it on to w except the last one,
// which finish returns. Trailing blank lines do not count.
type lastLine struct {
	w   io.Writer
	buf []byte // what has not been passed on: the last complete line and after
}

func (l *lastLine) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	last := bytes.LastIndexByte(l.buf, '\n')
	if last <= 0 {
		return len(p), nil
	}
	// Keep the last complete line (and any partial one after it).
	if prev := bytes.LastIndexByte(l.buf[:last], '\n'); prev >= 0 {
		l.flush(prev + 1)
	}
	if len(l.buf) > maxResultLine {
		l.flush(len(l.buf)) // too long to be a result: it is logs
	}
	return len(p), nil
}

// flush passes buf[:n] on and keeps the rest.
func (l *lastLine) flush(n int) {
	_, _ = l.w.Write(l.buf[:n])
	l.buf = append(l.buf[:0], l.buf[n:]...)
}

// finish passes on all but the last non-blank line and returns that line.
func (l *lastLine) finish() []byte {
	b := bytes.TrimRight(l.buf, " \t\r\n")
	nl := bytes.LastIndexByte(b, '\n')
	if nl >= 0 {
		_, _ = l.w.Write(b[:nl+1])
	}
	return bytes.TrimSpace(b[nl+1:])
}
