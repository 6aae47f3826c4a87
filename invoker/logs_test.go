package invoker

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/whisk"
)

var lineRE = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z) (stdout|stderr): (.*)$`)

func newTestCollector(t *testing.T, maxLine int) *logCollector {
	t.Helper()
	l, err := newLogCollector(maxLine)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.close(time.Second) })
	return l
}

func write(t *testing.T, l *logCollector, stream int, s string) {
	t.Helper()
	w := l.wOut
	if stream == stderr {
		w = l.wErr
	}
	if _, err := w.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func sentinels(t *testing.T, l *logCollector) {
	write(t, l, stdout, whisk.LogSentinel+"\n")
	write(t, l, stderr, whisk.LogSentinel+"\n")
}

// messages strips and checks the stamps.
func messages(t *testing.T, lines []string) []string {
	t.Helper()
	var out []string
	for _, ln := range lines {
		m := lineRE.FindStringSubmatch(ln)
		if m == nil {
			t.Fatalf("log line %q is not \"<RFC3339Nano> stdout|stderr: msg\"", ln)
		}
		if _, err := time.Parse(time.RFC3339Nano, m[1]); err != nil {
			t.Fatalf("stamp %q: %v", m[1], err)
		}
		out = append(out, m[3]+":"+m[4])
	}
	return out
}

func TestLogsSentinels(t *testing.T) {
	l := newTestCollector(t, 1024)
	l.begin(1 << 20)
	write(t, l, stdout, "hello\n")
	write(t, l, stderr, "oops\r\n")
	write(t, l, stdout, "glued"+whisk.LogSentinel+"\n") // output without a newline before the sentinel
	write(t, l, stderr, whisk.LogSentinel+"\n")
	l.promise()
	start := time.Now()
	got := messages(t, l.finish(time.Second, false))
	if time.Since(start) > 500*time.Millisecond {
		t.Fatalf("finish waited %v with both sentinels there", time.Since(start))
	}
	// The two streams are read apart: only each stream's order is kept.
	slices.Sort(got)
	want := []string{"stderr:oops", "stdout:glued", "stdout:hello"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("logs = %q, want %q", got, want)
	}

	// Output between activations is dropped; the next one starts clean.
	write(t, l, stdout, "background\n")
	time.Sleep(10 * time.Millisecond)
	l.begin(1 << 20)
	write(t, l, stdout, "second\n")
	sentinels(t, l)
	l.promise()
	if got := messages(t, l.finish(time.Second, false)); len(got) != 1 || got[0] != "stdout:second" {
		t.Fatalf("second activation logs = %q", got)
	}
}

func TestLogsLateSentinel(t *testing.T) {
	const wait = 30 * time.Millisecond
	l := newTestCollector(t, 1024)
	l.begin(1 << 20)
	write(t, l, stdout, "first\n")
	l.promise()
	start := time.Now()
	got := messages(t, l.finish(wait, false))
	if d := time.Since(start); d < wait || d > 20*wait+time.Second {
		t.Fatalf("finish without sentinels took %v, want about %v", d, wait)
	}
	if len(got) != 1 || got[0] != "stdout:first" {
		t.Fatalf("logs = %q", got)
	}
	// The next activation begins before the late sentinels arrive: they
	// must not end it early.
	l.begin(1 << 20)
	sentinels(t, l) // the first activation's, late
	write(t, l, stdout, "second\n")
	sentinels(t, l)
	l.promise()
	got = messages(t, l.finish(time.Second, false))
	if strings.Join(got, "|") != "stdout:second" {
		t.Fatalf("second activation logs = %q, want only its own line", got)
	}
}

func TestLogsRuntimeWithoutInitSentinel(t *testing.T) {
	const wait = 30 * time.Millisecond
	l := newTestCollector(t, 1024)
	l.begin(1 << 20)
	l.promise() // /init answered, but this runtime prints no sentinel for it
	write(t, l, stdout, "run\n")
	sentinels(t, l)
	l.promise()
	if got := messages(t, l.finish(wait, true)); strings.Join(got, "|") != "stdout:run" {
		t.Fatalf("logs = %q", got)
	}
	// Learned: the next activation does not wait.
	l.begin(1 << 20)
	write(t, l, stdout, "next\n")
	sentinels(t, l)
	l.promise()
	start := time.Now()
	got := messages(t, l.finish(time.Second, false))
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("finish waited %v: the missing init sentinel is still expected", d)
	}
	if strings.Join(got, "|") != "stdout:next" {
		t.Fatalf("logs = %q", got)
	}
}

func TestLogsInitSentinelCounted(t *testing.T) {
	// Gust's proxy prints sentinels after /init too: /init output belongs
	// to the first activation, and its sentinel does not end it.
	l := newTestCollector(t, 1024)
	l.begin(1 << 20)
	write(t, l, stdout, "loading\n")
	sentinels(t, l)
	l.promise()
	write(t, l, stderr, "running\n")
	l.promise()
	done := make(chan []string)
	go func() { done <- l.finish(2*time.Second, true) }()
	time.Sleep(20 * time.Millisecond)
	sentinels(t, l)
	got := messages(t, <-done)
	slices.Sort(got)
	if strings.Join(got, "|") != "stderr:running|stdout:loading" {
		t.Fatalf("logs = %q", got)
	}
}

func TestLogsTruncation(t *testing.T) {
	l := newTestCollector(t, 1024)
	const limit = 300
	l.begin(limit)
	for range 20 {
		write(t, l, stdout, strings.Repeat("x", 30)+"\n")
	}
	sentinels(t, l)
	l.promise()
	lines := l.finish(time.Second, false)
	total := 0
	for _, ln := range lines[:len(lines)-1] {
		total += len(ln) + 1
	}
	if total > limit || len(lines) < 3 {
		t.Fatalf("%d lines of %d bytes kept under a %d byte limit", len(lines)-1, total, limit)
	}
	last := lines[len(lines)-1]
	if !strings.HasSuffix(last, "stderr: Logs were truncated because the total bytes size exceeds the limit of 300 bytes.") {
		t.Fatalf("last line = %q, want the truncation notice", last)
	}

	// A zero limit keeps nothing but the notice.
	l.begin(0)
	write(t, l, stdout, "x\n")
	sentinels(t, l)
	l.promise()
	if lines := l.finish(time.Second, false); len(lines) != 1 || !strings.Contains(lines[0], "limit of 0 bytes") {
		t.Fatalf("logs with limit 0 = %q", lines)
	}
}

func TestLogsLongLinesSplit(t *testing.T) {
	l := newTestCollector(t, minLogLine)
	l.begin(1 << 20)
	long := strings.Repeat("0123456789abcdef", minLogLine/16)
	write(t, l, stdout, long+"XYZ\n")
	sentinels(t, l)
	l.promise()
	got := messages(t, l.finish(time.Second, false))
	if strings.Join(got, "|") != "stdout:"+long+"|stdout:XYZ" {
		t.Fatalf("logs = %q", got)
	}
}

func TestLogsSpamIsBounded(t *testing.T) {
	l := newTestCollector(t, 64<<10)
	const limit = 1 << 20
	l.begin(limit)
	// 64 MB of output: the readers must drain it (the writer would block
	// on a full pipe otherwise) and keep only the limit.
	chunk := []byte(strings.Repeat("spam ", 200) + "\n")
	done := make(chan error, 1)
	go func() {
		for written := 0; written < 64<<20; written += len(chunk) {
			if _, err := l.wOut.Write(chunk); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the spamming writer blocked")
	}
	sentinels(t, l)
	l.promise()
	lines := l.finish(time.Second, false)
	total := 0
	for _, ln := range lines {
		total += len(ln) + 1
	}
	if total > limit+200 {
		t.Fatalf("kept %d bytes of logs, limit %d", total, limit)
	}
	if !strings.Contains(lines[len(lines)-1], "Logs were truncated") {
		t.Fatalf("no truncation notice")
	}
}

func TestLogsEOFEndsWait(t *testing.T) {
	l, err := newLogCollector(1024)
	if err != nil {
		t.Fatal(err)
	}
	l.begin(1 << 20)
	write(t, l, stderr, "dying\n")
	l.promise()
	l.close(time.Second) // the sandbox was destroyed: both streams end
	start := time.Now()
	got := messages(t, l.finish(5*time.Second, false))
	if time.Since(start) > time.Second {
		t.Fatalf("finish waited for sentinels of a dead sandbox")
	}
	if strings.Join(got, "|") != "stderr:dying" {
		t.Fatalf("logs = %q", got)
	}
}

// TestLogsSettle: for a runtime run directly, settle takes whatever output
// is in the pipes at once, a last line without its newline included, and
// finish returns it without waiting for sentinels. Repeated with bursts of
// lines, so that the reader goroutine and settle race for the bytes: no line
// may be lost, doubled or attributed to the next activation.
func TestLogsSettle(t *testing.T) {
	l := newTestCollector(t, 256)
	for round := range 200 {
		l.begin(1 << 20)
		n := round%7 + 1
		var want []string
		for i := range n {
			msg := strings.Repeat("x", i*60) + "line" // some longer than 256: split
			write(t, l, stdout, msg+"\n")
			want = append(want, splitWant("stdout", msg, 256)...)
		}
		write(t, l, stderr, "partial")
		want = append(want, "stderr:partial")
		l.settle()
		start := time.Now()
		got := messages(t, l.finish(time.Second, false))
		if time.Since(start) > 100*time.Millisecond {
			t.Fatalf("round %d: finish waited %v after settle", round, time.Since(start))
		}
		slices.Sort(got)
		slices.Sort(want)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("round %d: logs = %q, want %q", round, got, want)
		}
	}
}

// splitWant is msg as the collector records it with lines split at max.
func splitWant(stream, msg string, max int) []string {
	var out []string
	for len(msg) > max {
		out = append(out, stream+":"+msg[:max])
		msg = msg[max:]
	}
	return append(out, stream+":"+msg)
}
