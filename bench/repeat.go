package bench

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"
)

// Spread is one target over the runs of `--repeat`: how often it passed,
// and the least, median and largest of its number. One run's verdict on a
// shared machine is a sample; a target is met when it passes run after run.
type Spread struct {
	Name   string  `json:"name"`
	Runs   int     `json:"runs"` // runs that judged it
	Passed int     `json:"passed"`
	Unit   string  `json:"unit,omitempty"` // as Check.Unit; empty: no numbers
	Min    float64 `json:"min,omitempty"`
	Median float64 `json:"median,omitempty"`
	Max    float64 `json:"max,omitempty"`
}

// spreads sums the checks of reps up per target, in the order they were
// first judged. A target's numbers are kept only when every run gave one in
// the same unit.
func spreads(reps []*Report) []Spread {
	var out []Spread
	values := map[string][]float64{}
	index := map[string]int{}
	for _, rep := range reps {
		for _, c := range rep.Checks {
			i, ok := index[c.Name]
			if !ok {
				i = len(out)
				index[c.Name] = i
				out = append(out, Spread{Name: c.Name, Unit: c.Unit})
			}
			s := &out[i]
			s.Runs++
			if c.Pass {
				s.Passed++
			}
			if c.Unit == "" || c.Unit != s.Unit {
				s.Unit = ""
				continue
			}
			values[c.Name] = append(values[c.Name], c.Value)
		}
	}
	for i := range out {
		s := &out[i]
		v := values[s.Name]
		if s.Unit == "" || len(v) != s.Runs {
			s.Unit = ""
			continue
		}
		sort.Float64s(v)
		s.Min, s.Max = v[0], v[len(v)-1]
		s.Median = v[len(v)/2]
		if len(v)%2 == 0 {
			s.Median = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
	}
	return out
}

// runsOf is the number of runs the spreads sum up.
func runsOf(ss []Spread) int {
	n := 0
	for _, s := range ss {
		n = max(n, s.Runs)
	}
	return n
}

// fmtMeasure formats a check's number in its unit.
func fmtMeasure(v float64, unit string) string {
	switch unit {
	case unitRatio:
		return fmt.Sprintf("%.2fx", v)
	case unitPercent:
		return fmt.Sprintf("%.0f%%", v)
	case unitRate:
		return fmtRate(v)
	case unitDuration:
		return fmtDur(time.Duration(v))
	}
	return fmt.Sprint(v)
}

// verdict is "20 of 20 passed".
func (s Spread) verdict() string { return fmt.Sprintf("%d of %d passed", s.Passed, s.Runs) }

// numbers is "median 56%, 53% to 61%", or "" without numbers.
func (s Spread) numbers() string {
	if s.Unit == "" {
		return ""
	}
	return fmt.Sprintf("median %s, %s to %s", fmtMeasure(s.Median, s.Unit), fmtMeasure(s.Min, s.Unit), fmtMeasure(s.Max, s.Unit))
}

// String is the spread in one line, as bench/RESULTS.md records it.
func (s Spread) String() string {
	if n := s.numbers(); n != "" {
		return fmt.Sprintf("%s: %s; %s", s.Name, s.verdict(), n)
	}
	return s.Name + ": " + s.verdict()
}

// writeSpreads prints the targets over the runs as a table.
func writeSpreads(w io.Writer, ss []Spread) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "target over %d runs\tpassed\tmedian\tleast\tmost\n", runsOf(ss))
	for _, s := range ss {
		med, lo, hi := "-", "-", "-"
		if s.Unit != "" {
			med, lo, hi = fmtMeasure(s.Median, s.Unit), fmtMeasure(s.Min, s.Unit), fmtMeasure(s.Max, s.Unit)
		}
		fmt.Fprintf(tw, "%s\t%d of %d\t%s\t%s\t%s\n", s.Name, s.Passed, s.Runs, med, lo, hi)
	}
	return tw.Flush()
}
