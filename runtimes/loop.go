package runtimes

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// maxResultLine bounds one line a launcher writes on fd 3.
const maxResultLine = 16 << 20

// runError is a developer error of one /run: the proxy answers it with 502
// {"error": msg} and no application-error marker.
type runError string

func (e runError) Error() string { return string(e) }

// loop is a long-lived launcher speaking the actionloop line protocol
// (protocol.go): runs go to its stdin, results come back on its fd 3.
//
// Goroutines: wait (reaps the process, closes done) and, in concurrent mode,
// dispatch (reads fd 3); both end when the process exits, and stop waits for
// them.
type loop struct {
	cmd   *exec.Cmd
	stdin *os.File      // write end of the launcher's stdin
	out   *os.File      // read end of the launcher's fd 3
	rd    *bufio.Reader // over out
	done  chan struct{} // closed when the process has exited
	werr  error         // cmd.Wait's result, set before done closes
	trust bool          // Gust's launcher: results are valid JSON
	once  sync.Once     // stop

	// Serialized mode: mu orders runs and guards broken.
	mu     sync.Mutex
	broken error // set once the launcher is unusable

	// Concurrent mode (nodejs with __OW_ALLOW_CONCURRENT).
	concurrent   bool
	wmu          sync.Mutex // orders writes to stdin
	pmu          sync.Mutex // guards next, pending, broken
	next         uint64
	pending      map[uint64]chan loopReply
	dispatchDone chan struct{}
}

type loopReply struct {
	res []byte
	err error
}

// startLoop starts path with args in dir with the environment env, its
// stdout and stderr being the proxy's. The launcher dies with the proxy
// (Pdeathsig) when pdeath is set; otherwise something else ends it (a
// sandbox's pid namespace, see EnvAdopt).
func startLoop(path string, args []string, dir string, env []string, pdeath bool) (*loop, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	cmd, err := startCmd(func() *exec.Cmd {
		cmd := exec.Command(path, args...)
		cmd.Dir = dir
		cmd.Env = env
		cmd.Stdin = inR
		cmd.Stdout = os.Stdout
		cmd.Stderr = os.Stderr
		cmd.ExtraFiles = []*os.File{outW}
		cmd.SysProcAttr = childAttr(pdeath)
		return cmd
	})
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, err
	}
	l := &loop{
		cmd:   cmd,
		stdin: inW,
		out:   outR,
		rd:    bufio.NewReaderSize(outR, 64<<10),
		done:  make(chan struct{}),
	}
	go func() {
		l.werr = cmd.Wait()
		close(l.done)
	}()
	return l, nil
}

// startCmd starts the command mk builds, retrying while the executable is
// busy: a file just written can be held open for a moment by a fork in
// another thread (ETXTBSY). A failed Cmd cannot be restarted, so mk builds a
// fresh one each time.
func startCmd(mk func() *exec.Cmd) (*exec.Cmd, error) {
	for i := 0; ; i++ {
		cmd := mk()
		err := cmd.Start()
		if err == nil {
			return cmd, nil
		}
		if !errors.Is(err, syscall.ETXTBSY) || i == 20 {
			return nil, err
		}
		time.Sleep(time.Duration(i+1) * time.Millisecond)
	}
}

// send writes msg as one line to the launcher's stdin.
func (l *loop) send(msg []byte) error {
	_, err := l.stdin.Write(msg)
	return err
}

// ack reads the launcher's acknowledgement: {"ok":true} or {"error":"…"}.
func (l *loop) ack() error {
	line, err := readLine(l.rd, nil)
	if err != nil {
		return errors.New("the action's process exited before it was ready (" + l.exitStatus() + ")")
	}
	var a struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(line, &a); err != nil {
		return fmt.Errorf("the action's process did not acknowledge its start: %q", truncate(line, 200))
	}
	if !a.OK {
		if a.Error == "" {
			a.Error = "the action's process failed to start"
		}
		return errors.New(a.Error)
	}
	return nil
}

// init sends the launcherInit message and waits for the acknowledgement.
// After it the loop serves runs, concurrently if li.Concurrent.
func (l *loop) init(li *launcherInit) error {
	msg, err := json.Marshal(li)
	if err != nil {
		return err
	}
	if err := l.send(append(msg, '\n')); err != nil {
		return errors.New("the action's process exited before it was ready (" + l.exitStatus() + ")")
	}
	if err := l.ack(); err != nil {
		return err
	}
	l.setConcurrent(li.Concurrent)
	return nil
}

// setConcurrent switches to the id-prefixed protocol and starts dispatch.
func (l *loop) setConcurrent(on bool) {
	if !on {
		return
	}
	l.concurrent = true
	l.pending = make(map[uint64]chan loopReply)
	l.dispatchDone = make(chan struct{})
	go l.dispatch()
}

// run sends one /run body (a JSON object, CR and LF already removed, with
// spare capacity for the newline) and returns the result line appended to
// dst.
func (l *loop) run(body, dst []byte) ([]byte, error) {
	if l.trust {
		var err error
		if body, err = splitRunBody(body); err != nil {
			return dst, runError("The request body is not a run request: " + err.Error())
		}
	}
	if l.concurrent {
		return l.runConcurrent(body)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken != nil {
		return dst, l.broken
	}
	if err := l.send(append(body, '\n')); err != nil {
		return dst, l.fail(err)
	}
	res, err := readLine(l.rd, dst)
	if err != nil {
		return dst, l.fail(err)
	}
	return res, nil
}

// splitRunBody turns a /run body (a JSON object, CR and LF removed) into the
// run line Gust's launchers read (protocol.go): its members but "value" as
// the context, a tab, the value ({} when absent), with room for a newline.
func splitRunBody(body []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	value := m["value"]
	if len(value) == 0 {
		value = json.RawMessage("{}")
	}
	delete(m, "value")
	ctx, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	line := make([]byte, 0, len(ctx)+len(value)+2)
	line = append(line, ctx...)
	line = append(line, '\t')
	return append(line, value...), nil
}

// handOver gives the launcher's protocol pipes away (their descriptors stay
// open until stop): runs fail with msgHandedOver from then on.
func (l *loop) handOver() ([]int, error) {
	if l.concurrent {
		return nil, errors.New("a concurrent launcher cannot be handed over")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken != nil {
		return nil, l.broken
	}
	in, err := rawFD(l.stdin)
	if err != nil {
		return nil, err
	}
	out, err := rawFD(l.out)
	if err != nil {
		return nil, err
	}
	l.broken = runError(msgHandedOver)
	return []int{in, out}, nil
}

// handedOver closes the proxy's ends of pipes that handOver's answer
// carried away: the kernel tells every epoll watching a pipe when it turns
// readable or writable, and the Go netpoller watches these, so each run
// the invoker made directly woke this idle process too (twice: the result
// on fd 3, then stdin drained). With 100 actions round robin that was an
// extra process woken per activation, with cold caches.
func (l *loop) handedOver() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stdin.Close()
	l.out.Close()
}

// takeBack undoes a handOver whose answer could not be sent.
func (l *loop) takeBack() {
	l.mu.Lock()
	if l.broken == runError(msgHandedOver) {
		l.broken = nil
	}
	l.mu.Unlock()
}

// rawFD is f's descriptor, left in its non-blocking mode (File.Fd would
// switch it to blocking for everyone sharing it).
func rawFD(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		return -1, err
	}
	return fd, nil
}

// fail marks the loop unusable after an I/O error and returns the developer
// error every later run gets. Called with mu held.
func (l *loop) fail(ioErr error) error {
	l.kill()
	l.broken = l.brokenError(ioErr)
	return l.broken
}

// brokenError is the developer error for a launcher that failed with ioErr
// and has been killed.
func (l *loop) brokenError(ioErr error) runError {
	if errors.Is(ioErr, errLineTooLong) {
		return runError(fmt.Sprintf("The action's result exceeds %d bytes.", maxResultLine))
	}
	return runError(msgAbnormalRun + " (" + l.exitStatus() + ")")
}

func (l *loop) trusted() bool { return l.trust }

func (l *loop) runConcurrent(body []byte) ([]byte, error) {
	ch := make(chan loopReply, 1)
	l.pmu.Lock()
	if l.broken != nil {
		err := l.broken
		l.pmu.Unlock()
		return nil, err
	}
	id := l.next
	l.next++
	l.pending[id] = ch
	l.pmu.Unlock()

	line := make([]byte, 0, len(body)+24)
	line = strconv.AppendUint(line, id, 10)
	line = append(line, ' ')
	line = append(line, body...)
	line = append(line, '\n')
	l.wmu.Lock()
	err := l.send(line)
	l.wmu.Unlock()
	if err != nil {
		// dispatch sees EOF soon and answers every pending run; ours too.
		l.kill()
	}
	r := <-ch
	return r.res, r.err
}

// dispatch reads "<id> <result>" lines and hands each to its run.
func (l *loop) dispatch() {
	defer close(l.dispatchDone)
	for {
		line, err := readLine(l.rd, nil)
		if err != nil {
			l.kill()
			broken := l.brokenError(err)
			l.pmu.Lock()
			l.broken = broken
			for id, ch := range l.pending {
				ch <- loopReply{err: l.broken}
				delete(l.pending, id)
			}
			l.pmu.Unlock()
			return
		}
		sp := 0
		for sp < len(line) && line[sp] != ' ' {
			sp++
		}
		id, perr := strconv.ParseUint(string(line[:sp]), 10, 64)
		if perr != nil || sp == len(line) {
			continue // not a reply line; ignore it rather than guess
		}
		l.pmu.Lock()
		ch, ok := l.pending[id]
		delete(l.pending, id)
		l.pmu.Unlock()
		if ok {
			ch <- loopReply{res: line[sp+1:]}
		}
	}
}

// kill ends the launcher; its exit unblocks every reader.
func (l *loop) kill() {
	_ = l.cmd.Process.Kill()
}

// exitStatus describes how the launcher ended, waiting briefly for it.
func (l *loop) exitStatus() string {
	select {
	case <-l.done:
	case <-time.After(time.Second):
		return "the process is not responding"
	}
	if l.werr == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(l.werr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by signal " + ws.Signal().String()
		}
	}
	return l.werr.Error()
}

// stop kills the launcher and waits for its goroutines.
func (l *loop) stop() {
	l.once.Do(func() {
		l.kill()
		<-l.done
		l.stdin.Close()
		if l.dispatchDone != nil {
			<-l.dispatchDone
		}
		l.out.Close()
	})
}

// errLineTooLong reports a launcher line longer than maxResultLine.
var errLineTooLong = errors.New("line too long")

// readLine reads one line from rd, without its newline, appended to dst. A
// final line without a newline is returned with io.EOF.
func readLine(rd *bufio.Reader, dst []byte) ([]byte, error) {
	for {
		frag, err := rd.ReadSlice('\n')
		if err == nil {
			return append(dst, frag[:len(frag)-1]...), nil
		}
		dst = append(dst, frag...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return dst, err
		}
		if len(dst) > maxResultLine {
			return dst, errLineTooLong
		}
	}
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
