package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sio-go/socketio/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

func TestBucketsCoverValues(t *testing.T) {
	values := []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1 << 20, 123456789, 1<<40 + 12345, math.MaxInt64}
	for range 2000 {
		values = append(values, rand.Uint64N(1<<50))
	}
	for _, v := range values {
		i := bucketOf(v)
		low, width := bucketRange(i)
		if v < low || v-low >= width {
			t.Fatalf("value %d in bucket %d = [%d, %d+%d)", v, i, low, low, width)
		}
		if v >= subCount && float64(width)/float64(v) > 1.0/32 {
			t.Fatalf("bucket of %d is %d wide: over 1/32 relative", v, width)
		}
		if i < 0 || i >= numBucket {
			t.Fatalf("bucket %d out of range for %d", i, v)
		}
	}
}

func TestHistogramQuantilesMatchExact(t *testing.T) {
	var h Histogram
	rng := rand.New(rand.NewPCG(1, 2))
	samples := make([]float64, 0, 50_000)
	for range 50_000 {
		// Log-normal-ish latencies between ~10µs and ~100ms.
		d := time.Duration(math.Exp(rng.Float64()*9.2) * float64(10*time.Microsecond))
		h.Record(d)
		samples = append(samples, float64(d))
	}
	if h.Count() != 50_000 {
		t.Fatalf("count %d, want 50000", h.Count())
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := Percentile(samples, q)
		got := float64(h.Quantile(q))
		if math.Abs(got-want)/want > 0.02 {
			t.Errorf("q%.3f: histogram %v, exact %v", q, time.Duration(got), time.Duration(want))
		}
	}
	if got, want := float64(h.Max()), slices.Max(samples); got != want {
		t.Errorf("max %v, want %v", got, want)
	}
}

func TestHistogramEdgeCases(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 {
		t.Fatal("empty histogram should report 0")
	}
	h.Record(-5)
	h.Record(3 * time.Millisecond)
	if got := h.Quantile(0); got != 0 {
		t.Errorf("q0 = %v, want 0 (negative recorded as zero)", got)
	}
	if got := h.Quantile(1); got != 3*time.Millisecond {
		t.Errorf("q1 = %v, want 3ms (capped at max)", got)
	}
	h.Reset()
	if h.Count() != 0 || h.Max() != 0 || h.Quantile(0.9) != 0 {
		t.Error("reset left data behind")
	}
}

func TestHistogramConcurrent(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				h.Record(time.Duration(g*1000 + i))
			}
		})
	}
	wg.Wait()
	if h.Count() != 8000 {
		t.Fatalf("count %d, want 8000", h.Count())
	}
	if h.Max() != 7999 {
		t.Fatalf("max %d, want 7999", h.Max())
	}
}

func TestPercentile(t *testing.T) {
	s := []float64{5, 1, 4, 2, 3}
	cases := map[float64]float64{0: 1, 0.2: 1, 0.5: 3, 0.9: 5, 1: 5}
	for q, want := range cases {
		if got := Percentile(s, q); got != want {
			t.Errorf("Percentile(%v) = %v, want %v", q, got, want)
		}
	}
	if s[0] != 5 {
		t.Error("Percentile modified its input")
	}
	if !math.IsNaN(Percentile(nil, 0.5)) {
		t.Error("Percentile of nothing should be NaN")
	}
}

func TestMedian(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{7}, 7},
		{[]float64{nan, 9, 1, nan}, 5},
	}
	for _, c := range cases {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(Median([]float64{nan})) || !math.IsNaN(Median(nil)) {
		t.Error("Median without values should be NaN")
	}
}

func TestPairedRatios(t *testing.T) {
	nan := math.NaN()
	got := PairedRatios([]float64{1, 6, nan, 4, 5}, []float64{2, 3, 1, 0, 10, 99})
	want := []float64{0.5, 2, nan, nan, 0.5}
	if len(got) != len(want) {
		t.Fatalf("len %d, want %d", len(got), len(want))
	}
	for i := range want {
		if (math.IsNaN(want[i]) != math.IsNaN(got[i])) || (!math.IsNaN(want[i]) && got[i] != want[i]) {
			t.Errorf("ratio %d = %v, want %v", i, got[i], want[i])
		}
	}
	if m := Median(got); m != 0.5 {
		t.Errorf("median of ratios %v, want 0.5", m)
	}
}

func TestSnapshotMerge(t *testing.T) {
	var a, b, all Histogram
	for i := range 1000 {
		d := time.Duration(i*i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m Histogram
	m.Merge(a.Snapshot())
	m.Merge(b.Snapshot())
	if m.Count() != all.Count() || m.Max() != all.Max() {
		t.Fatalf("merged count %d max %v, want %d %v", m.Count(), m.Max(), all.Count(), all.Max())
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		if m.Quantile(q) != all.Quantile(q) {
			t.Errorf("q%.2f: merged %v, want %v", q, m.Quantile(q), all.Quantile(q))
		}
	}
	m.Merge(Snapshot{Buckets: [][2]uint64{{numBucket + 5, 1}}})
	if m.Count() != all.Count() {
		t.Errorf("an out-of-range bucket was counted")
	}
}
