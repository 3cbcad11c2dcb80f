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

// String formats p as "segment:offset".
func (p Position) String() string { return fmt.Sprintf("%d:%d", p.Segment, p.Offset) }
