package bench

import (
	"math"
	"slices"
	"time"
)

// Summary describes a sample of latencies. Percentiles use the nearest-rank
// method on the whole sorted sample: Pq is the smallest value such that at
// least q% of the sample is less than or equal to it.
type Summary struct {
	N    int           `json:"n"`
	Min  time.Duration `json:"min_ns"`
	Mean time.Duration `json:"mean_ns"`
	P50  time.Duration `json:"p50_ns"`
	P90  time.Duration `json:"p90_ns"`
	P99  time.Duration `json:"p99_ns"`
	P999 time.Duration `json:"p999_ns"`
	Max  time.Duration `json:"max_ns"`
}

// Summarize sorts sample in place and summarizes it. An empty sample gives
// the zero Summary.
func Summarize(sample []time.Duration) Summary {
	if len(sample) == 0 {
		return Summary{}
	}
	slices.Sort(sample)
	var sum float64
	for _, d := range sample {
		sum += float64(d)
	}
	return Summary{
		N:    len(sample),
		Min:  sample[0],
		Mean: time.Duration(sum / float64(len(sample))),
		P50:  Percentile(sample, 50),
		P90:  Percentile(sample, 90),
		P99:  Percentile(sample, 99),
		P999: Percentile(sample, 99.9),
		Max:  sample[len(sample)-1],
	}
}

// Percentile returns the nearest-rank q-th percentile (0 < q <= 100) of a
// sorted sample, or 0 for an empty one.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// The epsilon keeps q*n that is an integer in exact arithmetic (99.9% of
	// 1000) from rounding up a rank through floating-point error.
	rank := int(math.Ceil(q/100*float64(n) - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Bin is one bar of a latency histogram: Count samples in [Lo, Hi).
type Bin struct {
	Lo    time.Duration `json:"lo_ns"`
	Hi    time.Duration `json:"hi_ns"`
	Count int           `json:"count"`
}

// Histogram buckets a sorted sample into about n bins of equal width on a
// log scale between its minimum and maximum (the last bin includes the
// maximum). Log bins show a warm peak and a cold tail on one plot.
func Histogram(sorted []time.Duration, n int) []Bin {
	if len(sorted) == 0 || n < 1 {
		return nil
	}
	lo, hi := float64(max(sorted[0], 1)), float64(max(sorted[len(sorted)-1], 1))
	if hi <= lo {
		return []Bin{{Lo: sorted[0], Hi: sorted[len(sorted)-1] + 1, Count: len(sorted)}}
	}
	step := math.Log(hi/lo) / float64(n)
	bins := make([]Bin, n)
	for i := range bins {
		bins[i].Lo = time.Duration(lo * math.Exp(step*float64(i)))
		bins[i].Hi = time.Duration(lo * math.Exp(step*float64(i+1)))
	}
	bins[0].Lo = sorted[0]
	bins[n-1].Hi = sorted[len(sorted)-1] + 1
	i := 0
	for _, d := range sorted {
		for i < n-1 && d >= bins[i].Hi {
			i++
		}
		bins[i].Count++
	}
	return bins
}

// CDF returns about n points (latency, fraction of the sample <= latency) of
// a sorted sample's cumulative distribution: half spread evenly over the
// ranks, half on a log scale towards the tail, so that p99 and p99.9 stay
// visible on a plot.
func CDF(sorted []time.Duration, n int) []CDFPoint {
	if len(sorted) == 0 || n < 2 {
		return nil
	}
	total := float64(len(sorted))
	pts := make([]CDFPoint, 0, n+1)
	last := -1
	add := func(rank int) {
		rank = min(max(rank, 0), len(sorted)-1)
		if rank <= last {
			return
		}
		last = rank
		pts = append(pts, CDFPoint{Latency: sorted[rank], Fraction: float64(rank+1) / total})
	}
	// The tail part walks 1-q from 0.5 down to 1/len on a log scale.
	half := n / 2
	for i := 0; i < half; i++ {
		add(int(float64(i) / float64(half) * total * 0.5))
	}
	tail := math.Log10(total * 0.5)
	for i := 0; i <= n-half; i++ {
		frac := 1 - 0.5*math.Pow(10, -tail*float64(i)/float64(n-half))
		add(int(math.Ceil(frac*total)) - 1)
	}
	add(len(sorted) - 1)
	return pts
}

// CDFPoint is one point of a cumulative distribution.
type CDFPoint struct {
	Latency  time.Duration `json:"latency_ns"`
	Fraction float64       `json:"fraction"`
}

// Timeline counts completed requests per fixed interval from the start of
// the measured phase: OK[i] and Errors[i] finished in
// [i*Interval, (i+1)*Interval).
type Timeline struct {
	Interval time.Duration `json:"interval_ns"`
	OK       []int         `json:"ok"`
	Errors   []int         `json:"errors"`
}

// add merges another timeline of the same interval.
func (t *Timeline) add(o Timeline) {
	grow := func(s []int, n int) []int {
		for len(s) < n {
			s = append(s, 0)
		}
		return s
	}
	t.OK = grow(t.OK, len(o.OK))
	t.Errors = grow(t.Errors, len(o.Errors))
	for i, v := range o.OK {
		t.OK[i] += v
	}
	for i, v := range o.Errors {
		t.Errors[i] += v
	}
}

// Rates returns the successful requests per second of each interval.
func (t Timeline) Rates() []float64 {
	out := make([]float64, len(t.OK))
	if t.Interval <= 0 {
		return out
	}
	for i, v := range t.OK {
		out[i] = float64(v) / t.Interval.Seconds()
	}
	return out
}
