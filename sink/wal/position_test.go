package wal

import (
	"cmp"
	"math"
	"testing"
)

// TestPositionUint64OrdersLikeCompare proves the arrival order rows carry sorts records exactly as
// the log does, across segments and at the extremes Options allows.
func TestPositionUint64OrdersLikeCompare(t *testing.T) {
	ps := []Position{
		{},
		{Segment: 1, Offset: 0},
		{Segment: 1, Offset: 1},
		{Segment: 1, Offset: maxSegmentBytes + maxFramePayload},
		{Segment: 1, Offset: math.MaxUint32},
		{Segment: 2, Offset: 0},
		{Segment: 2, Offset: 7361},
		{Segment: 1<<31 + 5, Offset: 3},
		{Segment: math.MaxUint32, Offset: math.MaxUint32},
	}
	for _, p := range ps {
		if back := PositionOf(p.Uint64()); back != p {
			t.Errorf("PositionOf(%v.Uint64()) = %v", p, back)
		}
		for _, q := range ps {
			if got, want := cmp.Compare(p.Uint64(), q.Uint64()), p.Compare(q); got != want {
				t.Errorf("%v vs %v: Uint64 compares %d, Compare says %d", p, q, got, want)
			}
		}
	}
}

func TestSegmentBytesOverTheArrivalLimitIsRefused(t *testing.T) {
	o := Options{Dir: t.TempDir(), SegmentBytes: maxSegmentBytes + 1}
	if err := o.setDefaults(); err == nil {
		t.Fatal("SegmentBytes over 2 GiB accepted; offsets could pass 2^32 and break Position.Uint64's order")
	}
}
