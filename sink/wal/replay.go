package wal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Replay calls fn, in position order, for every record after from (from itself excluded) up to
// the end of the log as it is when Replay is called: records appended meanwhile are not read, so
// Replay can run while appends continue and always terminates. Every record Append had
// acknowledged when Replay was called is included. from is the zero Position, to read
// everything, or a position Append or Replay returned, typically Committed().
//
// A stretch that is not a valid record (see CorruptionError), and a run of segment files missing
// between two that exist, is passed to fn as a Record with Corrupt set, and reading carries on
// after it. An erased record (Erase, Scrub) is passed to fn with Erased set and nothing else.
// fn's error stops Replay and is returned unwrapped. Record.Body is only valid until fn returns.
func (l *Log) Replay(ctx context.Context, from Position, fn func(Record) error) error {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return ErrClosed
	}
	segs := append([]segInfo(nil), l.segs...)
	l.mu.Unlock()

	var buf []byte
	var prev uint64
	for _, s := range segs {
		if prev != 0 && s.n > prev+1 {
			missing := Position{Segment: prev + 1}
			if missing.Compare(from) > 0 {
				err := fn(Record{Pos: missing, Corrupt: &CorruptionError{
					Segment: missing.Segment,
					Reason:  fmt.Sprintf("segments %d to %d are missing", prev+1, s.n-1),
				}})
				if err != nil {
					return err
				}
			}
		}
		prev = s.n
		if s.n < from.Segment {
			continue
		}
		var start int64
		skip := s.n == from.Segment
		if skip {
			start = from.Offset
		}
		if start >= s.size {
			continue
		}
		f, err := os.Open(segmentPath(l.opts.Dir, s.n))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && s.n < l.Committed().Segment {
				continue // deleted by a concurrent Commit: every record in it is stored
			}
			return fmt.Errorf("replay segment %d: %w", s.n, err)
		}
		err = scanSegment(f, s.n, start, s.size, &buf, func(it *scanned) error {
			if skip {
				skip = false
				if it.rec.Pos == from {
					return nil
				}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(it.rec)
		})
		f.Close()
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}
