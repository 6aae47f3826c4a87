package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// svgDoc decodes an SVG document completely, failing on malformed XML, and
// returns its polylines (name -> number of points) and texts.
func svgDoc(t *testing.T, b []byte) (map[string]int, []string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	lines := map[string]int{}
	var texts []string
	inText := false
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("malformed SVG: %v\n%s", err, b)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = e.Name.Local
			}
			inText = e.Name.Local == "text"
			if e.Name.Local == "polyline" {
				var name, points string
				for _, a := range e.Attr {
					switch a.Name.Local {
					case "data-name":
						name = a.Value
					case "points":
						points = a.Value
					}
				}
				lines[name] = len(strings.Fields(points))
			}
		case xml.CharData:
			if inText {
				texts = append(texts, string(e))
			}
		case xml.EndElement:
			inText = false
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return lines, texts
}

func TestLatencyChart(t *testing.T) {
	r := sampleResult("warm <&>", 1, 300e3, 1000)
	b := latencyChart(&r).svg()
	_, texts := svgDoc(t, b)
	joined := strings.Join(texts, "|")
	for _, want := range []string{"warm <&>: latency distribution (n=1,000)", "p50 " + fmtDur(r.Latency.P50), "p99 " + fmtDur(r.Latency.P99), "latency (log scale)"} {
		if !strings.Contains(joined, want) {
			t.Errorf("chart texts lack %q: %v", want, texts)
		}
	}
	if n := bytes.Count(b, []byte("<rect x=")); n < 10 {
		t.Errorf("%d bars, want the histogram's", n)
	}
}

func TestThroughputChart(t *testing.T) {
	a := sampleResult("throughput-c8", 8, 1e6, 1000)
	b := sampleResult("many", 8, 1e6, 500)
	lines, texts := svgDoc(t, throughputChart("over time", []*Result{&a, &b}, true).svg())
	for _, name := range []string{"throughput-c8 ok/s", "throughput-c8 errors/s", "many ok/s", "many errors/s"} {
		if lines[name] != 10 {
			t.Errorf("series %q has %d points, want 10 (%v)", name, lines[name], lines)
		}
	}
	if !strings.Contains(strings.Join(texts, "|"), "requests per second") {
		t.Errorf("no y label: %v", texts)
	}
	lines, _ = svgDoc(t, throughputChart("over time", []*Result{&a, &b}, false).svg())
	if len(lines) != 2 || lines["many ok/s"] != 10 {
		t.Errorf("without errors: series %v, want the two ok/s", lines)
	}
}

func TestCDFChart(t *testing.T) {
	rep := sampleReport()
	lines, texts := svgDoc(t, cdfChart(rep).svg())
	for _, r := range rep.Scenarios {
		if lines[r.Name] < 50 {
			t.Errorf("series %q has %d points", r.Name, lines[r.Name])
		}
	}
	if !strings.Contains(strings.Join(texts, "|"), "floor p50 180µs") {
		t.Errorf("no floor marker: %v", texts)
	}
}

func TestChartEdgeCases(t *testing.T) {
	charts := []*chart{
		{title: "empty"},
		{title: "empty log", x: axis{log: true}, y: axis{log: true}},
		{title: "zeros on a log axis", x: axis{log: true}, series: []series{{name: "s", xs: []float64{0, 1, 10}, ys: []float64{1, 2, 3}}}},
		{title: "one point", series: []series{{name: "s", xs: []float64{5}, ys: []float64{5}}}},
		{title: "flat", series: []series{{name: "s", xs: []float64{1, 2}, ys: []float64{0, 0}}}},
	}
	for _, c := range charts {
		svgDoc(t, c.svg())
	}
}

func TestAxisTicks(t *testing.T) {
	a := axis{log: true, min: 10, max: 1e5}
	ticks := a.ticks()
	if len(ticks) != 5 || ticks[0] != 10 || ticks[4] != 1e5 {
		t.Errorf("log ticks %v, want powers of ten 10..1e5", ticks)
	}
	lin := axis{min: 0, max: 10000}
	if got := lin.ticks(); len(got) != 6 || got[1] != 2000 {
		t.Errorf("linear ticks %v, want 0, 2000, ... 10000", got)
	}
	for _, tt := range []struct{ x, want float64 }{{0.7, 1}, {1.5, 2}, {3, 5}, {7, 10}, {1800, 2000}} {
		if got := niceStep(tt.x); got != tt.want {
			t.Errorf("niceStep(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
}

func TestWritePlots(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plots")
	paths, err := sampleReport().WritePlots(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"latency-cdf.svg", "warm-latency.svg", "warm-throughput.svg", "throughput-c32-latency.svg", "many-throughput.svg", "throughput.svg"}
	for _, name := range want {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("plot %s: %v (wrote %v)", name, err, paths)
			continue
		}
		svgDoc(t, b)
	}
	if fileName("a/b c") != "a_b_c" {
		t.Errorf("fileName = %q", fileName("a/b c"))
	}
}
