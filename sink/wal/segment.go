package wal

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const segmentSuffix = ".wal"

func segmentPath(dir string, n uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%012d%s", n, segmentSuffix))
}

// listSegments returns the segment files in dir in number order, sized as found.
func listSegments(dir string) ([]segInfo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var segs []segInfo
	for _, e := range entries {
		num, ok := strings.CutSuffix(e.Name(), segmentSuffix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil || n == 0 {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("stat segment %d: %w", n, err)
		}
		segs = append(segs, segInfo{n: n, size: info.Size()})
	}
	slices.SortFunc(segs, func(a, b segInfo) int { return cmp.Compare(a.n, b.n) })
	return segs, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// recover rebuilds the log's state from disk; see Open.
func (l *Log) recover() error {
	dir := l.opts.Dir
	if err := os.Remove(filepath.Join(dir, markerTempName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove unfinished commit marker: %w", err)
	}
	c, err := readMarker(dir)
	if err != nil {
		return err
	}
	segs, err := listSegments(dir)
	if err != nil {
		return err
	}
	// A crash between writing the commit marker and deleting segments leaves some behind.
	for len(segs) > 0 && segs[0].n < c.Segment {
		if err := os.Remove(segmentPath(dir, segs[0].n)); err != nil {
			return fmt.Errorf("delete committed segment %d: %w", segs[0].n, err)
		}
		segs = segs[1:]
	}
	if len(segs) > 0 {
		if err := l.repairTail(&segs[len(segs)-1]); err != nil {
			return err
		}
	}
	end, _, err := frameEnd(dir, segs, c)
	if err != nil {
		return err
	}
	l.segs, l.commit, l.commitEnd = segs, c, end
	l.acked = bytesAfter(segs, end)
	if err := l.loadNotes(); err != nil {
		return err
	}

	var last segInfo
	if len(segs) > 0 {
		last = segs[len(segs)-1]
	}
	// Appends continue the last segment unless the committed position is at or past its end,
	// which SyncInterval allows after a power loss: new records must land after it, or Replay
	// from the committed position would skip them.
	if len(segs) > 0 && c.Compare(Position{Segment: last.n, Offset: last.size}) < 0 {
		f, err := l.hooks.openSegment(segmentPath(dir, last.n), os.O_WRONLY|os.O_APPEND)
		if err != nil {
			return fmt.Errorf("open segment %d: %w", last.n, err)
		}
		l.f, l.fseg, l.foff = f, last.n, last.size
		l.tailSeg, l.tailOff = last.n, last.size
		l.wnext = last.n + 1
		return nil
	}
	l.wnext = max(last.n, c.Segment) + 1
	l.tailSeg, l.tailOff = l.wnext, 0
	return nil
}

// repairTail truncates the last segment after its last intact frame: whatever follows is a write
// that never completed (or was damaged with nothing intact after it) and must not be parsed.
func (l *Log) repairTail(s *segInfo) error {
	name := segmentPath(l.opts.Dir, s.n)
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open last segment %d: %w", s.n, err)
	}
	defer f.Close()
	var good int64
	var buf []byte
	err = scanSegment(f, s.n, 0, s.size, &buf, func(it *scanned) error {
		if it.intact {
			good = it.end
		}
		return nil
	})
	if err != nil {
		return err
	}
	if good == s.size {
		return nil
	}
	if err := f.Truncate(good); err != nil {
		return fmt.Errorf("truncate torn tail of segment %d at offset %d: %w", s.n, good, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync segment %d after truncating its tail: %w", s.n, err)
	}
	l.truncated += s.size - good
	s.size = good
	return nil
}

// frameEnd returns where the record after the one at pos starts, reading its length from disk.
// ok is false when pos lies past the end of segs; a pos in a segment segs lacks ends at itself.
func frameEnd(dir string, segs []segInfo, pos Position) (end Position, ok bool, err error) {
	if pos == (Position{}) {
		return pos, true, nil
	}
	i, found := slices.BinarySearchFunc(segs, pos.Segment, func(s segInfo, n uint64) int { return cmp.Compare(s.n, n) })
	if !found {
		return pos, i < len(segs), nil
	}
	s := segs[i]
	if pos.Offset < 0 || pos.Offset >= s.size {
		return pos, false, nil
	}
	end = Position{Segment: s.n, Offset: s.size}
	if s.size-pos.Offset < headerSize {
		return end, true, nil
	}
	f, err := os.Open(segmentPath(dir, s.n))
	if err != nil {
		return pos, false, fmt.Errorf("open segment %d: %w", s.n, err)
	}
	defer f.Close()
	var hdr [headerSize]byte
	if _, err := f.ReadAt(hdr[:], pos.Offset); err != nil && !errors.Is(err, io.EOF) {
		return pos, false, fmt.Errorf("read segment %d at offset %d: %w", s.n, pos.Offset, err)
	}
	// Mirrors scanSegment: an unframeable record reaches to the end of its segment.
	if n := int64(binary.LittleEndian.Uint32(hdr[4:])); n >= payloadFixed && n <= maxFramePayload && n <= s.size-pos.Offset-headerSize {
		end.Offset = pos.Offset + headerSize + n
	}
	return end, true, nil
}

// bytesAfter counts the bytes of segs from p on.
func bytesAfter(segs []segInfo, p Position) int64 {
	var n int64
	for _, s := range segs {
		switch {
		case s.n > p.Segment:
			n += s.size
		case s.n == p.Segment && s.size > p.Offset:
			n += s.size - p.Offset
		}
	}
	return n
}
