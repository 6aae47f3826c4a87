package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestPercentile(t *testing.T) {
	// 1..100 ms: the q-th percentile by nearest rank is q ms.
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(i + 1)
	}
	thousand := make([]time.Duration, 1000)
	for i := range thousand {
		thousand[i] = time.Duration(i+1) * time.Microsecond
	}
	tests := []struct {
		name   string
		sample []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", []time.Duration{ms(7)}, 99, ms(7)},
		{"p50 of 1..100", hundred, 50, ms(50)},
		{"p90 of 1..100", hundred, 90, ms(90)},
		{"p99 of 1..100", hundred, 99, ms(99)},
		{"p100 of 1..100", hundred, 100, ms(100)},
		{"p0.1 of 1..100 is the minimum", hundred, 0.1, ms(1)},
		{"p99.9 of 1..1000", thousand, 99.9, 999 * time.Microsecond},
		{"p50 of two", []time.Duration{ms(1), ms(3)}, 50, ms(1)},
		{"p51 of two", []time.Duration{ms(1), ms(3)}, 51, ms(3)},
		{"p50 of four", []time.Duration{ms(1), ms(2), ms(3), ms(4)}, 50, ms(2)},
		{"p75 of four", []time.Duration{ms(1), ms(2), ms(3), ms(4)}, 75, ms(3)},
		{"p76 of four", []time.Duration{ms(1), ms(2), ms(3), ms(4)}, 76, ms(4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sample, tt.q); got != tt.want {
				t.Errorf("Percentile(q=%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	sample := make([]time.Duration, 100)
	for i := range sample {
		sample[i] = ms(i + 1)
	}
	rand.Shuffle(len(sample), func(i, j int) { sample[i], sample[j] = sample[j], sample[i] })
	got := Summarize(sample)
	want := Summary{N: 100, Min: ms(1), Mean: 50500 * time.Microsecond, P50: ms(50), P90: ms(90), P99: ms(99), P999: ms(100), Max: ms(100)}
	if got != want {
		t.Errorf("Summarize = %+v\nwant        %+v", got, want)
	}
	if !slices.IsSorted(sample) {
		t.Error("Summarize did not sort the sample in place")
	}
	if (Summarize(nil) != Summary{}) {
		t.Error("Summarize(nil) is not the zero Summary")
	}
}

func TestHistogram(t *testing.T) {
	var sample []time.Duration
	for i := 0; i < 1000; i++ {
		sample = append(sample, 100*time.Microsecond+time.Duration(i)*time.Microsecond)
	}
	sample = append(sample, ms(50), ms(100)) // a cold tail
	slices.Sort(sample)
	bins := Histogram(sample, 20)
	if len(bins) != 20 {
		t.Fatalf("got %d bins, want 20", len(bins))
	}
	total := 0
	for i, b := range bins {
		total += b.Count
		if b.Hi <= b.Lo {
			t.Errorf("bin %d: [%v, %v) is empty", i, b.Lo, b.Hi)
		}
		if i > 0 && b.Lo != bins[i-1].Hi {
			t.Errorf("bin %d starts at %v, previous ends at %v", i, b.Lo, bins[i-1].Hi)
		}
	}
	if total != len(sample) {
		t.Errorf("bins hold %d samples, want %d", total, len(sample))
	}
	if bins[0].Lo != sample[0] || bins[19].Hi <= sample[len(sample)-1] {
		t.Errorf("bins span [%v, %v), want [%v, > %v]", bins[0].Lo, bins[19].Hi, sample[0], sample[len(sample)-1])
	}
	if bins[19].Count != 1 {
		t.Errorf("last bin holds %d, want only the 100ms sample", bins[19].Count)
	}
	// Each sample is in its bin.
	i := 0
	for _, d := range sample {
		for d >= bins[i].Hi {
			i++
		}
		if d < bins[i].Lo {
			t.Fatalf("%v is below its bin [%v, %v)", d, bins[i].Lo, bins[i].Hi)
		}
	}
	if got := Histogram([]time.Duration{ms(1), ms(1)}, 10); len(got) != 1 || got[0].Count != 2 {
		t.Errorf("Histogram of equal values = %+v, want one bin of 2", got)
	}
	if Histogram(nil, 10) != nil {
		t.Error("Histogram(nil) is not nil")
	}
}

func TestCDF(t *testing.T) {
	sample := make([]time.Duration, 10000)
	for i := range sample {
		sample[i] = time.Duration(i+1) * time.Microsecond
	}
	pts := CDF(sample, 100)
	if len(pts) < 50 || len(pts) > 102 {
		t.Fatalf("got %d points, want about 100", len(pts))
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].Latency < pts[i-1].Latency || pts[i].Fraction <= pts[i-1].Fraction {
			t.Fatalf("point %d (%v) does not increase on %v", i, pts[i], pts[i-1])
		}
	}
	last := pts[len(pts)-1]
	if last.Fraction != 1 || last.Latency != sample[len(sample)-1] {
		t.Errorf("last point %+v, want the maximum at 1", last)
	}
	// The tail is resolved: some point sits between p99 and p99.9.
	tail := false
	for _, p := range pts {
		if p.Fraction > 0.99 && p.Fraction < 0.999 {
			tail = true
		}
		if want := time.Duration(p.Fraction*10000+0.5) * time.Microsecond; p.Latency != want {
			t.Errorf("point %+v: latency for that fraction is %v", p, want)
		}
	}
	if !tail {
		t.Error("no point between p99 and p99.9")
	}
}

func TestTimeline(t *testing.T) {
	var tl Timeline
	tl.Interval = 500 * time.Millisecond
	tl.add(Timeline{Interval: tl.Interval, OK: []int{1, 2}, Errors: []int{0, 1}})
	tl.add(Timeline{Interval: tl.Interval, OK: []int{1, 2, 3}})
	if !slices.Equal(tl.OK, []int{2, 4, 3}) || !slices.Equal(tl.Errors, []int{0, 1}) {
		t.Errorf("merged timeline %+v", tl)
	}
	if got := tl.Rates(); !slices.Equal(got, []float64{4, 8, 6}) {
		t.Errorf("Rates = %v, want [4 8 6]", got)
	}
}
