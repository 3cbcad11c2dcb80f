package wal

import (
	"cmp"
	"fmt"
)

// Position is where a record starts: its segment number and byte offset in that segment.
// Positions are totally ordered (segment, then offset) in the order records were appended. The
// zero Position lies before every record, so Replay(ctx, Position{}, fn) reads the whole log.
type Position struct {
	Segment uint64
	Offset  int64
}

// Compare returns -1, 0 or +1 as p is before, equal to or after q.
func (p Position) Compare(q Position) int {
	if c := cmp.Compare(p.Segment, q.Segment); c != 0 {
		return c
	}
	return cmp.Compare(p.Offset, q.Offset)
}

// Uint64 packs p into one number that orders exactly as Compare does: the segment in the high 32
// bits, the offset in the low 32. Rows carry it as their arrival order (schema.Meta.Arrival), a
// total order of the records of one log that survives restarts, since segment numbers only grow
// (the commit marker keeps the last one). It holds while segments number below 2^32 (at 64 MiB a
// segment, 256 PiB written) and offsets stay below 4 GiB, which Options guarantees: a segment
// stops growing at SegmentBytes (at most 2 GiB) plus one record (at most 1 GiB). The zero
// Position packs to 0, below every record, since segments start at 1.
func (p Position) Uint64() uint64 { return p.Segment<<32 | uint64(uint32(p.Offset)) }

// PositionOf unpacks a number made by Position.Uint64.
func PositionOf(v uint64) Position { return Position{Segment: v >> 32, Offset: int64(uint32(v))} }

// String formats p as "segment:offset".
func (p Position) String() string { return fmt.Sprintf("%d:%d", p.Segment, p.Offset) }
