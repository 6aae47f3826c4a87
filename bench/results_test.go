package bench

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRecordResultsNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "RESULTS.md")
	rep := sampleReport()
	if err := RecordResults(path, rep); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	id := runID(rep)
	for _, want := range []string{
		"# Gust benchmark results",
		"| warm | 1 | 1,000 | 799µs |",             // the same numbers the tables print
		"| many / first calls | 8 | 100 |",         // parts follow their scenario
		"| " + id + " | http | 1 | 1,000 | 80.0µs", // the run's floor
		"- `" + id + "`: 2025-11-21 23:40 UTC, commit `c5c77a6abcde+dirty`, 2 x AMD EPYC, linux 6.18.44-fc, go1.26.8; `gust bench --duration 5s`",
		"warm p99 PASS (1.29ms; want <= 2.00ms)",
		"(started `gust up`)", // without ports and temporary directories
		"notes: many: created 100 actions in 1.2s",
		"| 2025-11-21 23:40 | c5c77a6abcde+dirty | 2 x AMD EPYC",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("RESULTS.md lacks %q:\n%s", want, out)
		}
	}
}

func TestRecordResultsUpdate(t *testing.T) {
	first := sampleReport()
	old, err := updateResults(nil, first)
	if err != nil {
		t.Fatal(err)
	}
	// Hand-written text outside the markers survives.
	text := strings.Replace(string(old), "## History", "Some notes by hand.\n\n## History", 1)

	// A later run of only the warm scenario.
	second := sampleReport()
	second.Date = first.Date.Add(24 * time.Hour)
	second.Commit = "0123456789ab"
	w := sampleResult("warm", 1, 100*time.Microsecond, 1000)
	second.Scenarios = []Result{w}
	second.check(8)
	out, err := updateResults([]byte(text), second)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	id1, id2 := runID(first), runID(second)
	rows := parseTable(between(s, latestBegin, latestEnd), "scenario")
	got := map[string]string{}
	var order []string
	for _, r := range rows {
		got[r[0]] = r[len(r)-1]
		order = append(order, r[0])
	}
	want := map[string]string{"warm": id2, "throughput-c8": id1, "throughput-c32": id1, "many": id1, "many / first calls": id1}
	if len(got) != len(want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("row %q from run %q, want %q", k, got[k], v)
		}
	}
	if order[0] != "warm" {
		t.Errorf("warm moved: rows in order %v", order)
	}
	if !strings.Contains(s, "| 599µs |") {
		t.Errorf("new warm numbers missing:\n%s", s)
	}
	if !strings.Contains(s, "Some notes by hand.") {
		t.Error("hand-written text lost")
	}
	if strings.Count(s, "- `r") != 2 {
		t.Errorf("want both runs listed:\n%s", s)
	}
	if hist := parseTable(between(s, historyBegin, historyEnd), "date"); len(hist) != 2 {
		t.Errorf("history has %d rows, want 2", len(hist))
	}

	// A third run replacing everything drops the first run's lines.
	third := sampleReport()
	third.Date = second.Date.Add(time.Hour)
	out, err = updateResults(out, third)
	if err != nil {
		t.Fatal(err)
	}
	s = string(out)
	latest := between(s, latestBegin, latestEnd)
	if strings.Contains(latest, id1) || strings.Contains(latest, id2) {
		t.Errorf("runs no row refers to are still listed:\n%s", latest)
	}
	if hist := parseTable(between(s, historyBegin, historyEnd), "date"); len(hist) != 3 {
		t.Errorf("history has %d rows, want 3", len(hist))
	}
	// Idempotent shape: the markers are still there exactly once.
	if strings.Count(s, latestBegin) != 1 || strings.Count(s, historyEnd) != 1 {
		t.Error("markers duplicated")
	}
}

func TestRecordResultsHistoryIsShort(t *testing.T) {
	var out []byte
	rep := sampleReport()
	for i := 0; i < historyLength+5; i++ {
		rep.Date = rep.Date.Add(time.Minute)
		var err error
		if out, err = updateResults(out, rep); err != nil {
			t.Fatal(err)
		}
	}
	if hist := parseTable(between(string(out), historyBegin, historyEnd), "date"); len(hist) != historyLength {
		t.Errorf("history has %d rows, want %d", len(hist), historyLength)
	}
}

func TestRecordResultsMalformed(t *testing.T) {
	for _, text := range []string{
		"# results\nno markers\n",
		latestEnd + "\n" + latestBegin + "\n" + historyBegin + "\n" + historyEnd,
		latestBegin + latestEnd + latestBegin + latestEnd + historyBegin + historyEnd,
		latestBegin + latestEnd + "\n(no history)\n",
	} {
		if _, err := updateResults([]byte(text), sampleReport()); !errors.Is(err, ErrResultsFile) {
			t.Errorf("updateResults(%q) error = %v, want ErrResultsFile", text, err)
		}
	}
}

func between(s, begin, end string) string {
	_, in, _, _ := cut(s, begin, end)
	return in
}
