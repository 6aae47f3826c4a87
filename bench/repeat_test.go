package bench

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func TestSpreads(t *testing.T) {
	run := func(checks ...Check) *Report { return &Report{Checks: checks} }
	many := func(pct float64) Check {
		return Check{Name: "many", Pass: pct >= 50, Value: pct, Unit: unitPercent}
	}
	lost := Check{Name: "lost", Pass: true}
	p99 := func(d time.Duration, unit string) Check {
		return Check{Name: "p99", Pass: true, Value: float64(d), Unit: unit}
	}
	reps := []*Report{
		run(many(56), lost, p99(time.Millisecond, unitDuration)),
		run(many(48), p99(2*time.Millisecond, unitDuration)),
		run(many(60), lost, p99(3*time.Millisecond, unitRate)),
		run(many(58), lost),
	}
	got := spreads(reps)
	if len(got) != 3 {
		t.Fatalf("%d spreads, want 3: %+v", len(got), got)
	}
	m, l, p := got[0], got[1], got[2]
	if m.Name != "many" || m.Runs != 4 || m.Passed != 3 || m.Min != 48 || m.Max != 60 || m.Median != 57 || m.Unit != unitPercent {
		t.Errorf("many: %+v", m)
	}
	if s := m.String(); s != "many: 3 of 4 passed; median 57%, 48% to 60%" {
		t.Errorf("many: %q", s)
	}
	if l.Name != "lost" || l.Runs != 3 || l.Passed != 3 || l.Unit != "" {
		t.Errorf("lost: %+v", l)
	}
	if s := l.String(); s != "lost: 3 of 3 passed" {
		t.Errorf("lost: %q", s)
	}
	// A unit that changes between runs leaves no numbers to compare.
	if p.Runs != 3 || p.Unit != "" || p.Min != 0 {
		t.Errorf("p99: %+v", p)
	}
	var b bytes.Buffer
	if err := writeSpreads(&b, got); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "target over 4 runs") || !strings.Contains(out, "3 of 4") {
		t.Errorf("table:\n%s", out)
	}
	rep := run(many(57))
	rep.Repeats = got
	if line := runLine(rep); !strings.Contains(line, "; over 4 runs: many: 3 of 4 passed;") {
		t.Errorf("RESULTS.md line: %s", line)
	}
}

func TestMedianOddCount(t *testing.T) {
	var reps []*Report
	for _, d := range []time.Duration{3, 1, 2} {
		reps = append(reps, &Report{Checks: []Check{{Name: "p", Pass: true, Value: float64(d * time.Millisecond), Unit: unitDuration}}})
	}
	s := spreads(reps)[0]
	if s.Median != float64(2*time.Millisecond) || s.numbers() != "median 2.00ms, 1.00ms to 3.00ms" {
		t.Errorf("%+v: %q", s, s.numbers())
	}
}

// TestRepeat runs the warm scenario twice, each against its own gust up,
// and checks that both runs' targets were printed and summed up.
func TestRepeat(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gust and starts gust up twice; skipped with -short")
	}
	if _, err := os.Stat("/usr/bin/node"); err != nil {
		t.Skip("needs /usr/bin/node")
	}
	gust := buildGust(t)
	cfg, err := ParseConfig([]string{
		"--gust", gust, "--sandbox", "process", "--scenario", "warm", "--repeat", "2",
		"--duration", "300ms", "--warmup", "100ms", "--floor-duration", "100ms",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prog := newProgress(io.Discard, false, true)
	defer prog.Close()
	var out bytes.Buffer
	rep, err := runRepeated(ctx, cfg, "gust bench (test)", prog, &out)
	if err != nil {
		t.Fatalf("runRepeated: %v", err)
	}
	if !strings.Contains(out.String(), "run 1 of 2") || strings.Contains(out.String(), "run 2 of 2") {
		t.Errorf("printed before the last run:\n%s", out.String())
	}
	if len(rep.Repeats) != 2 {
		t.Fatalf("repeats %+v, want the two warm targets", rep.Repeats)
	}
	for _, s := range rep.Repeats {
		if s.Runs != 2 || s.Unit == "" || s.Min <= 0 || s.Min > s.Median || s.Median > s.Max {
			t.Errorf("%+v", s)
		}
	}
	if p99 := rep.Repeats[1]; p99.Name != "warm p99" || p99.Max < rep.Checks[1].Value || p99.Min > rep.Checks[1].Value {
		t.Errorf("warm p99 spread %+v does not hold the last run's %v", p99, rep.Checks[1].Value)
	}
}
