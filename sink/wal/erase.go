package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"
)

// Erasing a record overwrites its frame in place with an erased frame of the same length (see
// the frame format), so that its body is no longer on disk while every position, the commit
// marker and the segments' sizes stay valid. Two kinds of caller erase:
//
//   - the process that has the log open (Erase), for records it already committed;
//   - another process (Scrub), which may erase committed records while a Log has the directory
//     open, and the others only when none has.
//
// Both rest on one invariant of Log: a record at or before the committed position is never read
// again by the Log that has the directory open (Replay reads after the position it is given,
// never before the committed one, and BodyReader reads the records of batches not yet stored),
// except the committed record's own header, whose length an erasure keeps. So overwriting such a
// record races with nothing but another erasure of it, which writes the same bytes. Records
// after the committed position are being read, or are about to be; only a process holding the
// directory's lock may touch them.

// Erase overwrites each record at ps with an erased record and fsyncs it, and returns how many
// it erased. Every position must be one Append or Replay returned, at or before Committed().
// A record whose segment a commit already deleted is gone, and one already erased stays so:
// neither counts, neither is an error.
func (l *Log) Erase(ps ...Position) (int, error) {
	commit := l.Committed()
	l.mu.Lock()
	closing := l.closing
	l.mu.Unlock()
	if closing {
		return 0, ErrClosed
	}
	for _, p := range ps {
		if p.Compare(commit) > 0 {
			return 0, fmt.Errorf("erase record at %s: not committed (committed %s)", p, commit)
		}
	}
	n, _, err := eraseRecords(l.opts.Dir, ps, nil)
	return n, err
}

// ScrubResult is what Scrub did.
type ScrubResult struct {
	// Erased counts the records Scrub overwrote.
	Erased int
	// Pending lists the matching records Scrub left alone because a Log has the directory open
	// and has not committed them yet. That Log's process must leave them out of what it stores
	// and erase them once it has committed them.
	Pending []Position
	// Unreadable counts stretches of the log that are not valid records, whose bytes Scrub
	// cannot attribute to anyone (a torn tail left by a crash is cut off by the next Open).
	Unreadable int
	// InUse reports that a Log had the directory open.
	InUse bool
}

// Scrub erases, in place and durably, every record of the log in dir for which match returns
// true, from another process than the one that may have the log open. match sees each intact
// record once (its Body only during the call), never concurrently. A directory that does not
// exist holds nothing to erase.
//
// When no Log has dir open, Scrub takes the directory's lock for the moment it erases records
// not yet committed, so that no Log opens it meanwhile (a Log that tries fails as it would on a
// directory another Log holds). When one has, Scrub erases the committed records it matches and
// reports the others as Pending.
func Scrub(ctx context.Context, dir string, match func(Record) bool) (ScrubResult, error) {
	var res ScrubResult
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return res, nil
	}
	commit, err := readMarker(dir)
	if err != nil {
		return res, fmt.Errorf("scrub %s: %w", dir, err)
	}
	segs, err := listSegments(dir)
	if err != nil {
		return res, fmt.Errorf("scrub %s: %w", dir, err)
	}
	var committed, later []Position
	var buf []byte
	for i, s := range segs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		f, err := os.Open(segmentPath(dir, s.n))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted by a commit since it was listed
		}
		if err != nil {
			return res, fmt.Errorf("scrub %s: %w", dir, err)
		}
		last := i == len(segs)-1
		err = scanSegment(f, s.n, 0, s.size, &buf, func(it *scanned) error {
			switch rec := it.rec; {
			case rec.Erased:
			case rec.Corrupt != nil:
				// The end of the last segment may be a record being appended, or a torn one.
				if !last || it.end != s.size {
					res.Unreadable++
				}
			case match(rec):
				if rec.Pos.Compare(commit) <= 0 {
					committed = append(committed, rec.Pos)
				} else {
					later = append(later, rec.Pos)
				}
			}
			return nil
		})
		f.Close()
		if err != nil {
			return res, fmt.Errorf("scrub %s: %w", dir, err)
		}
	}
	n, _, err := eraseRecords(dir, committed, nil)
	res.Erased += n
	if err != nil || len(later) == 0 {
		return res, err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		if errors.Is(err, errInUse) {
			res.InUse, res.Pending = true, later
			return res, nil
		}
		return res, fmt.Errorf("scrub %s: %w", dir, err)
	}
	defer unlock()
	// Nothing appends or commits now. A Log may have run between the scan and the lock, so each
	// record is matched again as it is read back.
	n, _, err = eraseRecords(dir, later, match)
	res.Erased += n
	return res, err
}

// InUse reports whether a Log (of this or another process), or a Scrub erasing records not yet
// committed, has the log in dir open. It takes the directory's lock for a moment to tell, so a
// Log opened at that very moment fails as on a directory in use. A directory that does not exist
// is not in use.
func InUse(dir string) (bool, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	unlock, err := lockDir(dir)
	if errors.Is(err, errInUse) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return false, unlock()
}

// eraseRecords erases the records at ps, one segment file at a time, each fsynced once. With
// match set, a record is erased only if it is still an intact record match selects; without, a
// position that holds no intact record is an error. It returns how many it erased and how many it
// found erased already.
func eraseRecords(dir string, ps []Position, match func(Record) bool) (erased, already int, err error) {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, Position.Compare)
	for len(ps) > 0 {
		seg := ps[0].Segment
		end := 1
		for end < len(ps) && ps[end].Segment == seg {
			end++
		}
		e, a, err := eraseInSegment(dir, seg, ps[:end], match)
		erased, already = erased+e, already+a
		if err != nil {
			return erased, already, err
		}
		ps = ps[end:]
	}
	return erased, already, nil
}

func eraseInSegment(dir string, seg uint64, ps []Position, match func(Record) bool) (erased, already int, err error) {
	f, err := os.OpenFile(segmentPath(dir, seg), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil // a commit deleted it, and its records with it
	}
	if err != nil {
		return 0, 0, fmt.Errorf("erase records of segment %d: %w", seg, err)
	}
	defer f.Close()
	var buf []byte
	var errs []error
	for _, p := range ps {
		ok, was, err := eraseFrame(f, p, &buf, match)
		if err != nil {
			errs = append(errs, err) // the other records are still erased
		}
		if ok {
			erased++
		}
		if was {
			already++
		}
	}
	if erased > 0 {
		if err := f.Sync(); err != nil {
			return erased, already, fmt.Errorf("sync segment %d after erasing records: %w", seg, err)
		}
	}
	return erased, already, errors.Join(errs...)
}

// eraseFrame overwrites the record at p in f with one write of its erased frame. It reports
// whether it did, and whether the record was erased already.
func eraseFrame(f *os.File, p Position, buf *[]byte, match func(Record) bool) (erased, already bool, err error) {
	var hdr [headerSize]byte
	if _, err := f.ReadAt(hdr[:], p.Offset); err != nil {
		if errors.Is(err, io.EOF) && match != nil {
			return false, false, nil
		}
		return false, false, fmt.Errorf("erase record at %s: read header: %w", p, err)
	}
	n := int64(binary.LittleEndian.Uint32(hdr[4:]))
	if n < payloadFixed || n > maxFramePayload {
		if match != nil {
			return false, false, nil
		}
		return false, false, fmt.Errorf("erase record at %s: implausible record length %d", p, n)
	}
	if int64(cap(*buf)) < n {
		*buf = make([]byte, n)
	}
	payload := (*buf)[:n]
	if _, err := f.ReadAt(payload, p.Offset+headerSize); err != nil {
		if errors.Is(err, io.EOF) && match != nil {
			return false, false, nil
		}
		return false, false, fmt.Errorf("erase record at %s: read record: %w", p, err)
	}
	// A frame whose checksum fails, or that is no callback, is erased all the same when the
	// caller names its position (a corrupt record the pipeline left out): its length, which
	// the reader trusted to skip it, stays; a Scrub matches only intact records.
	if frameChecksum(hdr[:], payload) == binary.LittleEndian.Uint32(hdr[:4]) {
		ts, remote, body, wasErased, reason := decodePayload(payload)
		switch {
		case wasErased:
			return false, true, nil
		case match != nil && (reason != "" || !match(Record{Pos: p, ReceivedAt: unixUTC(ts), Remote: string(remote), Body: body})):
			return false, false, nil
		}
	} else if match != nil {
		return false, false, nil
	}
	if _, err := f.WriteAt(erasedFrame(int(n)), p.Offset); err != nil {
		return false, false, fmt.Errorf("erase record at %s: %w", p, err)
	}
	return true, false, nil
}

func unixUTC(ns int64) time.Time { return time.Unix(0, ns).UTC() }
