package server

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadhouse/leadhouse/sink/wal"
)

// historyMinutes is how far back the status page's charts go.
const historyMinutes = 60

// latencyBounds are the upper bounds, in seconds, of the buckets the status page's latency
// quantiles are computed from. They include every bucket bound of
// leadhouse_request_duration_seconds, so a quantile read here lies in the same Prometheus bucket
// as one computed from /metrics.
var latencyBounds = [...]float64{
	.0001, .00015, .0002, .00025, .0003, .0004, .0005, .0006, .0008,
	.001, .0015, .002, .0025, .003, .004, .005, .006, .008,
	.01, .015, .02, .025, .03, .04, .05, .06, .08,
	.1, .15, .2, .25, .3, .4, .5, .6, .8,
	1, 1.5, 2, 2.5, 3, 4, 5, 6, 8,
	10, 15, 20, 25, 30, 40, 50, 60,
}

// numLatencyBuckets counts the buckets, the last one holding what is above every bound.
const numLatencyBuckets = len(latencyBounds) + 1

func latencyBucket(d time.Duration) int {
	i, _ := slices.BinarySearch(latencyBounds[:], d.Seconds())
	return i
}

// history keeps the last hour of callback outcomes and of acknowledgement latencies (the
// duration of accepted callbacks), one slot per wall-clock minute, in memory. Request handlers
// write without locks; a slot is cleared under mu when the first request of a new minute reuses
// it, at most once a minute. Readers copy the slots of the last historyMinutes minutes.
type history struct {
	mu    sync.Mutex
	slots [historyMinutes]minuteSlot
}

type minuteSlot struct {
	// minute is the Unix minute the counts are for. It is stored after the counts are cleared,
	// so a writer that sees its minute here adds to cleared counts.
	minute   atomic.Int64
	outcomes [numOutcomes]atomic.Uint64
	latency  [numLatencyBuckets]atomic.Uint64
}

func unixMinute(t time.Time) int64 { return t.Unix() / 60 }

// add records one callback request that ended at `at` with outcome o after d.
func (h *history) add(at time.Time, o outcome, d time.Duration) {
	m := unixMinute(at)
	s := &h.slots[m%historyMinutes]
	if s.minute.Load() != m {
		h.mu.Lock()
		if s.minute.Load() != m {
			for i := range s.outcomes {
				s.outcomes[i].Store(0)
			}
			for i := range s.latency {
				s.latency[i].Store(0)
			}
			s.minute.Store(m)
		}
		h.mu.Unlock()
	}
	s.outcomes[o].Add(1)
	if o == outcomeAccepted {
		s.latency[latencyBucket(d)].Add(1)
	}
}

// minuteCounts is one minute of history.
type minuteCounts struct {
	start    time.Time
	outcomes [numOutcomes]uint64
	latency  [numLatencyBuckets]uint64
}

// snapshot returns the historyMinutes minutes ending with now's, oldest first; a minute without
// requests has zero counts.
func (h *history) snapshot(now time.Time) []minuteCounts {
	last := unixMinute(now)
	out := make([]minuteCounts, historyMinutes)
	for i := range out {
		m := last - historyMinutes + 1 + int64(i)
		c := &out[i]
		c.start = time.Unix(m*60, 0).UTC()
		s := &h.slots[m%historyMinutes]
		if s.minute.Load() != m {
			continue
		}
		for j := range s.outcomes {
			c.outcomes[j] = s.outcomes[j].Load()
		}
		for j := range s.latency {
			c.latency[j] = s.latency[j].Load()
		}
	}
	return out
}

// quantile estimates the q-quantile of the durations counted in buckets (latencyBounds), as
// Prometheus's histogram_quantile does: by linear interpolation within the bucket the rank falls
// in, the first bucket starting at 0, and the highest bound for ranks in the last bucket. ok is
// false when nothing was counted.
func quantile(q float64, buckets *[numLatencyBuckets]uint64) (seconds float64, ok bool) {
	var total uint64
	for _, n := range buckets {
		total += n
	}
	if total == 0 {
		return 0, false
	}
	rank := q * float64(total)
	var cum uint64
	for i, n := range buckets {
		if n == 0 || float64(cum+n) < rank {
			cum += n
			continue
		}
		if i == len(latencyBounds) {
			return latencyBounds[len(latencyBounds)-1], true
		}
		lower := 0.0
		if i > 0 {
			lower = latencyBounds[i-1]
		}
		return lower + (latencyBounds[i]-lower)*(rank-float64(cum))/float64(n), true
	}
	return latencyBounds[len(latencyBounds)-1], true
}

// backlogAge tells how long the oldest callback not yet stored has waited in the write-ahead
// log. It remembers, for stretches of acknowledgement times, the highest log position
// acknowledged in each: the oldest stretch whose highest position is after the log's committed
// position holds an unstored callback. A stretch is a second long, or a thousandth of the age of
// the oldest one kept if that is longer, so a backlog of days keeps a few thousand of them.
//
// Records an earlier process left in the log are not known by position: until the log has been
// empty, or has committed the first record this process acknowledged, the oldest record is
// reported as older than the server.
type backlogAge struct {
	mu        sync.Mutex
	started   time.Time
	stretches []ackStretch // oldest first
	first     wal.Position // the first position this process acknowledged
	seen      bool         // first is set
	inherited bool         // records an earlier process left may still be unstored
}

type ackStretch struct {
	start time.Time    // the earliest receive time in the stretch
	last  wal.Position // the highest position acknowledged in it
}

func newBacklogAge(started time.Time, inherited bool) *backlogAge {
	return &backlogAge{started: started, inherited: inherited}
}

// acked records a callback received at `at` and acknowledged at position pos.
func (b *backlogAge) acked(at time.Time, pos wal.Position) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.seen {
		b.first, b.seen = pos, true
	}
	if n := len(b.stretches); n > 0 {
		s := &b.stretches[n-1]
		length := max(time.Second, at.Sub(b.stretches[0].start)/1000)
		if at.Sub(s.start) < length {
			if pos.Compare(s.last) > 0 {
				s.last = pos
			}
			if at.Before(s.start) {
				s.start = at
			}
			return
		}
	}
	b.stretches = append(b.stretches, ackStretch{start: at, last: pos})
}

// oldest reports the receive time of the oldest unstored callback given the log's committed
// position and backlog, and whether it is older than the server (so only a bound). ok is false
// when nothing waits.
func (b *backlogAge) oldest(committed wal.Position, backlog int64) (at time.Time, beforeStart, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if backlog == 0 {
		b.stretches = b.stretches[:0]
		b.inherited = false
		return time.Time{}, false, false
	}
	if b.inherited && b.seen && committed.Compare(b.first) >= 0 {
		b.inherited = false
	}
	drop := 0
	for drop < len(b.stretches) && b.stretches[drop].last.Compare(committed) <= 0 {
		drop++
	}
	b.stretches = slices.Delete(b.stretches, 0, drop)
	switch {
	case b.inherited:
		return b.started, true, true
	case len(b.stretches) > 0:
		return b.stretches[0].start, false, true
	}
	// The backlog is being appended right now, or is the framing of records already stored.
	return time.Time{}, false, false
}
