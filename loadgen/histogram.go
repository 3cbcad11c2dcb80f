package loadgen

import (
	"encoding/json"
	"math"
	"math/bits"
	"time"
)

// Histogram layout: values (nanoseconds) below 2*subBuckets are counted exactly;
// above, every power-of-two range is split into subBuckets equal buckets, so a
// bucket is at most 1/128 of its lower bound wide and reporting its midpoint is
// within 0.4% of any value in it. Values above maxTracked share the last bucket
// (max is still exact).
const (
	subBits    = 7
	subBuckets = 1 << subBits            // 128
	linear     = 2 * subBuckets          // values below this have their own bucket
	maxTracked = int64(60 * time.Second) // top of the accurate range
	topShift   = 36 - (subBits + 1)      // 60s < 2^36 ns
	numBuckets = linear + topShift*subBuckets
)

// Histogram records durations in log-linear buckets with about 1% precision from
// 1µs to 60s, in constant memory. The zero value is empty and ready to use. It is
// not safe for concurrent use: give each goroutine its own and Merge them.
type Histogram struct {
	counts   [numBuckets]uint64
	n        uint64
	sum      float64
	min, max int64
}

func bucketOf(v int64) int {
	if v < linear {
		return int(v)
	}
	if v > maxTracked {
		v = maxTracked
	}
	shift := bits.Len64(uint64(v)) - (subBits + 1)
	return linear + (shift-1)*subBuckets + int(v>>shift) - subBuckets
}

// bucketRange returns the smallest value in bucket i and the bucket's width.
func bucketRange(i int) (lo, width int64) {
	if i < linear {
		return int64(i), 1
	}
	shift := (i-linear)/subBuckets + 1
	m := int64((i-linear)%subBuckets + subBuckets)
	return m << shift, 1 << shift
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds all of o's observations to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count returns the number of recorded durations.
func (h *Histogram) Count() int64 { return int64(h.n) }

// Min returns the smallest recorded duration, exactly.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Max returns the largest recorded duration, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean returns the average recorded duration.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the duration below or at which a fraction q of the recorded
// durations lie (q=0.99 is p99), within the bucket precision; 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.min)
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, w := bucketRange(i)
			v := lo + (w-1)/2
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// MarshalJSON summarises the histogram in seconds, for machine-readable reports.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	s := func(d time.Duration) float64 { return d.Seconds() }
	return json.Marshal(struct {
		Count int64   `json:"count"`
		Mean  float64 `json:"mean_seconds"`
		P50   float64 `json:"p50_seconds"`
		P90   float64 `json:"p90_seconds"`
		P99   float64 `json:"p99_seconds"`
		P999  float64 `json:"p999_seconds"`
		Max   float64 `json:"max_seconds"`
	}{h.Count(), s(h.Mean()), s(h.Quantile(0.5)), s(h.Quantile(0.9)), s(h.Quantile(0.99)), s(h.Quantile(0.999)), s(h.Max())})
}
