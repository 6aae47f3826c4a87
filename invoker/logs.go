package invoker

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gust-faas/gust/whisk"
	"golang.org/x/sys/unix"
)

const (
	stdout = 0
	stderr = 1
)

var streamNames = [2]string{" stdout: ", " stderr: "}

var sentinel = []byte(whisk.LogSentinel)

// logCollector reads a sandbox's stdout and stderr through two pipes, one
// reader goroutine per stream, for the sandbox's whole life. Lines are
// stamped "<RFC3339Nano UTC> stdout: msg" and kept only while an activation
// is collecting (begin .. finish); otherwise they are read and dropped, so a
// process printing without end never blocks on a full pipe nor grows the
// invoker's memory. A collecting activation keeps at most limit bytes of
// stamped lines; past it lines are dropped and the truncation notice ends
// the logs.
//
// The end of an activation's output is found with the log sentinels: Gust's
// runtime proxy prints whisk.LogSentinel on both streams after every /init
// and /run, before it answers (runtimes/protocol.go). The collector counts
// the sentinels it was promised (one per stream per answered /init or /run)
// and the ones it has read, so a sentinel that arrives after its activation
// stopped waiting is not mistaken for the next one's, and output of /init
// goes to the first activation's logs (as in OpenWhisk). Two corrections
// keep the count right with runtimes that differ: at begin, sentinels read
// beyond the promise are forgotten; and when the first activation of a
// sandbox ends waiting exactly one sentinel short on both streams, the
// runtime is taken not to print one after /init (OpenWhisk's own runtimes
// do not), and the promise is lowered.
//
// A run that went straight to the launcher (runtimes.Direct) has no
// sentinels: settle drains the pipes under the lock the readers consume
// them under, and then the run's output is all in.
type logCollector struct {
	rOut, rErr *os.File
	rc         [2]syscall.RawConn // of rOut and rErr, for settle
	wOut, wErr *os.File
	readers    sync.WaitGroup

	mu         sync.Mutex
	collecting bool
	limit      int // bytes; < 0 = collect nothing at all (concurrent sandboxes)
	size       int
	truncated  bool
	lines      []string
	issued     [2]int // sentinels promised: one per stream per answered /init or /run
	seen       [2]int // sentinels read
	eof        [2]bool
	progress   uint64 // bumped by every line and sentinel
	waiting    bool
	notify     chan struct{}
	pend       [2][]byte // per stream: a line not ended yet; cap is maxLine
}

// minLogLine keeps a sentinel from being split.
const minLogLine = 128

// newLogCollector makes the pipes and starts the readers; maxLine (at least
// minLogLine) splits longer lines. The caller gives writers() to the
// sandbox and calls close.
func newLogCollector(maxLine int) (*logCollector, error) {
	maxLine = max(maxLine, minLogLine)
	rOut, wOut, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	rErr, wErr, err := os.Pipe()
	if err != nil {
		rOut.Close()
		wOut.Close()
		return nil, err
	}
	l := &logCollector{rOut: rOut, rErr: rErr, wOut: wOut, wErr: wErr, notify: make(chan struct{}, 1)}
	for s, f := range [2]*os.File{rOut, rErr} {
		if l.rc[s], err = f.SyscallConn(); err != nil {
			for _, f := range []*os.File{rOut, wOut, rErr, wErr} {
				f.Close()
			}
			return nil, err
		}
	}
	for s := range l.pend {
		l.pend[s] = make([]byte, 0, maxLine)
	}
	l.readers.Add(2)
	go l.read(stdout, rOut)
	go l.read(stderr, rErr)
	return l, nil
}

// read is the reader goroutine of one stream; it ends at EOF (every write
// end closed) or when close closes the read end. It takes bytes out of the
// pipe only while holding l.mu (in RawConn.Read's callback, which the
// poller calls once the pipe is readable), so that settle, holding l.mu,
// knows that every byte no longer in the pipe has been handled.
func (l *logCollector) read(stream int, r *os.File) {
	defer l.readers.Done()
	rc, err := r.SyscallConn()
	if err == nil {
		err = rc.Read(func(fd uintptr) bool {
			l.mu.Lock()
			end := l.drainLocked(stream, int(fd))
			l.mu.Unlock()
			return end
		})
	}
	l.mu.Lock()
	l.eof[stream] = true
	l.flushLocked(stream)
	l.poke()
	l.mu.Unlock()
}

// drainLocked reads stream's pipe until it is empty (false) or has ended
// (true), handling each line. l.mu is held.
func (l *logCollector) drainLocked(stream int, fd int) (end bool) {
	buf := l.pend[stream]
	for {
		if len(buf) == cap(buf) {
			// A line as long as the buffer: handled in pieces.
			l.addLocked(stream, buf)
			buf = buf[:0]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			l.pend[stream] = buf
			return err != unix.EAGAIN
		}
		buf = buf[:len(buf)+n]
		rest := buf
		for {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				break
			}
			l.addLocked(stream, rest[:i+1])
			rest = rest[i+1:]
		}
		buf = buf[:copy(buf, rest)]
	}
}

// flushLocked handles a last line without its newline. l.mu is held.
func (l *logCollector) flushLocked(stream int) {
	if len(l.pend[stream]) > 0 {
		l.addLocked(stream, l.pend[stream])
		l.pend[stream] = l.pend[stream][:0]
	}
}

// settle handles, now, whatever output is in the pipes, for a runtime run
// directly: the launcher flushed the action's output before it answered,
// so after settle the activation's logs are complete, with no sentinel to
// write or wait for. Most runs log nothing: one poll of both pipes finds
// that, instead of a read of each. Control, not Read: the reader goroutines
// hold the read locks while they wait for the pipes.
func (l *logCollector) settle() {
	l.mu.Lock()
	_ = l.rc[stdout].Control(func(out uintptr) {
		_ = l.rc[stderr].Control(func(errs uintptr) {
			fds := [2]unix.PollFd{{Fd: int32(out), Events: unix.POLLIN}, {Fd: int32(errs), Events: unix.POLLIN}}
			if n, err := unix.Poll(fds[:], 0); err == nil && n == 0 {
				return
			}
			l.drainLocked(stdout, int(out))
			l.drainLocked(stderr, int(errs))
		})
	})
	l.flushLocked(stdout)
	l.flushLocked(stderr)
	l.mu.Unlock()
}

// addLocked handles one line (or a piece of an overlong one) of a stream.
// l.mu is held.
func (l *logCollector) addLocked(stream int, line []byte) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	isSentinel := bytes.HasSuffix(line, sentinel)
	if isSentinel {
		line = line[:len(line)-len(sentinel)]
	}
	if l.collecting && l.limit >= 0 && (len(line) > 0 || !isSentinel) {
		l.keep(stream, line)
	}
	if isSentinel {
		l.seen[stream]++
	}
	l.progress++
	l.poke()
}

// keep stores one stamped line, or marks the logs truncated. l.mu is held.
func (l *logCollector) keep(stream int, msg []byte) {
	if l.truncated {
		return
	}
	var ts [40]byte
	stamp := time.Now().UTC().AppendFormat(ts[:0], time.RFC3339Nano)
	n := len(stamp) + len(streamNames[stream]) + len(msg)
	if l.size+n+1 > l.limit {
		l.truncated = true
		return
	}
	l.size += n + 1
	var b strings.Builder
	b.Grow(n)
	b.Write(stamp)
	b.WriteString(streamNames[stream])
	b.Write(msg)
	l.lines = append(l.lines, b.String())
}

// poke wakes a waiting finish. l.mu is held.
func (l *logCollector) poke() {
	if l.waiting {
		select {
		case l.notify <- struct{}{}:
		default:
		}
	}
}

// begin starts collecting one activation's logs, at most limitBytes of
// them; limitBytes < 0 collects nothing (sandboxes running activations
// concurrently, whose output cannot be told apart).
func (l *logCollector) begin(limitBytes int) {
	l.mu.Lock()
	for s := range 2 {
		l.issued[s] = max(l.issued[s], l.seen[s])
	}
	l.collecting = true
	l.limit = limitBytes
	l.size = 0
	l.truncated = false
	l.lines = nil
	l.mu.Unlock()
}

// promise records that the runtime answered an /init or /run, so its
// sentinels are due.
func (l *logCollector) promise() {
	l.mu.Lock()
	l.issued[stdout]++
	l.issued[stderr]++
	l.mu.Unlock()
}

// complete reports whether every promised sentinel was read (or the
// stream ended). l.mu is held.
func (l *logCollector) complete() bool {
	for s := range 2 {
		if l.seen[s] < l.issued[s] && !l.eof[s] {
			return false
		}
	}
	return true
}

// finish waits for the promised sentinels, at most wait after the last
// output seen and 20*wait in all, then stops collecting and returns the
// lines (never nil), ending with the truncation notice if lines were
// dropped. afterInit says the activation began with /init.
func (l *logCollector) finish(wait time.Duration, afterInit bool) []string {
	l.mu.Lock()
	if !l.complete() && wait > 0 {
		l.waiting = true
		start := time.Now()
		hard := start.Add(20 * wait)
		deadline := start.Add(wait)
		last := l.progress
		l.mu.Unlock()
		t := time.NewTimer(wait)
		for {
			select {
			case <-l.notify:
			case <-t.C:
			}
			l.mu.Lock()
			if l.complete() {
				break
			}
			now := time.Now()
			if l.progress != last {
				last = l.progress
				deadline = now.Add(wait)
				if deadline.After(hard) {
					deadline = hard
				}
			}
			if !now.Before(deadline) {
				break
			}
			l.mu.Unlock()
			t.Reset(deadline.Sub(now))
		}
		t.Stop()
		if afterInit && !l.complete() && !l.eof[stdout] && !l.eof[stderr] &&
			l.seen[stdout] == l.issued[stdout]-1 && l.seen[stderr] == l.issued[stderr]-1 {
			// No sentinel after /init from this runtime: stop expecting it.
			l.issued[stdout]--
			l.issued[stderr]--
		}
		l.waiting = false
		select {
		case <-l.notify:
		default:
		}
	}
	lines, truncated, limit := l.lines, l.truncated, l.limit
	l.collecting, l.lines = false, nil
	l.mu.Unlock()
	if truncated {
		lines = append(lines, time.Now().UTC().Format(time.RFC3339Nano)+streamNames[stderr]+
			"Logs were truncated because the total bytes size exceeds the limit of "+strconv.Itoa(limit)+" bytes.")
	}
	if lines == nil {
		lines = []string{}
	}
	return lines
}

// writers are the ends the sandbox writes its stdout and stderr to.
func (l *logCollector) writers() (stdout, stderr *os.File) { return l.wOut, l.wErr }

// close ends the readers: it closes the invoker's write ends (the readers
// see EOF once the sandbox's processes are gone too), waits up to grace,
// then closes the read ends to stop readers held by a straggler. Call it
// after the sandbox is destroyed.
func (l *logCollector) close(grace time.Duration) {
	l.wOut.Close()
	l.wErr.Close()
	done := make(chan struct{})
	go func() { l.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		l.rOut.Close()
		l.rErr.Close()
		<-done
	}
	l.rOut.Close()
	l.rErr.Close()
}
