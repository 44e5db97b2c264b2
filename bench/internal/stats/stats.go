// Package stats holds the small statistics the benchmark reports: a
// concurrent latency histogram with about 1% relative error, percentiles of
// samples, medians and ratios.
package stats

import (
	"math"
	"math/bits"
	"slices"
	"sync/atomic"
	"time"
)

// subBits sets the precision of the histogram: values at or above
// 1<<subBits nanoseconds fall in buckets 1/2^(subBits-1) wide relative to
// their magnitude (under 1.6% wide with subBits 7; the midpoint is reported).
const (
	subBits   = 7
	subCount  = 1 << subBits
	halfCount = subCount / 2
	maxShift  = 64 - subBits
	numBucket = subCount + maxShift*halfCount
)

// Histogram counts durations in logarithmic buckets. It is safe for
// concurrent use; the zero value is ready.
type Histogram struct {
	counts [numBucket]atomic.Uint64
	total  atomic.Uint64
	max    atomic.Int64
}

func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits
	return subCount + (shift-1)*halfCount + int(v>>shift) - halfCount
}

// bucketRange returns the smallest value of bucket i and its width.
func bucketRange(i int) (low, width uint64) {
	if i < subCount {
		return uint64(i), 1
	}
	shift := (i-subCount)/halfCount + 1
	top := uint64((i-subCount)%halfCount + halfCount)
	return top << shift, 1 << shift
}

// Record adds one duration. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))].Add(1)
	h.total.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// Count returns the number of recorded durations.
func (h *Histogram) Count() uint64 { return h.total.Load() }

// Max returns the largest recorded duration.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile returns the duration below which the fraction q (0..1) of the
// recorded durations fall, or 0 when nothing was recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	var snap [numBucket]uint64
	var total uint64
	for i := range snap {
		snap[i] = h.counts[i].Load()
		total += snap[i]
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	rank = max(rank, 1)
	if rank >= total {
		return h.Max()
	}
	var seen uint64
	for i, c := range snap {
		seen += c
		if seen >= rank {
			low, width := bucketRange(i)
			v := time.Duration(low + width/2)
			return min(v, h.Max())
		}
	}
	return h.Max()
}

// Reset clears the histogram. It must not race with Record for the reset
// to be exact.
func (h *Histogram) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.total.Store(0)
	h.max.Store(0)
}

// Percentile returns the q-th quantile (0..1) of samples by the nearest-rank
// method. It returns NaN for no samples and does not modify samples.
func Percentile(samples []float64, q float64) float64 {
	if len(samples) == 0 {
		return math.NaN()
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	rank := int(math.Ceil(q * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// Median returns the middle value of samples (the mean of the two middle
// values for an even count), ignoring NaNs. It returns NaN when no value is
// left.
func Median(samples []float64) float64 {
	s := make([]float64, 0, len(samples))
	for _, v := range samples {
		if !math.IsNaN(v) {
			s = append(s, v)
		}
	}
	if len(s) == 0 {
		return math.NaN()
	}
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// PairedRatios divides a[i] by b[i] for each pair where both are finite and
// b is not zero; other pairs give NaN. The slices are paired up to the
// shorter length.
func PairedRatios(a, b []float64) []float64 {
	n := min(len(a), len(b))
	out := make([]float64, n)
	for i := range n {
		if math.IsNaN(a[i]) || math.IsNaN(b[i]) || b[i] == 0 || math.IsInf(a[i], 0) || math.IsInf(b[i], 0) {
			out[i] = math.NaN()
			continue
		}
		out[i] = a[i] / b[i]
	}
	return out
}

// Snapshot is a histogram in a form that crosses process boundaries (as
// JSON): the non-empty buckets and the largest value. Histograms of several
// load generator processes merge into one through it.
type Snapshot struct {
	Buckets [][2]uint64 `json:"buckets"` // bucket index, count
	MaxNs   int64       `json:"max_ns"`
}

// Snapshot returns the histogram's current counts.
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{MaxNs: h.max.Load()}
	for i := range h.counts {
		if c := h.counts[i].Load(); c > 0 {
			s.Buckets = append(s.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return s
}

// Merge adds the counts of s, as if its durations had been recorded here.
// Buckets out of range are ignored.
func (h *Histogram) Merge(s Snapshot) {
	for _, b := range s.Buckets {
		if b[0] >= numBucket {
			continue
		}
		h.counts[b[0]].Add(b[1])
		h.total.Add(b[1])
	}
	for {
		m := h.max.Load()
		if s.MaxNs <= m || h.max.CompareAndSwap(m, s.MaxNs) {
			return
		}
	}
}
