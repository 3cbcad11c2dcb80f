package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramQuantilesWithinOnePercent(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		draw func() time.Duration
	}{
		{"uniform 1µs..100ms", func() time.Duration { return time.Microsecond + time.Duration(r.Int64N(int64(100*time.Millisecond))) }},
		{"log-uniform 1µs..60s", func() time.Duration {
			return time.Duration(math.Exp(math.Log(1e3) + r.Float64()*(math.Log(60e9)-math.Log(1e3))))
		}},
		{"bimodal 200µs and 2s", func() time.Duration {
			if r.IntN(100) < 95 {
				return 200*time.Microsecond + time.Duration(r.IntN(50000))
			}
			return 2*time.Second + time.Duration(r.Int64N(int64(time.Second)))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			vals := make([]time.Duration, 200000)
			for i := range vals {
				vals[i] = tt.draw()
				h.Record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0.01, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999} {
				want := vals[int(math.Ceil(q*float64(len(vals))))-1]
				got := h.Quantile(q)
				if rel := math.Abs(float64(got-want)) / float64(want); rel > 0.01 {
					t.Errorf("q%v = %v, exact %v (%.2f%% off)", q, got, want, rel*100)
				}
			}
			if h.Max() != vals[len(vals)-1] || h.Min() != vals[0] || h.Quantile(1) != h.Max() {
				t.Errorf("min/max %v/%v, exact %v/%v", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
			}
			if h.Count() != int64(len(vals)) {
				t.Errorf("count %d, want %d", h.Count(), len(vals))
			}
		})
	}
}

func TestHistogramBucketsAreContiguous(t *testing.T) {
	for i := 1; i <= bucketOf(maxTracked); i++ {
		lo, w := bucketRange(i)
		plo, pw := bucketRange(i - 1)
		if plo+pw != lo {
			t.Fatalf("bucket %d starts at %d, bucket %d ends at %d", i, lo, i-1, plo+pw)
		}
		if bucketOf(lo) != i || bucketOf(lo+w-1) != i {
			t.Fatalf("bucket %d [%d,%d) does not map back to itself", i, lo, lo+w)
		}
	}
	if bucketOf(maxTracked) >= numBuckets || bucketOf(math.MaxInt64) != bucketOf(maxTracked) {
		t.Fatalf("values at and above 60s do not share the last used bucket")
	}
}

func TestHistogramMergeEqualsRecordingTogether(t *testing.T) {
	var a, b, all Histogram
	for i := range 10000 {
		d := time.Duration(i*i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(&Histogram{})
	if m != all {
		t.Fatalf("merged histogram differs from one that recorded everything")
	}
}

func TestHistogramKeepsExactMaxAboveRange(t *testing.T) {
	var h Histogram
	h.Record(time.Millisecond)
	h.Record(90 * time.Second)
	h.Record(-time.Second)
	if h.Max() != 90*time.Second || h.Quantile(1) != 90*time.Second {
		t.Errorf("max %v, want 90s", h.Max())
	}
	if h.Min() != 0 {
		t.Errorf("negative duration recorded as %v, want 0", h.Min())
	}
	if got := h.Quantile(0.5); math.Abs(float64(got-time.Millisecond)) > 0.01*float64(time.Millisecond) {
		t.Errorf("median %v, want 1ms", got)
	}
}

func TestEmptyHistogramReportsZero(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 || h.Count() != 0 {
		t.Fatal("empty histogram reports non-zero values")
	}
}
