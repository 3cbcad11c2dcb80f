package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

const (
	markerName     = "commit"
	markerTempName = "commit.tmp"
	markerSize     = 8 + 8 + 4 // segment, offset, CRC32C of both
)

// Commit durably records that the record at pos and everything before it are stored in the
// database, then deletes the segments that lie wholly before pos. pos must be a Position Append
// or Replay returned; with several tables flushing independently, pass the lowest position all
// of them have stored (Tracker.Committable computes it). Committing a position at or before
// Committed() does nothing. The marker is written to a temporary file, fsynced, renamed over the
// old one and the directory fsynced, so a crash leaves either the old or the new position.
func (l *Log) Commit(pos Position) error {
	l.commitMu.Lock()
	defer l.commitMu.Unlock()
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return ErrClosed
	}
	if pos.Compare(l.commit) <= 0 {
		l.mu.Unlock()
		return nil
	}
	segs := append([]segInfo(nil), l.segs...)
	l.mu.Unlock()

	end, ok, err := frameEnd(l.opts.Dir, segs, pos)
	if err != nil {
		return fmt.Errorf("commit %v: %w", pos, err)
	}
	if !ok {
		return fmt.Errorf("commit %v: position is past the end of the log", pos)
	}
	if err := writeMarker(l.opts.Dir, pos); err != nil {
		return fmt.Errorf("commit %v: %w", pos, err)
	}

	l.mu.Lock()
	l.commit, l.commitEnd = pos, end
	i := 0
	for i < len(l.segs) && l.segs[i].n < pos.Segment {
		i++
	}
	drop := make([]uint64, i)
	for j := range drop {
		drop[j] = l.segs[j].n
	}
	l.segs = append(l.segs[:0], l.segs[i:]...)
	l.acked = bytesAfter(l.segs, end)
	l.mu.Unlock()

	var errs []error
	for _, n := range drop {
		if err := os.Remove(segmentPath(l.opts.Dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("delete committed segment %d: %w", n, err))
		}
	}
	if err := l.dropNotesBefore(pos); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func writeMarker(dir string, pos Position) error {
	var b [markerSize]byte
	binary.LittleEndian.PutUint64(b[0:], pos.Segment)
	binary.LittleEndian.PutUint64(b[8:], uint64(pos.Offset))
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	tmp := filepath.Join(dir, markerTempName)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create commit marker: %w", err)
	}
	_, err = f.Write(b[:])
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write commit marker: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, markerName)); err != nil {
		return fmt.Errorf("install commit marker: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("sync wal directory after commit: %w", err)
	}
	return nil
}

// readMarker returns the committed position, or the zero Position when nothing was committed yet.
func readMarker(dir string) (Position, error) {
	b, err := os.ReadFile(filepath.Join(dir, markerName))
	if errors.Is(err, fs.ErrNotExist) {
		return Position{}, nil
	}
	if err != nil {
		return Position{}, fmt.Errorf("read commit marker: %w", err)
	}
	// The marker is only ever replaced by rename, so damage here is not a torn write: refuse to
	// guess, since guessing low replays stored records and guessing high loses unstored ones.
	if len(b) != markerSize || crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:]) {
		return Position{}, fmt.Errorf("commit marker %s is corrupt", filepath.Join(dir, markerName))
	}
	return Position{Segment: binary.LittleEndian.Uint64(b[0:]), Offset: int64(binary.LittleEndian.Uint64(b[8:]))}, nil
}
