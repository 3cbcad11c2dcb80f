package server

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/leadhouse/leadhouse/sink/wal"
)

func TestHistoryKeepsTheLastHourByMinute(t *testing.T) {
	var h history
	t0 := time.Date(2031, 1, 10, 9, 0, 30, 0, time.UTC)
	h.add(t0.Add(-61*time.Minute), outcomeAccepted, time.Millisecond) // before the hour shown
	h.add(t0, outcomeAccepted, time.Millisecond)
	h.add(t0.Add(20*time.Second), outcomeAccepted, 2*time.Millisecond)
	h.add(t0.Add(20*time.Second), outcomeNotJSON, time.Millisecond)
	h.add(t0.Add(5*time.Minute), outcomeUnauthorized, time.Millisecond)

	snap := h.snapshot(t0.Add(10 * time.Minute))
	if len(snap) != historyMinutes {
		t.Fatalf("%d minutes, want %d", len(snap), historyMinutes)
	}
	last := snap[len(snap)-1].start
	if want := time.Date(2031, 1, 10, 9, 10, 0, 0, time.UTC); !last.Equal(want) {
		t.Errorf("last minute starts at %v, want %v", last, want)
	}
	counts := map[time.Time][numOutcomes]uint64{}
	for i, m := range snap {
		if i > 0 && !m.start.Equal(snap[i-1].start.Add(time.Minute)) {
			t.Fatalf("minute %d starts at %v, after %v", i, m.start, snap[i-1].start)
		}
		if m.outcomes != ([numOutcomes]uint64{}) {
			counts[m.start] = m.outcomes
		}
	}
	at9 := time.Date(2031, 1, 10, 9, 0, 0, 0, time.UTC)
	var want9, want905 [numOutcomes]uint64
	want9[outcomeAccepted], want9[outcomeNotJSON] = 2, 1
	want905[outcomeUnauthorized] = 1
	if len(counts) != 2 || counts[at9] != want9 || counts[at9.Add(5*time.Minute)] != want905 {
		t.Errorf("minutes with requests: %v", counts)
	}

	// An hour later the 09:00 slot is reused: its old counts must not show up again.
	h.add(t0.Add(time.Hour), outcomeTooLarge, time.Millisecond)
	for _, m := range h.snapshot(t0.Add(time.Hour)) {
		if m.start.Equal(at9) && m.outcomes != ([numOutcomes]uint64{}) {
			t.Errorf("09:00 still counted an hour later: %v", m.outcomes)
		}
		if m.start.Equal(at9.Add(time.Hour)) && (m.outcomes[outcomeTooLarge] != 1 || m.outcomes[outcomeAccepted] != 0) {
			t.Errorf("10:00 = %v, want one too_large only", m.outcomes)
		}
	}
}

func TestHistoryCountsLatencyOfAcceptedCallbacksOnly(t *testing.T) {
	var h history
	t0 := time.Date(2031, 1, 10, 9, 0, 0, 0, time.UTC)
	h.add(t0, outcomeAccepted, 3*time.Millisecond)
	h.add(t0, outcomeUnavailable, 20*time.Second)
	m := h.snapshot(t0)[historyMinutes-1]
	var total uint64
	for _, n := range m.latency {
		total += n
	}
	if total != 1 || m.latency[latencyBucket(3*time.Millisecond)] != 1 {
		t.Errorf("latency buckets %v, want the accepted callback's only", m.latency)
	}
}

func TestQuantileInterpolatesWithinItsBucket(t *testing.T) {
	fill := func(ds ...time.Duration) *[numLatencyBuckets]uint64 {
		var b [numLatencyBuckets]uint64
		for _, d := range ds {
			b[latencyBucket(d)]++
		}
		return &b
	}
	repeat := func(d time.Duration, n int) []time.Duration { return slices.Repeat([]time.Duration{d}, n) }
	tests := []struct {
		name string
		b    *[numLatencyBuckets]uint64
		q    float64
		want float64
	}{
		// 3 ms lies in (2.5 ms, 3 ms]: the median is halfway through it.
		{"all in one bucket", fill(repeat(3*time.Millisecond, 100)...), 0.5, 0.00275},
		{"p99 of all in one bucket", fill(repeat(3*time.Millisecond, 100)...), 0.99, 0.002995},
		{"first bucket starts at zero", fill(repeat(50*time.Microsecond, 10)...), 0.5, 0.00005},
		// Half at 1 ms, half at 10 ms, in (8 ms, 10 ms]: rank 99 is 49/50 of the way through it.
		{"rank in the second bucket", fill(append(repeat(time.Millisecond, 50), repeat(10*time.Millisecond, 50)...)...), 0.99, 0.00996},
		{"above every bound", fill(repeat(2*time.Minute, 4)...), 0.5, 60},
	}
	for _, tt := range tests {
		got, ok := quantile(tt.q, tt.b)
		if !ok || got < tt.want-1e-12 || got > tt.want+1e-12 {
			t.Errorf("%s: q%v = %v, %v; want %v", tt.name, tt.q, got, ok, tt.want)
		}
	}
	if _, ok := quantile(0.5, fill()); ok {
		t.Error("a quantile of nothing")
	}
}

// TestQuantileLiesInThePrometheusBucket proves what the browser test relies on: the status page's
// quantile lies in the bucket of leadhouse_request_duration_seconds where Prometheus's
// histogram_quantile puts it, because latencyBounds refine that histogram's buckets.
func TestQuantileLiesInThePrometheusBucket(t *testing.T) {
	m := NewMetrics()
	r := rand.New(rand.NewPCG(16, 16))
	var b [numLatencyBuckets]uint64
	for range 5000 {
		// Log-uniform between 50 µs and 5 s.
		d := time.Duration(50e3 * math.Pow(10, r.Float64()*5))
		m.observe(outcomeAccepted, time.Now(), d)
		b[latencyBucket(d)]++
	}
	var hist *dto.Histogram
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "leadhouse_request_duration_seconds" {
			continue
		}
		for _, s := range mf.GetMetric() {
			if hasLabels(s, []string{"outcome", "accepted"}) {
				hist = s.GetHistogram()
			}
		}
	}
	if hist == nil {
		t.Fatal("no accepted histogram")
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		got, _ := quantile(q, &b)
		lo, hi := promBucket(hist, q)
		if got < lo || got > hi {
			t.Errorf("q%v = %v, outside the Prometheus bucket [%v, %v]", q, got, lo, hi)
		}
	}
	for _, pb := range hist.GetBucket() {
		if !slices.Contains(latencyBounds[:], pb.GetUpperBound()) {
			t.Errorf("Prometheus bound %v is not one of latencyBounds", pb.GetUpperBound())
		}
	}
}

// promBucket returns the bounds of the bucket where histogram_quantile finds the q-quantile.
func promBucket(h *dto.Histogram, q float64) (lo, hi float64) {
	rank := q * float64(h.GetSampleCount())
	for _, b := range h.GetBucket() {
		if float64(b.GetCumulativeCount()) >= rank {
			return lo, b.GetUpperBound()
		}
		lo = b.GetUpperBound()
	}
	return lo, lo
}

func pos(seg uint64, off int64) wal.Position { return wal.Position{Segment: seg, Offset: off} }

func TestBacklogAgeIsTheOldestUnstoredCallback(t *testing.T) {
	t0 := time.Date(2031, 1, 10, 9, 0, 0, 0, time.UTC)
	b := newBacklogAge(t0, false)
	if _, _, ok := b.oldest(pos(0, 0), 0); ok {
		t.Error("an age with nothing waiting")
	}
	b.acked(t0.Add(10*time.Second), pos(1, 100))
	b.acked(t0.Add(10*time.Second+300*time.Millisecond), pos(1, 200)) // the same stretch
	b.acked(t0.Add(10*time.Second-100*time.Millisecond), pos(1, 150)) // answered out of order
	b.acked(t0.Add(15*time.Second), pos(1, 300))
	tests := []struct {
		committed wal.Position
		backlog   int64
		want      time.Time
		ok        bool
	}{
		{pos(0, 0), 400, t0.Add(10*time.Second - 100*time.Millisecond), true},
		{pos(1, 150), 300, t0.Add(10*time.Second - 100*time.Millisecond), true},
		{pos(1, 200), 100, t0.Add(15 * time.Second), true},
		{pos(1, 300), 50, time.Time{}, false}, // the framing of stored records
		{pos(1, 300), 0, time.Time{}, false},
	}
	for _, tt := range tests {
		at, before, ok := b.oldest(tt.committed, tt.backlog)
		if ok != tt.ok || !at.Equal(tt.want) || before {
			t.Errorf("committed %v: oldest %v (before start %v, ok %v), want %v (ok %v)", tt.committed, at, before, ok, tt.want, tt.ok)
		}
	}
}

func TestBacklogAgeOfAnEarlierProcessIsBoundedByTheStart(t *testing.T) {
	t0 := time.Date(2031, 1, 10, 9, 0, 0, 0, time.UTC)
	b := newBacklogAge(t0, true)
	if at, before, ok := b.oldest(pos(1, 0), 5000); !ok || !before || !at.Equal(t0) {
		t.Errorf("inherited backlog: %v %v %v, want the start as a bound", at, before, ok)
	}
	b.acked(t0.Add(time.Minute), pos(3, 0))
	if _, before, _ := b.oldest(pos(2, 0), 5000); !before {
		t.Error("records before this process's first are still waiting, but the age no longer says so")
	}
	if at, before, ok := b.oldest(pos(3, 0), 5000); ok || before {
		t.Errorf("after the first record of this process is stored: %v %v %v", at, before, ok)
	}
}

func TestBacklogAgeKeepsFewStretchesForALongBacklog(t *testing.T) {
	t0 := time.Date(2031, 1, 10, 9, 0, 0, 0, time.UTC)
	b := newBacklogAge(t0, false)
	for i := range 3 * 86400 { // one callback a second for three days, none stored
		b.acked(t0.Add(time.Duration(i)*time.Second), pos(1, int64(i)))
	}
	if n := len(b.stretches); n > 10000 {
		t.Errorf("%d stretches for three days", n)
	}
	if at, _, ok := b.oldest(pos(0, 0), 1<<30); !ok || !at.Equal(t0) {
		t.Errorf("oldest %v, want the first callback's time %v", at, t0)
	}
}
