package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The plots are small hand-written SVG documents: a frame, ticks, one
// polyline per series (or bars), a legend. No plotting dependency.

// palette is a colour-blind friendly set (Okabe-Ito).
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"}

type series struct {
	name   string
	xs, ys []float64
}

type bar struct{ x0, x1, y float64 }

type vline struct {
	x     float64
	label string
}

type axis struct {
	label    string
	log      bool
	min, max float64
	format   func(float64) string
}

type chart struct {
	title string
	// legendLow puts the legend in the lower right corner (for curves
	// that end high on the right, as CDFs do).
	legendLow bool
	x, y      axis
	series    []series
	bars      []bar
	vlines    []vline
}

const (
	svgW, svgH                         = 800, 460
	padLeft, padRight, padTop, padBott = 72, 24, 40, 56
)

// svg renders the chart.
func (c *chart) svg() []byte {
	c.fitAxes()
	var b bytes.Buffer
	pw, ph := float64(svgW-padLeft-padRight), float64(svgH-padTop-padBott)
	px := func(x float64) float64 { return padLeft + pw*c.x.frac(x) }
	py := func(y float64) float64 { return padTop + ph*(1-c.y.frac(y)) }

	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgW, svgH)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", padLeft, esc(c.title))
	// Grid and ticks.
	for _, t := range c.x.ticks() {
		x := px(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", x, padTop, x, padTop+ph)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, padTop+ph+16, esc(c.x.format(t)))
	}
	for _, t := range c.y.ticks() {
		y := py(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", padLeft, y, padLeft+pw, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padLeft-6, y+4, esc(c.y.format(t)))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`+"\n", padLeft, padTop, pw, ph)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", padLeft+pw/2, svgH-14, esc(c.x.label))
	fmt.Fprintf(&b, `<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", padTop+ph/2, esc(c.y.label))
	// Bars.
	if len(c.bars) > 0 {
		fmt.Fprintf(&b, `<g class="bars" fill="%s" fill-opacity="0.75">`+"\n", palette[0])
		for _, r := range c.bars {
			if r.y <= 0 {
				continue
			}
			x0, x1, y := px(r.x0), px(r.x1), py(r.y)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`+"\n", x0, y, math.Max(x1-x0-0.5, 0.5), padTop+ph-y)
		}
		fmt.Fprintln(&b, `</g>`)
	}
	// Series.
	for i, s := range c.series {
		color := palette[i%len(palette)]
		var pts strings.Builder
		for j := range s.xs {
			if c.x.log && s.xs[j] <= 0 || c.y.log && s.ys[j] <= 0 {
				continue
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", px(s.xs[j]), py(s.ys[j]))
		}
		fmt.Fprintf(&b, `<polyline class="series" data-name="%s" fill="none" stroke="%s" stroke-width="1.8" points="%s"/>`+"\n",
			esc(s.name), color, strings.TrimSpace(pts.String()))
	}
	// Markers.
	for _, v := range c.vlines {
		if v.x < c.x.min || v.x > c.x.max {
			continue
		}
		x := px(v.x)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#555" stroke-dasharray="4 3"/>`+"\n", x, padTop, x, padTop+ph)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" fill="#333">%s</text>`+"\n", x+3, padTop+12, esc(v.label))
	}
	// Legend.
	if len(c.series) > 1 || (len(c.series) == 1 && c.series[0].name != "") {
		y := padTop + 8
		if c.legendLow {
			y = padTop + int(ph) - 16*len(c.series) - 8
		}
		lx := padLeft + int(pw) - 220
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="212" height="%d" fill="white" fill-opacity="0.85" stroke="#ccc"/>`+"\n", lx-6, y-4, 16*len(c.series)+8)
		for i, s := range c.series {
			ly := y + 16*i
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", lx, ly+8, lx+18, ly+8, palette[i%len(palette)])
			fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", lx+24, ly+12, esc(s.name))
		}
	}
	fmt.Fprintln(&b, `</svg>`)
	return b.Bytes()
}

// fitAxes sets unset axis ranges from the data.
func (c *chart) fitAxes() {
	xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	see := func(x, y float64) {
		if !(c.x.log && x <= 0) {
			xlo, xhi = math.Min(xlo, x), math.Max(xhi, x)
		}
		if !(c.y.log && y <= 0) {
			ylo, yhi = math.Min(ylo, y), math.Max(yhi, y)
		}
	}
	for _, s := range c.series {
		for i := range s.xs {
			see(s.xs[i], s.ys[i])
		}
	}
	for _, r := range c.bars {
		see(r.x0, 0)
		see(r.x1, r.y)
	}
	for _, v := range c.vlines {
		if !(c.x.log && v.x <= 0) {
			xlo, xhi = math.Min(xlo, v.x), math.Max(xhi, v.x)
		}
	}
	fit := func(a *axis, lo, hi float64) {
		if a.min != 0 || a.max != 0 {
			return
		}
		if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
			lo, hi = 0, 1
			if a.log {
				lo, hi = 1, 10
			}
		}
		if a.log {
			a.min = math.Pow(10, math.Floor(math.Log10(lo)))
			a.max = math.Pow(10, math.Ceil(math.Log10(hi)))
			if a.max <= a.min {
				a.max = a.min * 10
			}
			return
		}
		lo = math.Min(lo, 0) // linear axes start at zero
		if hi <= lo {
			hi = lo + 1
		}
		step := niceStep((hi - lo) / 5)
		a.min, a.max = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	}
	fit(&c.x, xlo, xhi)
	fit(&c.y, ylo, yhi)
	if c.x.format == nil {
		c.x.format = fmtNum
	}
	if c.y.format == nil {
		c.y.format = fmtNum
	}
}

// frac maps v to [0,1] along the axis.
func (a *axis) frac(v float64) float64 {
	var f float64
	if a.log {
		f = (math.Log10(v) - math.Log10(a.min)) / (math.Log10(a.max) - math.Log10(a.min))
	} else {
		f = (v - a.min) / (a.max - a.min)
	}
	if math.IsNaN(f) {
		return 0
	}
	return math.Min(math.Max(f, 0), 1)
}

// ticks returns tick positions: 1-2-5 steps on linear axes, powers of ten
// (with 2 and 5 when the range is short) on log axes.
func (a *axis) ticks() []float64 {
	var out []float64
	if a.log {
		decades := math.Log10(a.max / a.min)
		for p := a.min; p <= a.max*1.0001; p *= 10 {
			out = append(out, p)
			if decades <= 3 {
				for _, m := range []float64{2, 5} {
					if p*m < a.max {
						out = append(out, p*m)
					}
				}
			}
		}
		return out
	}
	step := niceStep((a.max - a.min) / 5)
	for v := a.min; v <= a.max+step/1000; v += step {
		out = append(out, v)
	}
	return out
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

func fmtNum(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return groupThousands(int64(v))
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func fmtMicros(us float64) string { return fmtDur(time.Duration(us * 1e3)) }

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// latencyChart is a scenario's latency histogram on a log axis, with its
// p50 and p99 marked.
func latencyChart(r *Result) *chart {
	c := &chart{
		title: fmt.Sprintf("%s: latency distribution (n=%s)", r.Name, fmtCount(r.Latency.N)),
		x:     axis{label: "latency (log scale)", log: true, format: fmtMicros},
		y:     axis{label: "requests"},
	}
	for _, b := range r.Histogram {
		c.bars = append(c.bars, bar{x0: us(b.Lo), x1: us(b.Hi), y: float64(b.Count)})
	}
	if r.Latency.N > 0 {
		c.vlines = append(c.vlines,
			vline{x: us(r.Latency.P50), label: "p50 " + fmtDur(r.Latency.P50)},
			vline{x: us(r.Latency.P99), label: "p99 " + fmtDur(r.Latency.P99)})
	}
	return c
}

// throughputChart is the successful (and failed) requests per second over
// the results' measured phases.
func throughputChart(title string, rs []*Result, withErrors bool) *chart {
	c := &chart{
		title: title,
		x:     axis{label: "time (s)"},
		y:     axis{label: "requests per second"},
	}
	for _, r := range rs {
		if r.Timeline == nil || len(r.Timeline.OK) == 0 {
			continue
		}
		step := r.Timeline.Interval.Seconds()
		s := series{name: r.Name + " ok/s"}
		for i, v := range r.Timeline.Rates() {
			s.xs = append(s.xs, step*float64(i+1))
			s.ys = append(s.ys, v)
		}
		c.series = append(c.series, s)
		if withErrors && r.Errors > 0 && len(r.Timeline.Errors) > 0 {
			e := series{name: r.Name + " errors/s"}
			for i, v := range r.Timeline.Errors {
				e.xs = append(e.xs, step*float64(i+1))
				e.ys = append(e.ys, float64(v)/step)
			}
			c.series = append(c.series, e)
		}
	}
	return c
}

// cdfChart puts every scenario's latency CDF on one log axis, with the
// invocation floor marked.
func cdfChart(rep *Report) *chart {
	c := &chart{
		title:     "latency CDF per scenario",
		legendLow: true,
		x:         axis{label: "latency (log scale)", log: true, format: fmtMicros},
		y:         axis{label: "fraction of requests", min: 0, max: 1, format: func(v float64) string { return strconv.FormatFloat(v*100, 'f', 0, 64) + "%" }},
	}
	for i := range rep.Scenarios {
		r := &rep.Scenarios[i]
		if len(r.CDF) == 0 {
			continue
		}
		s := series{name: r.Name}
		for _, p := range r.CDF {
			s.xs = append(s.xs, us(p.Latency))
			s.ys = append(s.ys, p.Fraction)
		}
		c.series = append(c.series, s)
	}
	if f := rep.floor(floorInvoke); f != nil {
		c.vlines = append(c.vlines, vline{x: us(f.Latency.P50), label: "floor p50 " + fmtDur(f.Latency.P50)})
	}
	return c
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }

// WritePlots writes the SVG plots into dir and returns their paths.
func (rep *Report) WritePlots(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	write := func(name string, c *chart) error {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, c.svg(), 0o644); err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	}
	if err := write("latency-cdf.svg", cdfChart(rep)); err != nil {
		return paths, err
	}
	var timed []*Result
	for i := range rep.Scenarios {
		r := &rep.Scenarios[i]
		if r.Latency.N > 0 {
			if err := write(fileName(r.Name)+"-latency.svg", latencyChart(r)); err != nil {
				return paths, err
			}
		}
		if r.Timeline != nil && len(r.Timeline.OK) > 1 {
			timed = append(timed, r)
			if err := write(fileName(r.Name)+"-throughput.svg", throughputChart(r.Name+": throughput over time", []*Result{r}, true)); err != nil {
				return paths, err
			}
		}
	}
	if len(timed) > 0 {
		if err := write("throughput.svg", throughputChart("throughput over time, all scenarios", timed, false)); err != nil {
			return paths, err
		}
	}
	return paths, nil
}

// fileName makes a scenario name safe as a file name.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
