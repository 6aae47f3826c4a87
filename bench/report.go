package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// ReportVersion is the version of the JSON report format.
const ReportVersion = 1

// Report is everything one run measured; --json writes it.
type Report struct {
	Tool      string      `json:"tool"`
	Version   int         `json:"version"`
	Date      time.Time   `json:"date"`
	Command   string      `json:"command"`
	Commit    string      `json:"commit"`
	Machine   Machine     `json:"machine"`
	Target    TargetInfo  `json:"target"`
	Floor     []FloorPart `json:"floor"`
	Scenarios []Result    `json:"scenarios"`
	Checks    []Check     `json:"checks"`
	// Repeats sums each target up over the runs of `--repeat`, this one
	// the last of them.
	Repeats []Spread `json:"repeats,omitempty"`
}

// Machine identifies where the numbers were measured.
type Machine struct {
	NProc  int    `json:"nproc"`
	CPU    string `json:"cpu"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	OS     string `json:"os"`
}

// TargetInfo is the API host under test.
type TargetInfo struct {
	APIHost string `json:"apihost"`
	// Started is true when the tool started `gust up` itself, with Args.
	Started bool     `json:"started"`
	Binary  string   `json:"binary,omitempty"`
	Args    []string `json:"args,omitempty"`
	// StartTime is from exec to the API answering; StopTime from SIGTERM
	// to exit (the invoker drains, then destroys its sandboxes).
	StartTime time.Duration `json:"start_ns,omitempty"`
	StopTime  time.Duration `json:"stop_ns,omitempty"`
	// ReadyTime is from exec to the first successful invocation.
	ReadyTime time.Duration `json:"ready_ns,omitempty"`
}

// FloorPart is one measured lower bound: a hop of the invocation path done
// alone, with nothing of Gust around it.
type FloorPart struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Clients     int     `json:"clients"`
	Latency     Summary `json:"latency"`
	Throughput  float64 `json:"throughput,omitempty"`
	// Error says why the part could not be measured.
	Error string `json:"error,omitempty"`
}

// Result is one scenario's outcome (or one part of it).
type Result struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Clients     int            `json:"clients"`
	Elapsed     time.Duration  `json:"elapsed_ns"`
	OK          int            `json:"ok"`
	Errors      int            `json:"errors"`
	ErrorKinds  map[string]int `json:"error_kinds,omitempty"`
	Throughput  float64        `json:"throughput"` // successful requests per second
	Latency     Summary        `json:"latency"`
	// Cold counts activations that ran /init (cold or prewarmed starts);
	// Starts breaks all of them down by the "start" annotation.
	Cold   int            `json:"cold"`
	Starts map[string]int `json:"starts,omitempty"`
	// Floor names the FloorPart the ratios compare with.
	Floor    string  `json:"floor,omitempty"`
	P50Ratio float64 `json:"p50_vs_floor,omitempty"`
	P99Ratio float64 `json:"p99_vs_floor,omitempty"`

	// CPU is what the measured phase cost in CPU time, where known.
	CPU       *CPUUse    `json:"cpu,omitempty"`
	Timeline  *Timeline  `json:"timeline,omitempty"`
	Histogram []Bin      `json:"histogram,omitempty"`
	CDF       []CDFPoint `json:"cdf,omitempty"`
	// Parts break the result down: per operation (mixed), first answers
	// (burst), creation and first calls (cold, many).
	Parts []Result `json:"parts,omitempty"`
	Notes []string `json:"notes,omitempty"`
	// Memory is the density scenario's measurement of its sandboxes.
	Memory *MemoryUse `json:"memory,omitempty"`
}

// Check is one of the performance targets the numbers are judged by.
type Check struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Pass bool   `json:"pass"`
	// Value is the number judged, in Unit: "x" (a ratio), "%", "/s" or
	// "ns"; no unit when the target is not one number.
	Value float64 `json:"value,omitempty"`
	Unit  string  `json:"unit,omitempty"`
}

// measure is a check's number and its unit (see Check.Value).
type measure struct {
	value float64
	unit  string
}

func ratioOf(x float64) measure          { return measure{x, unitRatio} }
func percentOf(frac float64) measure     { return measure{100 * frac, unitPercent} }
func rateOf(r float64) measure           { return measure{r, unitRate} }
func durationOf(d time.Duration) measure { return measure{float64(d), unitDuration} }

const (
	unitRatio    = "x"
	unitPercent  = "%"
	unitRate     = "/s"
	unitDuration = "ns"
)

// newResult builds a Result from one class of a load (or, with class < 0,
// from all classes merged), computing the distribution and plot data.
func newResult(name, desc string, clients int, lr *loadResult, class int) Result {
	var rec classRecord
	if class >= 0 {
		rec = lr.classes[class]
	} else {
		for i := range lr.classes {
			rec.merge(&lr.classes[i])
		}
	}
	r := resultFromSample(name, desc, clients, rec.lat, lr.elapsed)
	r.ErrorKinds = rec.errs
	for _, n := range rec.errs {
		r.Errors += n
	}
	r.Cold = rec.starts.Inits()
	if m := rec.starts.Map(); len(m) > 0 {
		r.Starts = m
	}
	if class < 0 || len(lr.classes) == 1 {
		tl := lr.timeline
		r.Timeline = &tl
		r.CPU = lr.cpu
	}
	return r
}

// resultFromSample builds a Result from successful latencies over elapsed.
func resultFromSample(name, desc string, clients int, lat []time.Duration, elapsed time.Duration) Result {
	r := Result{Name: name, Description: desc, Clients: clients, Elapsed: elapsed, OK: len(lat)}
	r.Latency = Summarize(lat) // sorts lat
	r.Histogram = Histogram(lat, 60)
	r.CDF = CDF(lat, 200)
	if elapsed > 0 {
		r.Throughput = float64(len(lat)) / elapsed.Seconds()
	}
	return r
}

// compare sets r's ratios to the floor part named floor, if it was measured.
func (r *Result) compare(floor string, parts []FloorPart) {
	for _, f := range parts {
		if f.Name == floor && f.Error == "" && f.Latency.P50 > 0 && r.Latency.N > 0 {
			r.Floor = floor
			r.P50Ratio = float64(r.Latency.P50) / float64(f.Latency.P50)
			r.P99Ratio = float64(r.Latency.P99) / float64(f.Latency.P99)
		}
	}
}

// find returns the scenario result or floor part named name.
func (rep *Report) find(name string) *Result {
	for i := range rep.Scenarios {
		if rep.Scenarios[i].Name == name {
			return &rep.Scenarios[i]
		}
	}
	return nil
}

func (rep *Report) floor(name string) *FloorPart {
	for i := range rep.Floor {
		if rep.Floor[i].Name == name && rep.Floor[i].Error == "" {
			return &rep.Floor[i]
		}
	}
	return nil
}

// noisyCores is how busy other processes may keep the machine during a
// measurement before the result says its numbers are disturbed.
const noisyCores = 0.25

// noteNoise marks results measured while other processes competed for
// the CPUs.
func (rep *Report) noteNoise() {
	for i := range rep.Scenarios {
		r := &rep.Scenarios[i]
		if r.CPU == nil || !r.CPU.Server || r.Elapsed <= 0 {
			continue
		}
		if cores := r.CPU.Other.Seconds() / r.Elapsed.Seconds(); cores > noisyCores {
			r.Notes = append(r.Notes, fmt.Sprintf("other processes kept %.2f cores busy during the measurement: the numbers are disturbed", cores))
		}
	}
}

// Targets of issue 5, checked when the scenarios they need ran.
const (
	targetWarmP50Ratio  = 2.0
	targetWarmP99       = 2 * time.Millisecond
	targetThroughput32  = 8000.0
	targetManyFraction  = 0.5
	targetLostAsyncZero = 0
	// Cold start of a new action, no stem cell (p50), per kind; a stem
	// cell's first result; a paused sandbox's result; the warm latency
	// next to the density scenario's paused sandboxes, vs before them.
	targetPrewarmP50       = 5 * time.Millisecond
	targetResumeP50        = 3 * time.Millisecond
	targetDensityWarmRatio = 1.25
)

// check evaluates the targets against the report's numbers.
func (rep *Report) check(manyClients int) {
	rep.Checks = nil
	add := func(name, want, got string, pass bool, m measure) {
		rep.Checks = append(rep.Checks, Check{Name: name, Want: want, Got: got, Pass: pass, Value: m.value, Unit: m.unit})
	}
	if w := rep.find("warm"); w != nil && w.Latency.N > 0 {
		if f := rep.floor(floorInvoke); f != nil {
			ratio := float64(w.Latency.P50) / float64(f.Latency.P50)
			add("warm p50 vs floor", fmt.Sprintf("<= %.0fx floor p50 (%s)", targetWarmP50Ratio, fmtDur(f.Latency.P50)),
				fmt.Sprintf("%s = %.2fx", fmtDur(w.Latency.P50), ratio), ratio <= targetWarmP50Ratio, ratioOf(ratio))
		}
		add("warm p99", "<= "+fmtDur(targetWarmP99), fmtDur(w.Latency.P99), w.Latency.P99 <= targetWarmP99, durationOf(w.Latency.P99))
	}
	if t := rep.find("throughput-c32"); t != nil {
		add("throughput, 32 clients", ">= "+fmtRate(targetThroughput32), fmtRate(t.Throughput), t.Throughput >= targetThroughput32, rateOf(t.Throughput))
	}
	if m := rep.find("many"); m != nil {
		// Measured side by side when the many scenario could; else
		// against the throughput scenario of the same client count.
		apart := rep.find(fmt.Sprintf("throughput-c%d", manyClients))
		many, one, how, also := m, apart, "", ""
		if im, io := m.part(partInterleavedMany), m.part(partInterleavedOne); im != nil && io != nil {
			many, one, how = im, io, ", interleaved"
			if apart != nil && apart.Throughput > 0 {
				also = fmt.Sprintf(" (measured apart: %s = %.0f%% of %s)", fmtRate(m.Throughput), 100*m.Throughput/apart.Throughput, fmtRate(apart.Throughput))
			}
		}
		if one != nil && one.Throughput > 0 {
			frac := many.Throughput / one.Throughput
			add(fmt.Sprintf("many actions vs one (%d clients%s)", manyClients, how),
				fmt.Sprintf(">= %.0f%% of %s", targetManyFraction*100, fmtRate(one.Throughput)),
				fmt.Sprintf("%s = %.0f%%%s", fmtRate(many.Throughput), frac*100, also), frac >= targetManyFraction, percentOf(frac))
		}
	}
	for _, kind := range []string{whisk.KindPython, whisk.KindNode} {
		c := rep.find(floorCold(kind))
		if c == nil || c.Latency.N == 0 {
			continue
		}
		want := targetColdP50[kind]
		add(c.Name+" p50 (no stem cell)", "<= "+fmtDur(want), fmtDur(c.Latency.P50), c.Latency.P50 <= want, durationOf(c.Latency.P50))
	}
	for _, res := range rep.Scenarios {
		if !strings.HasPrefix(res.Name, "prewarm-") {
			continue
		}
		if p := res.part(partStems); p != nil {
			pass := p.Latency.N > 0 && 2*p.Latency.N >= res.OK && p.Latency.P50 <= targetPrewarmP50
			add(res.Name+" p50 (stem cell to first result)", fmt.Sprintf("<= %s, most calls on stem cells", fmtDur(targetPrewarmP50)),
				fmt.Sprintf("%s (%d of %d on stem cells)", fmtDur(p.Latency.P50), p.Latency.N, res.OK), pass, durationOf(p.Latency.P50))
		}
	}
	if res := rep.find("resume"); res != nil {
		if p := res.part(partResumed); p != nil {
			pass := p.Latency.N > 0 && 2*p.Latency.N >= res.OK && p.Latency.P50 <= targetResumeP50
			add("resume p50 (paused sandbox to result)", fmt.Sprintf("<= %s, most calls resumed", fmtDur(targetResumeP50)),
				fmt.Sprintf("%s (%d of %d resumed)", fmtDur(p.Latency.P50), p.Latency.N, res.OK), pass, durationOf(p.Latency.P50))
		}
	}
	if res := rep.find("density"); res != nil {
		if first := res.part(partFirstCalls); first != nil && res.Memory != nil {
			want := first.OK + first.Errors
			add("density: paused sandboxes", fmt.Sprintf("%d created and paused", want),
				fmt.Sprintf("%d ok, %d paused; PSS p50 %s per sandbox", first.OK, res.Memory.Paused, fmtKB(res.Memory.PSSP50KB)),
				first.Errors == 0 && res.Memory.Paused >= want, measure{})
		}
		if b := res.part(partWarmBefore); b != nil && b.Latency.N > 0 && res.Latency.N > 0 {
			ratio := float64(res.Latency.P50) / float64(b.Latency.P50)
			add("density: warm p50 next to them", fmt.Sprintf("<= %.2fx the p50 before (%s)", targetDensityWarmRatio, fmtDur(b.Latency.P50)),
				fmt.Sprintf("%s = %.2fx", fmtDur(res.Latency.P50), ratio), ratio <= targetDensityWarmRatio, ratioOf(ratio))
		}
	}
	if m := rep.find("mixed"); m != nil {
		for _, p := range m.Parts {
			if p.Name == partLost {
				add("no lost async activations", "0 lost", fmt.Sprintf("%d lost of %d", p.Errors, p.OK+p.Errors), p.Errors == targetLostAsyncZero, measure{})
			}
		}
	}
}

// targetColdP50 is the p50 cold start of a new action without a stem
// cell, per kind: the interpreter alone takes ~10 ms (python) and ~40 ms
// (node) on the reference machine.
var targetColdP50 = map[string]time.Duration{whisk.KindPython: 25 * time.Millisecond, whisk.KindNode: 60 * time.Millisecond}

// part finds a part of the result by name.
func (r *Result) part(name string) *Result {
	for i := range r.Parts {
		if r.Parts[i].Name == name {
			return &r.Parts[i]
		}
	}
	return nil
}

// WriteJSON writes the report to path (creating its directory).
func (rep *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadJSON reads a report written by WriteJSON.
func ReadJSON(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if rep.Version != ReportVersion {
		return nil, fmt.Errorf("%s: report version %d, want %d", path, rep.Version, ReportVersion)
	}
	return &rep, nil
}
