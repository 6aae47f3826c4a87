package bench

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sampleResult is a scenario result built from a known sample.
func sampleResult(name string, clients int, base time.Duration, n int) Result {
	lat := make([]time.Duration, n)
	for i := range lat {
		lat[i] = base + time.Duration(i)*time.Microsecond
	}
	lr := loadResult{classes: []classRecord{{lat: lat}}, elapsed: time.Second, timeline: Timeline{Interval: 100 * time.Millisecond}}
	lr.classes[0].starts[startWarm] = n - 1
	lr.classes[0].starts[startCold] = 1
	lr.classes[0].errs = map[string]int{"http 503 (unavailable)": 2}
	for i := 0; i < 10; i++ {
		lr.timeline.OK = append(lr.timeline.OK, n/10)
		lr.timeline.Errors = append(lr.timeline.Errors, i%2)
	}
	return newResult(name, "a scenario", clients, &lr, 0)
}

// sampleReport is a report of every kind of row.
func sampleReport() *Report {
	rep := &Report{
		Tool: "gust bench", Version: ReportVersion, Date: time.Date(2025, 11, 21, 23, 40, 5, 0, time.UTC),
		Command: "gust bench --duration 5s", Commit: "c5c77a6abcde+dirty",
		Machine: Machine{NProc: 2, CPU: "AMD EPYC", Kernel: "6.18.44-fc", Go: "go1.26.8", OS: "linux"},
		Target:  TargetInfo{APIHost: "http://127.0.0.1:40000", Started: true, Binary: "/usr/bin/gust", Args: []string{"up", "--listen", "127.0.0.1:40000"}},
		Floor: []FloorPart{
			{Name: floorHTTP, Clients: 1, Description: "raw http", Latency: Summary{N: 1000, P50: 80 * time.Microsecond, P99: 200 * time.Microsecond, Max: time.Millisecond}},
			{Name: floorNATS, Clients: 1, Description: "raw nats", Latency: Summary{N: 1000, P50: 15 * time.Microsecond, P99: 60 * time.Microsecond}},
			{Name: floorRun, Clients: 1, Error: "no node"},
		},
	}
	rep.Floor = append(rep.Floor, FloorPart{Name: floorInvoke, Clients: 1, Latency: Summary{N: 1000, P50: 180 * time.Microsecond, P99: 500 * time.Microsecond}})
	warm := sampleResult("warm", 1, 300*time.Microsecond, 1000)
	warm.compare(floorInvoke, rep.Floor)
	t8 := sampleResult("throughput-c8", 8, time.Millisecond, 9000)
	t32 := sampleResult("throughput-c32", 32, 3*time.Millisecond, 9000)
	many := sampleResult("many", 8, time.Millisecond, 3000)
	many.Parts = []Result{sampleResult("first calls", 8, 80*time.Millisecond, 100)}
	many.Notes = []string{"created 100 actions in 1.2s"}
	rep.Scenarios = []Result{warm, t8, t32, many}
	rep.check(8)
	return rep
}

func TestChecks(t *testing.T) {
	rep := sampleReport()
	want := map[string]bool{
		"warm p50 vs floor":               false, // 799µs vs 2 x 180µs
		"warm p99":                        true,  // 1.29ms
		"throughput, 32 clients":          true,  // 9000/s
		"many actions vs one (8 clients)": false, // 3000 of 9000
	}
	if len(rep.Checks) != len(want) {
		t.Fatalf("checks %+v, want %d", rep.Checks, len(want))
	}
	for _, c := range rep.Checks {
		pass, ok := want[c.Name]
		if !ok || pass != c.Pass {
			t.Errorf("check %+v, want pass=%v", c, pass)
		}
	}
	// Measured interleaved, the many scenario's own parts decide: 5000
	// against 9000/s passes where 3000 against the throughput scenario's
	// 9000/s did not.
	m := &rep.Scenarios[3]
	m.Parts = append(m.Parts, sampleResult(partInterleavedMany, 8, time.Millisecond, 5000), sampleResult(partInterleavedOne, 8, time.Millisecond, 9000))
	rep.check(8)
	got := "5,000/s = 56% (measured apart: 3,000/s = 33% of 9,000/s)"
	if c := rep.Checks[len(rep.Checks)-1]; c.Name != "many actions vs one (8 clients, interleaved)" || !c.Pass || c.Got != got {
		t.Errorf("interleaved check %+v, want a pass, got %q", c, got)
	}
	// Without the scenarios they need, no checks.
	rep.Scenarios = rep.Scenarios[:1]
	rep.Floor = nil
	rep.check(8)
	if len(rep.Checks) != 1 || rep.Checks[0].Name != "warm p99" {
		t.Errorf("checks without floor and load %+v", rep.Checks)
	}
}

func TestCompare(t *testing.T) {
	rep := sampleReport()
	w := rep.find("warm")
	if w.Floor != floorInvoke || w.P50Ratio < 4.4 || w.P50Ratio > 4.5 {
		t.Errorf("warm vs floor: %q p50 ratio %.3f, want invoke 799/180", w.Floor, w.P50Ratio)
	}
	var r Result
	r.Latency.N, r.Latency.P50 = 1, time.Millisecond
	r.compare(floorRun, rep.Floor) // not measured
	if r.Floor != "" || r.P50Ratio != 0 {
		t.Errorf("compared with an unmeasured floor: %+v", r)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	rep := sampleReport()
	path := filepath.Join(t.TempDir(), "sub", "report.json")
	if err := rep.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rep) {
		t.Errorf("round trip changed the report:\n got %+v\nwant %+v", got, rep)
	}
}

func TestWriteTables(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteTables(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"commit c5c77a6abcde+dirty", "2 x AMD EPYC",
		"floor", "http ", "80.0µs", "not measured: no node",
		"scenario", "warm", "throughput-c32", "  first calls", "799µs", "10.0ms",
		"2 (http 503 (unavailable): 2)", "4.44x",
		"note: many: created 100 actions in 1.2s",
		"FAIL", "PASS", "warm p99",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tables lack %q:\n%s", want, out)
		}
	}
}

func TestFormat(t *testing.T) {
	durs := []struct {
		d    time.Duration
		want string
	}{
		{0, "-"}, {1500, "1.50µs"}, {87500, "87.5µs"}, {312 * time.Microsecond, "312µs"},
		{1250 * time.Microsecond, "1.25ms"}, {12500 * time.Microsecond, "12.5ms"}, {125 * time.Millisecond, "125ms"},
		{1250 * time.Millisecond, "1.25s"}, {150 * time.Second, "150s"}, {9999 * time.Microsecond, "10.0ms"}, {999999 * time.Nanosecond, "1.00ms"}, {1500 * time.Second, "1500s"}, {1, "0.00100µs"},
	}
	for _, tt := range durs {
		if got := fmtDur(tt.d); got != tt.want {
			t.Errorf("fmtDur(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	rates := []struct {
		r    float64
		want string
	}{{0, "-"}, {12.34, "12.3/s"}, {8123.4, "8,123/s"}, {1234567, "1,234,567/s"}}
	for _, tt := range rates {
		if got := fmtRate(tt.r); got != tt.want {
			t.Errorf("fmtRate(%v) = %q, want %q", tt.r, got, tt.want)
		}
	}
	if got := fmtRatio(1.849); got != "1.85x" {
		t.Errorf("fmtRatio = %q", got)
	}
	if got := fmtErrors(5, map[string]int{"b": 2, "a": 3}); got != "5 (a: 3, b: 2)" {
		t.Errorf("fmtErrors = %q", got)
	}
}

// TestLifecycleChecks: the cold, stem cell, resume and density targets.
func TestLifecycleChecks(t *testing.T) {
	withPart := func(name string, base time.Duration, n int, part string, pbase time.Duration, pn int) Result {
		r := sampleResult(name, 1, base, n)
		r.Parts = []Result{sampleResult(part, 1, pbase, pn)}
		return r
	}
	density := sampleResult("density", 1, 400*time.Microsecond, 1000)
	first := sampleResult(partFirstCalls, 4, 50*time.Millisecond, 10)
	first.Errors, first.ErrorKinds = 0, nil
	density.Parts = []Result{sampleResult(partWarmBefore, 1, 300*time.Microsecond, 1000), first}
	density.Memory = &MemoryUse{Sandboxes: 10, Paused: 10, PSSP50KB: 7000}
	rep := &Report{Scenarios: []Result{
		sampleResult("cold-python", 1, 20*time.Millisecond, 10),                               // p50 20ms
		sampleResult("cold-nodejs", 1, 70*time.Millisecond, 10),                               // p50 70ms
		withPart("prewarm-python", 4*time.Millisecond, 10, partStems, 4*time.Millisecond, 10), // all on stems
		withPart("prewarm-nodejs", 4*time.Millisecond, 10, partStems, 4*time.Millisecond, 3),  // 3 of 10 on stems
		withPart("resume", 2*time.Millisecond, 10, partResumed, 4*time.Millisecond, 10),       // too slow
		density, // p50 899µs vs 799µs before (samples 1µs apart): 1.125x
	}}
	rep.check(8)
	want := map[string]bool{
		"cold-python p50 (no stem cell)":                 true,
		"cold-nodejs p50 (no stem cell)":                 false,
		"prewarm-python p50 (stem cell to first result)": true,
		"prewarm-nodejs p50 (stem cell to first result)": false, // most calls were not on stem cells
		"resume p50 (paused sandbox to result)":          false,
		"density: paused sandboxes":                      true,
		"density: warm p50 next to them":                 true,
	}
	if len(rep.Checks) != len(want) {
		t.Fatalf("checks %+v, want %d", rep.Checks, len(want))
	}
	for _, c := range rep.Checks {
		pass, ok := want[c.Name]
		if !ok || pass != c.Pass {
			t.Errorf("check %+v, want pass=%v", c, pass)
		}
	}
	// Fewer paused sandboxes than calls fails the density check.
	density.Memory.Paused = 9
	rep.Scenarios[5] = density
	rep.check(8)
	for _, c := range rep.Checks {
		if c.Name == "density: paused sandboxes" && c.Pass {
			t.Errorf("9 of 10 paused passed: %+v", c)
		}
	}
}
