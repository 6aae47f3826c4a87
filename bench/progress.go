package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress shows what the benchmark is doing on stderr: a bar redrawn in
// place on a terminal, plain lines every few seconds otherwise. Its
// goroutine is owned by the progress value: Close stops and waits for it.
type progress struct {
	w     io.Writer
	tty   bool
	quiet bool
	every time.Duration

	mu       sync.Mutex
	scenario string
	phase    string
	total    time.Duration
	since    time.Time
	c        counter
	lastN    int64
	lastT    time.Time
	rate     float64
	drawn    bool // a bar is on screen (tty)

	stop chan struct{}
	done chan struct{}
}

// newProgress starts the display; quiet prints nothing.
func newProgress(w io.Writer, tty, quiet bool) *progress {
	p := &progress{w: w, tty: tty, quiet: quiet, every: 2 * time.Second, stop: make(chan struct{}), done: make(chan struct{})}
	if tty {
		p.every = 100 * time.Millisecond
	}
	if quiet {
		close(p.done)
		return p
	}
	go p.run()
	return p
}

func (p *progress) run() {
	defer close(p.done)
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			p.mu.Lock()
			p.clear()
			p.mu.Unlock()
			return
		case <-t.C:
			p.mu.Lock()
			p.draw()
			p.mu.Unlock()
		}
	}
}

// Close stops the display.
func (p *progress) Close() {
	if !p.quiet {
		select {
		case <-p.stop:
		default:
			close(p.stop)
		}
	}
	<-p.done
}

// Scenario starts a scenario; what it does is told by Phase and Step.
func (p *progress) Scenario(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scenario, p.phase, p.total, p.c = name, "", 0, nil
}

// Phase is a timed load phase of the current scenario; c, if set, counts
// its answers.
func (p *progress) Phase(name string, d time.Duration, c counter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.phase, p.total, p.since, p.c, p.lastN, p.lastT, p.rate = name, d, now, c, 0, now, 0
	if !p.tty && !p.quiet {
		p.clear()
		fmt.Fprintf(p.w, "bench: %s: %s for %s\n", p.scenario, name, d)
	}
}

// Step is an untimed step (creating actions, waiting for records).
func (p *progress) Step(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.total, p.c = msg, 0, nil
	p.since = time.Now()
	if !p.tty && !p.quiet {
		fmt.Fprintf(p.w, "bench: %s: %s\n", p.scenario, msg)
	}
}

// Logf prints a line, keeping the bar below it.
func (p *progress) Logf(format string, args ...any) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	fmt.Fprintf(p.w, "bench: "+format+"\n", args...)
	p.draw()
}

// Above writes text to w, the report's stream, with the bar cleared first
// and drawn again below it.
func (p *progress) Above(w io.Writer, text string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	_, err := io.WriteString(w, text)
	p.draw()
	return err
}

// clear removes the bar (tty). Callers hold mu.
func (p *progress) clear() {
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

// draw renders the current state. Callers hold mu.
func (p *progress) draw() {
	if p.quiet || p.scenario == "" {
		return
	}
	now := time.Now()
	el := now.Sub(p.since)
	var n, errs int64
	if p.c != nil {
		n, errs = p.c.counts()
		if dt := now.Sub(p.lastT); dt >= time.Second || (p.rate == 0 && dt >= 200*time.Millisecond) {
			p.rate = float64(n-p.lastN) / dt.Seconds()
			p.lastN, p.lastT = n, now
		}
	}
	if !p.tty {
		if p.c != nil && el >= p.every {
			fmt.Fprintf(p.w, "bench: %s: %s %s/%s: %d answers, %d errors, %s\n",
				p.scenario, p.phase, el.Truncate(100*time.Millisecond), p.total, n, errs, fmtRate(p.rate))
		}
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\r\033[K%-16s %-10s ", p.scenario, p.phase)
	if p.total > 0 {
		const width = 24
		f := min(float64(el)/float64(p.total), 1)
		full := int(f * width)
		b.WriteString(strings.Repeat("█", full) + strings.Repeat("░", width-full))
		fmt.Fprintf(&b, " %4.1fs/%.0fs", min(el, p.total).Seconds(), p.total.Seconds())
	} else {
		fmt.Fprintf(&b, "%4.1fs", el.Seconds())
	}
	if p.c != nil {
		fmt.Fprintf(&b, "  %s ok  %s err  %s", fmtCount(int(n-errs)), fmtCount(int(errs)), fmtRate(p.rate))
	}
	io.WriteString(p.w, b.String())
	p.drawn = true
}
