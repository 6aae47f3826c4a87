package bench

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// fmtDur formats a latency with 3 significant digits: 87.5µs, 312µs,
// 1.25ms, 12.5ms, 125ms, 1.25s. Zero is "-".
func fmtDur(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	v := float64(d) / 1e3 // µs
	units := []string{"µs", "ms", "s"}
	u := 0
	for {
		v = round3(v)
		if v < 1000 || u == len(units)-1 {
			break
		}
		v /= 1000
		u++
	}
	decimals := 0
	if v < 1000 {
		decimals = max(0, 2-int(math.Floor(math.Log10(v))))
	}
	return strconv.FormatFloat(v, 'f', decimals, 64) + units[u]
}

// round3 rounds v to 3 significant digits.
func round3(v float64) float64 {
	if v <= 0 {
		return v
	}
	p := math.Pow(10, 2-math.Floor(math.Log10(v)))
	return math.Round(v*p) / p
}

// fmtRate formats requests per second: 8,123/s; below 100/s with a decimal.
func fmtRate(r float64) string {
	switch {
	case r <= 0:
		return "-"
	case r < 100:
		return strconv.FormatFloat(r, 'f', 1, 64) + "/s"
	}
	return groupThousands(int64(r+0.5)) + "/s"
}

// fmtCount formats a count with thousands separators.
func fmtCount(n int) string { return groupThousands(int64(n)) }

func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// fmtRatio formats a ratio to the floor: 1.85x; "-" when unknown.
func fmtRatio(r float64) string {
	switch {
	case r <= 0:
		return "-"
	case r < 10:
		return strconv.FormatFloat(r, 'f', 2, 64) + "x"
	case r < 100:
		return strconv.FormatFloat(r, 'f', 1, 64) + "x"
	}
	return strconv.FormatFloat(r, 'f', 0, 64) + "x"
}

// fmtErrors formats an error count with its most frequent kind.
func fmtErrors(n int, kinds map[string]int) string {
	if n == 0 {
		return "0"
	}
	if len(kinds) == 0 {
		return fmtCount(n)
	}
	return fmtCount(n) + " (" + topKinds(kinds) + ")"
}

// topKinds lists error kinds, most frequent first.
func topKinds(kinds map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var list []kv
	for k, v := range kinds {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].v != list[j].v {
			return list[i].v > list[j].v
		}
		return list[i].k < list[j].k
	})
	var parts []string
	for _, e := range list {
		parts = append(parts, fmt.Sprintf("%s: %d", e.k, e.v))
	}
	return strings.Join(parts, ", ")
}

// row is a Result as the tables show it.
func row(r *Result) []string {
	return []string{
		r.Name, strconv.Itoa(r.Clients), fmtCount(r.OK),
		fmtDur(r.Latency.P50), fmtDur(r.Latency.P90), fmtDur(r.Latency.P99), fmtDur(r.Latency.Max),
		fmtRate(r.Throughput), fmtErrors(r.Errors, r.ErrorKinds), fmtCount(r.Cold),
		fmtRatio(r.P50Ratio), fmtRatio(r.P99Ratio),
	}
}

var rowHeader = []string{"scenario", "clients", "ok", "p50", "p90", "p99", "max", "rate", "errors", "cold", "p50/floor", "p99/floor"}

func floorRow(f *FloorPart) []string {
	if f.Error != "" {
		return []string{f.Name, strconv.Itoa(f.Clients), "-", "-", "-", "-", "-", "-", "not measured: " + f.Error}
	}
	return []string{
		f.Name, strconv.Itoa(f.Clients), fmtCount(f.Latency.N),
		fmtDur(f.Latency.P50), fmtDur(f.Latency.P90), fmtDur(f.Latency.P99), fmtDur(f.Latency.Max),
		fmtRate(f.Throughput), f.Description,
	}
}

var floorHeader = []string{"floor", "clients", "n", "p50", "p90", "p99", "max", "rate", "what"}

// WriteTables prints the report for a terminal.
func (rep *Report) WriteTables(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(cells []string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	fmt.Fprintf(tw, "gust bench  %s  commit %s  %s\n", rep.Date.UTC().Format("2006-01-02 15:04 MST"), rep.Commit, rep.Machine.String())
	fmt.Fprintf(tw, "target %s", rep.Target.APIHost)
	if rep.Target.Started {
		fmt.Fprintf(tw, " (started: %s %s; API up in %s, first invocation done in %s, stopped in %s)", rep.Target.Binary, strings.Join(rep.Target.Args, " "),
			fmtDur(rep.Target.StartTime), fmtDur(rep.Target.ReadyTime), fmtDur(rep.Target.StopTime))
	}
	fmt.Fprintln(tw)
	if len(rep.Floor) > 0 {
		fmt.Fprintln(tw)
		line(floorHeader)
		for i := range rep.Floor {
			line(floorRow(&rep.Floor[i]))
		}
	}
	if len(rep.Scenarios) > 0 {
		fmt.Fprintln(tw)
		line(rowHeader)
		for i := range rep.Scenarios {
			r := &rep.Scenarios[i]
			line(row(r))
			for j := range r.Parts {
				cells := row(&r.Parts[j])
				cells[0] = "  " + cells[0]
				line(cells)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rows := cpuRows(rep); len(rows) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		line = func(cells []string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
		line(cpuHeader)
		for _, r := range rows {
			line(r)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for i := range rep.Scenarios {
		for _, n := range rep.Scenarios[i].Notes {
			fmt.Fprintf(w, "note: %s: %s\n", rep.Scenarios[i].Name, n)
		}
	}
	if len(rep.Checks) > 0 {
		fmt.Fprintln(w)
		return writeChecks(w, rep.Checks)
	}
	return nil
}

// writeChecks prints the targets and their verdicts.
func writeChecks(w io.Writer, checks []Check) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\t\twant\tgot")
	for _, c := range checks {
		verdict := "PASS"
		if !c.Pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, verdict, c.Want, c.Got)
	}
	return tw.Flush()
}

var cpuHeader = []string{"cpu per answer", "client", "gust", "sandboxes", "total", "cores busy", "other processes"}

// cpuRows shows where the CPU went in each measured phase: per successful
// answer, in the load generator, the gust process and its sandboxes.
func cpuRows(rep *Report) [][]string {
	var rows [][]string
	for i := range rep.Scenarios {
		r := &rep.Scenarios[i]
		if r.CPU == nil || r.OK == 0 || r.Elapsed <= 0 {
			continue
		}
		per := func(d time.Duration) string { return fmtDur(d / time.Duration(r.OK)) }
		total := r.CPU.Client
		gust, sandboxes := "-", "-"
		if r.CPU.Server {
			total += r.CPU.Gust + r.CPU.Sandboxes
			gust, sandboxes = per(r.CPU.Gust), per(r.CPU.Sandboxes)
		}
		other := "-"
		if r.CPU.Server {
			other = strconv.FormatFloat(r.CPU.Other.Seconds()/r.Elapsed.Seconds(), 'f', 2, 64) + " cores"
		}
		rows = append(rows, []string{r.Name, per(r.CPU.Client), gust, sandboxes, per(total),
			strconv.FormatFloat(total.Seconds()/r.Elapsed.Seconds(), 'f', 2, 64), other})
	}
	return rows
}

// String is the machine in one line: "2 x AMD EPYC, Linux 6.1, go1.26".
func (m Machine) String() string {
	return fmt.Sprintf("%d x %s, %s %s, %s", m.NProc, m.CPU, m.OS, m.Kernel, m.Go)
}
